import { Hono } from "hono";
import type { AppEnv } from "../http/env";
import { countOpenUploads } from "../r2/upload-ledger";

/**
 * Bare R2 access, mounted only when EDGEFS_DEV_ROUTES=1: the baseline the
 * benchmarks compare edgefs against, and a way for end-to-end tests to count
 * what is really stored. Still behind the root token. Never enable it in
 * production: it bypasses every share.
 */
export const dev = new Hono<AppEnv>();

const KEY_AT = "/_dev/bare/".length;

/**
 * The benchmarks' baseline: a Worker that does nothing but hand the request
 * body to R2 and R2's body back, so "edgefs vs bare" measures edgefs's whole
 * cost. No length check, no byte counting, no error mapping: a chunked body
 * fails here, as it would in any such Worker.
 */
dev.put("/bare/*", async (c) => {
  await c.env.BLOBS.put(`bare/${keyOf(c.req.url)}`, c.req.raw.body);
  return c.body(null, 201);
});

dev.get("/bare/*", async (c) => {
  const object = await c.env.BLOBS.get(`bare/${keyOf(c.req.url)}`);
  if (!object) return c.body(null, 404);
  return new Response(object.body);
});

function keyOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(KEY_AT));
}

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
