import { Hono } from "hono";
import { z } from "zod";
import { contentTypeOf } from "../core/attributes";
import type { ListQuery, VersionView } from "../core/backend";
import type { SubrequestBudget } from "../core/budget";
import { compileGlob, isGlob } from "../core/glob";
import { parsePath } from "../core/paths";
import type { FileEntry } from "../core/types";
import { can } from "../http/auth";
import {
  backendForBoth,
  readerFor,
  subrequestsOf,
  VERSION_HEADER,
  versionHeader,
} from "../http/backend";
import type { AppEnv } from "../http/env";
import { jsonBody, listQuery, sharePathOf, validate } from "../http/params";

/** stat, list, move and copy: the tree of a share, as JSON. */
export const tree = new Hono<AppEnv>();

const DEFAULT_LIMIT = 1000;

tree.get("/:share/stat/*", can("read"), async (c) => {
  const { path } = sharePathOf(c.req.url);
  const { reader, version } = await readerFor(c, path);
  const entry = await reader.stat(path);
  if (version !== undefined) c.header(VERSION_HEADER, String(version));
  if (entry.type === "directory") return c.json({ ...entry, path });
  // A file's stat says the type its GET answers with, and its metadata (none: {}).
  const contentType = contentTypeOf(path, entry.contentType);
  return c.json({ ...entry, path, contentType, metadata: entry.metadata ?? {} });
});

tree.get("/:share/list/*", can("read"), validate("query", listQuery), async (c) => {
  const { path } = sharePathOf(c.req.url);
  const q = c.req.valid("query");
  const query: ListQuery = isGlob(path)
    ? { kind: "glob", pattern: path, limit: q.limit ?? DEFAULT_LIMIT, cursor: q.cursor }
    : {
        kind: "path",
        path,
        recursive: q.recursive ?? false,
        limit: q.limit ?? DEFAULT_LIMIT,
        cursor: q.cursor,
      };
  // A glob is served by whatever holds its literal base directory.
  const { reader, version } = await readerFor(
    c,
    query.kind === "glob" ? compileGlob(path).baseDir : path,
  );
  if (c.req.header("accept")?.includes("application/x-ndjson")) {
    const res = ndjsonListing(reader, query, q.limit !== undefined, subrequestsOf(c));
    if (version !== undefined) (await res).headers.set(VERSION_HEADER, String(version));
    return res;
  }
  const page = await reader.list(query);
  if (version !== undefined) c.header(VERSION_HEADER, String(version));
  return c.json(
    page.cursor ? { entries: page.entries, cursor: page.cursor } : { entries: page.entries },
  );
});

/**
 * Streams a listing as one JSON entry per line, fetching pages as the client
 * reads, so memory stays flat for any directory size. Without `limit` it
 * runs to the end; with one it stops there and ends with a `{"cursor"}` line
 * if more entries follow. Each page is a subrequest (a ShareDO call, an S3
 * listing): when the request's budget has no room for the next one, it
 * ends with a `{"cursor"}` line too, and the client goes on from there in
 * a new request. The first page is fetched before answering, so a missing
 * path is still a proper 404.
 */
async function ndjsonListing(
  backend: VersionView,
  query: ListQuery,
  bounded: boolean,
  budget: SubrequestBudget,
) {
  const pageSize = Math.min(query.limit, DEFAULT_LIMIT);
  let remaining = bounded ? query.limit : Number.POSITIVE_INFINITY;
  const fetchPage = (cursor: string | undefined) =>
    backend.list({ ...query, limit: Math.min(pageSize, remaining), cursor });
  let page: { entries: FileEntry[]; cursor?: string } | undefined = await fetchPage(query.cursor);
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!page) return controller.close();
      const current = page;
      remaining -= current.entries.length;
      const lines = current.entries.map((e) => `${JSON.stringify(e)}\n`).join("");
      if (lines) controller.enqueue(encoder.encode(lines));
      if (!current.cursor) {
        page = undefined;
      } else if (remaining <= 0 || !budget.affords(1)) {
        controller.enqueue(encoder.encode(`${JSON.stringify({ cursor: current.cursor })}\n`));
        page = undefined;
      } else {
        page = await fetchPage(current.cursor);
      }
    },
  });
  return new Response(body, { headers: { "content-type": "application/x-ndjson; charset=utf-8" } });
}

const moveBody = z.strictObject({
  from: z.string(),
  to: z.string(),
  overwrite: z.boolean().optional(),
});

tree.post("/:share/move", can("write"), async (c) => {
  const body = await jsonBody(c.req.raw, moveBody);
  const [from, to] = [parsePath(body.from), parsePath(body.to)];
  const { entry, version } = await (await backendForBoth(c, from, to)).move(from, to, {
    overwrite: body.overwrite ?? false,
  });
  versionHeader(c, version);
  return c.json({ ...entry, path: to });
});

const copyBody = moveBody.extend({ recursive: z.boolean().optional() });

tree.post("/:share/copy", can("write"), async (c) => {
  const body = await jsonBody(c.req.raw, copyBody);
  const [from, to] = [parsePath(body.from), parsePath(body.to)];
  const { entry, version } = await (await backendForBoth(c, from, to)).copy(from, to, {
    overwrite: body.overwrite ?? false,
    recursive: body.recursive ?? false,
  });
  versionHeader(c, version);
  return c.json({ ...entry, path: to }, 201);
});
