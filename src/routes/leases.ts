import { Hono } from "hono";
import { z } from "zod";
import { invalid } from "../core/errors";
import { MAX_LEASE_TTL_SECONDS } from "../core/leases";
import { parsePath } from "../core/paths";
import { can } from "../http/auth";
import { shareOf } from "../http/backend";
import type { AppEnv } from "../http/env";
import { jsonBody, optionalJsonBody } from "../http/params";

/**
 * Path leases: advisory locks for cooperating writers. While one is held,
 * changes at or below its path need `Edgefs-Lease: <id>` (else 423).
 */
export const leases = new Hono<AppEnv>();

const ttl = z.number().int().min(1).max(MAX_LEASE_TTL_SECONDS);

const acquireBody = z.strictObject({
  path: z.string(),
  ttlSeconds: ttl.optional(),
  exclusive: z.boolean().optional(),
  depth: z.enum(["0", "infinity"]).optional(),
  // Its size limit (in bytes) is the lease table's, shared with WebDAV's DAV:owner.
  owner: z.string().optional(),
});

function checkLeaseId(value: string | undefined): string {
  if (value === undefined || !/^[0-9a-f]{32}$/.test(value)) throw invalid("malformed lease id");
  return value;
}

leases.post("/:share/leases", can("write"), async (c) => {
  const body = await jsonBody(c.req.raw, acquireBody);
  const lease = await shareOf(c).api.acquireLease({
    path: parsePath(body.path),
    exclusive: body.exclusive ?? true,
    depth: body.depth ?? "infinity",
    owner: body.owner ?? null,
    ttlMs: (body.ttlSeconds ?? 60) * 1000,
  });
  return c.json(lease, 201);
});

leases.get("/:share/leases", can("read"), async (c) => {
  const path = c.req.query("path");
  const list = await shareOf(c).api.listLeases(path === undefined ? undefined : parsePath(path));
  return c.json({ leases: list });
});

leases.post("/:share/leases/:id/renew", can("write"), async (c) => {
  const body = await optionalJsonBody(c.req.raw, z.strictObject({ ttlSeconds: ttl.optional() }));
  const ttlMs = body?.ttlSeconds === undefined ? undefined : body.ttlSeconds * 1000;
  return c.json(await shareOf(c).api.renewLease(checkLeaseId(c.req.param("id")), ttlMs));
});

leases.delete("/:share/leases/:id", can("write"), async (c) => {
  await shareOf(c).api.releaseLease(checkLeaseId(c.req.param("id")));
  return c.body(null, 204);
});
