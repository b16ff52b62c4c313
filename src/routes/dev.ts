import { Hono } from "hono";
import { invalid } from "../core/errors";
import type { AppEnv } from "../http/env";
import { putKnownLength } from "../r2/blob-store";
import { countOpenUploads } from "../r2/upload-ledger";

/**
 * Bare R2 access, mounted only when EDGEFS_DEV_ROUTES=1: the baseline the
 * benchmarks compare edgefs against, and a way for end-to-end tests to count
 * what is really stored. Still behind the root token. Never enable it in
 * production: it bypasses every share.
 */
export const dev = new Hono<AppEnv>();

const KEY_AT = "/_dev/r2/".length;

dev.put("/r2/*", async (c) => {
  const key = decodeURIComponent(new URL(c.req.url).pathname.slice(KEY_AT));
  const length = Number(c.req.header("content-length"));
  if (!c.req.raw.body || !Number.isSafeInteger(length)) throw invalid("Content-Length required");
  await putKnownLength(c.env.BLOBS, `bare/${key}`, c.req.raw.body, length);
  return c.body(null, 201);
});

dev.get("/r2/*", async (c) => {
  const key = decodeURIComponent(new URL(c.req.url).pathname.slice(KEY_AT));
  const object = await c.env.BLOBS.get(`bare/${key}`);
  if (!object) return c.json({ error: { code: "ENOENT", message: key } }, 404);
  return new Response(object.body, { headers: { "content-length": String(object.size) } });
});

/**
 * What R2 holds under a prefix: objects, and multipart uploads still open
 * (not objects, so `list()` misses them; see r2/upload-ledger.ts). Both must
 * reach zero once a deleted share or an abandoned upload has been collected.
 */
dev.get("/r2-count", async (c) => {
  const prefix = c.req.query("prefix") ?? "";
  let objects = 0;
  let cursor: string | undefined;
  do {
    const page = await c.env.BLOBS.list({ prefix, cursor, limit: 1000 });
    objects += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const unfinishedUploads = await countOpenUploads(c.env.BLOBS, prefix);
  return c.json({ prefix, objects, unfinishedUploads });
});
