import { Hono } from "hono";
import { z } from "zod";
import { shareTarget } from "../backends/resolve";
import { can } from "../http/auth";
import type { AppEnv } from "../http/env";
import { checkName, environmentOf, jsonBody, validate } from "../http/params";

/**
 * Named snapshots of a share: each keeps one version readable
 * (`?snapshot=NAME` on every read route) until it is deleted, whatever the
 * retention window. Taking one costs one row, whatever the tree's size.
 */
export const snapshots = new Hono<AppEnv>();

const envQuery = z.object({ env: z.string().optional() });
const createBody = z.strictObject({
  name: z.string().max(64),
  version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

const targetOf = (env: Env, query: (k: string) => string | undefined, share: string | undefined) =>
  shareTarget(env, environmentOf(query), checkName(share, "share")).api;

/** → 201 {name, version, createdAt}; 409 if the name is taken; 410 for a version out of reach. */
snapshots.post("/:share/snapshots", can("write"), validate("query", envQuery), async (c) => {
  const body = await jsonBody(c.req.raw, createBody);
  const api = targetOf(c.env, (k) => c.req.query(k), c.req.param("share"));
  return c.json(await api.createSnapshot(body.name, body.version), 201);
});

snapshots.get("/:share/snapshots", can("read"), validate("query", envQuery), async (c) => {
  const api = targetOf(c.env, (k) => c.req.query(k), c.req.param("share"));
  return c.json({ snapshots: await api.listSnapshots() });
});

snapshots.delete(
  "/:share/snapshots/:snapshot",
  can("write"),
  validate("query", envQuery),
  async (c) => {
    const api = targetOf(c.env, (k) => c.req.query(k), c.req.param("share"));
    await api.deleteSnapshot(c.req.param("snapshot"));
    return c.body(null, 204);
  },
);
