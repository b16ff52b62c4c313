import { Hono } from "hono";
import { z } from "zod";
import type { ReadAt } from "../core/backend";
import { invalid } from "../core/errors";
import { parsePath } from "../core/paths";
import { can } from "../http/auth";
import { shareStorageFor, VERSION_HEADER } from "../http/backend";
import type { AppEnv } from "../http/env";
import { jsonBody, sharePathOf, validate } from "../http/params";

/**
 * History and restore (docs/api.md "History and restore"): the versions of
 * one path the share still keeps, and bringing a file or subtree back from
 * one of them — undelete included — as one new version. Share storage
 * only: a bucket mount keeps no versions (501).
 */
export const history = new Hono<AppEnv>();

const DEFAULT_LIMIT = 100;

const historyQuery = z.object({
  env: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "the cursor is a version number from an earlier page")
    .optional(),
});

/** → {versions: [{version, type, size, etag?, mtime, deleted?}], cursor?}, newest first. */
history.get("/:share/history/*", can("read"), validate("query", historyQuery), async (c) => {
  const { path } = sharePathOf(c.req.url);
  const q = c.req.valid("query");
  const storage = await shareStorageFor(c, [{ path, label: "history" }]);
  const page = await storage.history(
    path,
    q.limit ?? DEFAULT_LIMIT,
    q.cursor === undefined ? undefined : Number(q.cursor),
  );
  return c.json(page);
});

const VERSION = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const restoreBody = z.strictObject({
  path: z.string(),
  version: VERSION.optional(),
  snapshot: z.string().min(1).max(64).optional(),
  to: z.string().optional(),
});

/** → {version, entry}: the version the restore made, and what now stands at `to`. */
history.post("/:share/restore", can("write"), async (c) => {
  const body = await jsonBody(c.req.raw, restoreBody);
  const at: ReadAt =
    body.version !== undefined && body.snapshot === undefined
      ? { version: body.version }
      : body.snapshot !== undefined && body.version === undefined
        ? { snapshot: body.snapshot }
        : (() => {
            throw invalid('a restore names exactly one of "version" or "snapshot"');
          })();
  const from = parsePath(body.path);
  const to = body.to === undefined ? from : parsePath(body.to);
  const storage = await shareStorageFor(c, [
    { path: from, label: "restore source" },
    { path: to, label: "restore destination" },
  ]);
  const result = await storage.restore(from, at, to);
  c.header(VERSION_HEADER, String(result.version));
  return c.json({ version: result.version, entry: { ...result.entry, path: to } });
});
