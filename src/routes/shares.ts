import { Hono } from "hono";
import { z } from "zod";
import { requireAllowed, seesShare } from "../auth/scope";
import { shareTarget } from "../backends/resolve";
import { invalid } from "../core/errors";
import { decodeCursor, encodeCursor, randomId } from "../core/ids";
import { registryFor } from "../durable/registry";
import { can } from "../http/auth";
import type { AppEnv } from "../http/env";
import { checkName, environmentOf, jsonBody, optionalJsonBody, validate } from "../http/params";

/** Shares of an environment: create, inspect, list, delete. */
export const shares = new Hono<AppEnv>();

const envQuery = z.object({ env: z.string().optional() });

shares.get(
  "/",
  can("read", null),
  validate(
    "query",
    envQuery.extend({
      limit: z.coerce.number().int().min(1).max(1000).optional(),
      cursor: z.string().max(512).optional(),
    }),
  ),
  async (c) => {
    const environment = environmentOf((k) => c.req.query(k));
    const { limit = 1000, cursor } = c.req.valid("query");
    const after = cursor === undefined ? "" : decodeCursor(cursor);
    if (after === undefined) throw invalid("malformed cursor");
    const page = await registryFor(c.env, environment).list(limit, after);
    // A token limited to some shares sees only those.
    const visible = page.entries.filter((s) => seesShare(c.var.principal, environment, s.name));
    return c.json(
      page.last === undefined
        ? { shares: visible }
        : { shares: visible, cursor: encodeCursor(page.last) },
    );
  },
);

const createIfMissingBody = z.strictObject({ kind: z.literal("nfs").optional() });

/** PUT: create if missing (idempotent). The body is optional. */
shares.put("/:name", can("admin", "name"), validate("query", envQuery), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "share");
  await optionalJsonBody(c.req.raw, createIfMissingBody);
  const { info, created } = await shareTarget(c.env, environment, name).api.createShare(
    environment,
    name,
    false,
  );
  return c.json(info, created ? 201 : 200);
});

/** Ephemeral shares: ttl bounds (docs/api.md "Ephemeral shares"). */
const EPHEMERAL_TTL = { default: 600, min: 5, max: 86_400 };

const createBody = z
  .strictObject({
    name: z.string().optional(),
    kind: z.literal("nfs").optional(),
    ephemeral: z.boolean().optional(),
    ttlSeconds: z.number().int().min(EPHEMERAL_TTL.min).max(EPHEMERAL_TTL.max).optional(),
  })
  .refine((b) => b.ephemeral === true || b.name !== undefined, "name is required")
  .refine((b) => !(b.ephemeral && b.name !== undefined), "ephemeral shares get a generated name")
  .refine(
    (b) => b.ephemeral === true || b.ttlSeconds === undefined,
    "ttlSeconds is for ephemeral shares",
  );

/**
 * POST: strict create, 409 EEXIST when the name is taken. With
 * `"ephemeral": true` the share gets an unguessable name and lives while
 * heartbeats arrive, `ttlSeconds` (default 600) after the last one.
 */
shares.post("/", validate("query", envQuery), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  // The share's name is in the body: without admin in this environment at
  // all, the caller is refused before the body is read.
  requireAllowed(c.var.principal, "admin", environment);
  const body = await jsonBody(c.req.raw, createBody);
  const name = body.ephemeral ? `ephemeral-${randomId()}` : checkName(body.name, "share");
  requireAllowed(c.var.principal, "admin", environment, name);
  const ephemeral = body.ephemeral
    ? { ttlMs: (body.ttlSeconds ?? EPHEMERAL_TTL.default) * 1000 }
    : undefined;
  const { info } = await shareTarget(c.env, environment, name).api.createShare(
    environment,
    name,
    true,
    ephemeral,
  );
  return c.json(info, 201);
});

/** Keeps an ephemeral share alive for another ttl. */
shares.post("/:name/heartbeat", can("write", "name"), validate("query", envQuery), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "share");
  return c.json(await shareTarget(c.env, environment, name).api.heartbeat());
});

shares.get("/:name", can("read", "name"), validate("query", envQuery), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "share");
  return c.json(await shareTarget(c.env, environment, name).api.info());
});

/** A quota: a non-negative integer sets a limit, null clears it, an absent field stays. */
const limit = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional();
const quotaBody = z
  .strictObject({ bytes: limit, files: limit })
  .refine((q) => q.bytes !== undefined || q.files !== undefined, "give bytes, files or both");

/** Sets the share's quota; writes that would pass it get 507 ENOSPC (deletes always work). */
shares.put("/:name/quota", can("admin", "name"), validate("query", envQuery), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "share");
  const quota = await jsonBody(c.req.raw, quotaBody);
  return c.json(await shareTarget(c.env, environment, name).api.setQuota(quota));
});

shares.delete("/:name", can("admin", "name"), validate("query", envQuery), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "share");
  await shareTarget(c.env, environment, name).api.deleteShare();
  return c.body(null, 204);
});
