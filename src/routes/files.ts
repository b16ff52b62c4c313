import { Hono } from "hono";
import type { AppEnv } from "../app";
import { backendFor } from "../backends/resolve";
import { invalid } from "../core/errors";
import { writeConditionsFrom } from "../core/preconditions";
import { can } from "../http/auth";
import { fileResponse, writtenResponse } from "../http/file-response";
import { contentLength, filePathOf, recursiveQuery, validate } from "../http/params";
import { readUpTo } from "../r2/body";

/** `/v1/shares/{share}/files/{path}`: a file's bytes. Segments before the path: v1, shares, {share}, files. */
const PATH_AT = 4;

export const files = new Hono<AppEnv>();

files.on(["GET", "HEAD"], "/:share/files/*", can("read"), async (c) => {
  const { path } = filePathOf(c.req.url, PATH_AT);
  const result = await (await backendFor(c, path)).read(path, {
    headOnly: c.req.method === "HEAD",
    range: c.req.header("range"),
    ifRange: c.req.header("if-range"),
    ifMatch: c.req.header("if-match"),
    ifNoneMatch: c.req.header("if-none-match"),
    ifModifiedSince: c.req.header("if-modified-since"),
  });
  return fileResponse(result);
});

files.put("/:share/files/*", can("write"), async (c) => {
  const { path, trailingSlash } = filePathOf(c.req.url, PATH_AT);
  const backend = await backendFor(c, path);
  const length = contentLength(c.req.header("content-length"));
  if (trailingSlash) {
    // A path ending in "/" is mkdir and takes no body. A chunked body (curl
    // -T - to a "dir/" URL) is read far enough to tell, so bytes are never
    // silently dropped.
    if (
      (length !== undefined && length > 0) ||
      (length === undefined && (await hasBytes(c.req.raw)))
    ) {
      throw invalid("a path ending in '/' is a directory: send an empty body to create it", path);
    }
    const { entry, created } = await backend.mkdir(path);
    return c.json({ ...entry, path }, created ? 201 : 200);
  }
  const conditions = writeConditionsFrom({
    ifMatch: c.req.header("if-match"),
    ifNoneMatch: c.req.header("if-none-match"),
  });
  const { entry, created } = await backend.write(
    path,
    { stream: c.req.raw.body, length },
    conditions,
  );
  return writtenResponse({ ...entry, path }, created);
});

files.delete("/:share/files/*", can("write"), validate("query", recursiveQuery), async (c) => {
  const { path } = filePathOf(c.req.url, PATH_AT);
  await (await backendFor(c, path)).remove(path, {
    recursive: c.req.valid("query").recursive ?? false,
  });
  return c.body(null, 204);
});

/** Whether a request of unknown length carries at least one byte. */
async function hasBytes(request: Request): Promise<boolean> {
  if (!request.body) return false;
  const reader = request.body.getReader();
  const { chunks } = await readUpTo(reader, 0);
  await reader.cancel().catch(() => undefined);
  return chunks.some((chunk) => chunk.byteLength > 0);
}
