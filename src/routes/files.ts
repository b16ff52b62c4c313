import { Hono } from "hono";
import { invalid } from "../core/errors";
import { writeConditionsFrom } from "../core/preconditions";
import { can } from "../http/auth";
import { backendFor, readerFor, VERSION_HEADER, versionHeader } from "../http/backend";
import type { AppEnv } from "../http/env";
import { fileResponse, writtenResponse } from "../http/file-response";
import {
  attributesFrom,
  carriesBytes,
  contentLength,
  readOptionsFrom,
  recursiveQuery,
  sharePathOf,
  validate,
} from "../http/params";
import { isTarUpload, tarUpload } from "./tar-upload";

/** `/v1/shares/{share}/files/{path}`: a file's bytes. */
export const files = new Hono<AppEnv>();

files.on(["GET", "HEAD"], "/:share/files/*", can("read"), async (c) => {
  const { path } = sharePathOf(c.req.url);
  const { reader, version } = await readerFor(c, path);
  const result = await reader.read(
    path,
    readOptionsFrom((name) => c.req.header(name), c.req.method === "HEAD"),
  );
  const res = fileResponse(result);
  if (version !== undefined) res.headers.set(VERSION_HEADER, String(version));
  return res;
});

files.put("/:share/files/*", can("write"), async (c) => {
  const { path, trailingSlash } = sharePathOf(c.req.url);
  if (isTarUpload(c.req.header("content-type"))) return tarUpload(c, path, trailingSlash);
  const backend = await backendFor(c, path);
  const length = contentLength(c.req.header("content-length"));
  if (trailingSlash) {
    // A path ending in "/" is mkdir and takes no body. A chunked body (curl
    // -T - to a "dir/" URL) is read far enough to tell, so bytes are never
    // silently dropped.
    if (await carriesBytes(c.req.raw, length)) {
      throw invalid("a path ending in '/' is a directory: send an empty body to create it", path);
    }
    const { entry, created, version } = await backend.mkdir(path);
    versionHeader(c, version);
    return c.json({ ...entry, path }, created ? 201 : 200);
  }
  const conditions = writeConditionsFrom({
    ifMatch: c.req.header("if-match"),
    ifNoneMatch: c.req.header("if-none-match"),
  });
  const { entry, created, version } = await backend.write(
    path,
    { stream: c.req.raw.body, length },
    conditions,
    attributesFrom(c.req.raw.headers),
  );
  return writtenResponse({ ...entry, path }, created, version);
});

files.delete("/:share/files/*", can("write"), validate("query", recursiveQuery), async (c) => {
  const { path } = sharePathOf(c.req.url);
  const { version } = await (await backendFor(c, path)).remove(path, {
    recursive: c.req.valid("query").recursive ?? false,
  });
  versionHeader(c, version);
  return c.body(null, 204);
});
