import { type Context, Hono } from "hono";
import { z } from "zod";
import { ShareHooks } from "../backends/share-feed";
import { can } from "../http/auth";
import { shareOf } from "../http/backend";
import type { AppEnv } from "../http/env";
import { jsonBody, validate } from "../http/params";

/**
 * Webhooks (docs/api.md "Webhooks"), an admin's: each POSTs the share's
 * changes, in signed batches, to a receiver until it acknowledges them.
 */
export const hooks = new Hono<AppEnv>();

const envQuery = z.object({ env: z.string().optional() });
const hookBody = z.strictObject({
  url: z.string().max(2048),
  path: z.string().max(4096).optional(),
  secret: z.string(),
});

const hooksOf = (c: Context<AppEnv>) => new ShareHooks(c.env, shareOf(c), new URL(c.req.url).host);

/** → 201 {id, url, path?, createdAt, delivered, failures}: the hook delivers changes from now on. */
hooks.post("/:share/hooks", can("admin"), validate("query", envQuery), async (c) => {
  const body = await jsonBody(c.req.raw, hookBody);
  return c.json(await hooksOf(c).create(body), 201);
});

hooks.get("/:share/hooks", can("admin"), validate("query", envQuery), async (c) =>
  c.json({ hooks: await hooksOf(c).list() }),
);

hooks.delete("/:share/hooks/:hook", can("admin"), validate("query", envQuery), async (c) => {
  await hooksOf(c).delete(c.req.param("hook"));
  return c.body(null, 204);
});
