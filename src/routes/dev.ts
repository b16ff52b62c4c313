import { Hono } from "hono";
import { z } from "zod";
import { shareTarget } from "../backends/resolve";
import { parsePath } from "../core/paths";
import { SEED_MAX, type SeedRequest } from "../durable/tree-seed";
import type { AppEnv } from "../http/env";
import { checkName, environmentOf, validate } from "../http/params";
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

const seedQuery = z.object({
  env: z.string().optional(),
  dir: z.string(),
  count: z.coerce.number().int().min(1).max(SEED_MAX),
  prefix: z.string().max(200).default("f"),
  content: z.string().max(1024).optional(),
});

/**
 * Bulk seeding for `npm run bench:scale` and scale tests: `count` files
 * named `<prefix><8-digit index>` in `dir`, one transaction per call
 * (src/durable/tree-seed.ts). Through the API a million files take hours.
 */
dev.post("/seed/:share", validate("query", seedQuery), async (c) => {
  const q = c.req.valid("query");
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("share"), "share");
  const req: SeedRequest = { dir: parsePath(q.dir), count: q.count, prefix: q.prefix };
  if (q.content !== undefined) req.content = q.content;
  return c.json(await shareTarget(c.env, environment, name).api.seed(req));
});

/**
 * What a share's object holds and still owes to background work (rows,
 * doomed subtrees, kept old versions, copy jobs, blobs, GC): benchmarks and
 * e2e tests poll it to see when a big delete has been reclaimed.
 */
dev.get("/share-usage/:share", async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("share"), "share");
  return c.json(await shareTarget(c.env, environment, name).api.counts());
});
