import { Hono } from "hono";
import { z } from "zod";
import { keysFrom } from "../auth/keys";
import { noteRevoked } from "../auth/revocations";
import { pairFor } from "../auth/s3-keys";
import { isWithin, PERMISSIONS, type Permission, type Scope, scopeOf } from "../auth/scope";
import { mintToken } from "../auth/tokens";
import { FsError, invalid } from "../core/errors";
import { decodeCursor, encodeCursor, randomId } from "../core/ids";
import { tokenStore } from "../durable/token-store";
import { can } from "../http/auth";
import type { AppEnv } from "../http/env";
import { jsonBody, NAME } from "../http/params";

/**
 * Scoped tokens: minted, listed and revoked by admins. A scoped admin token
 * can only hand out (and see, and revoke) tokens within its own scope and
 * lifetime, so a token never grows into more than it was given. Each token
 * records its issuer, and revoking a token revokes every token it minted,
 * and theirs in turn: a leaked admin token is cut off with all it handed out.
 */
export const tokens = new Hono<AppEnv>();

const MAX_LIFETIME_SECONDS = 365 * 86_400;
const nameOrAll = z.string().refine((v) => v === "*" || NAME.test(v), 'a name or "*"');

const mintBody = z.strictObject({
  name: z.string().max(128).optional(),
  envs: z.array(nameOrAll).min(1).max(64).optional(),
  shares: z.array(nameOrAll).min(1).max(256).optional(),
  permissions: z.array(z.enum(PERMISSIONS as [Permission, ...Permission[]])).min(1),
  expiresIn: z.number().int().min(60).max(MAX_LIFETIME_SECONDS).optional(),
  /** Also mint an S3 key pair (docs/s3.md): it belongs to exactly one environment. */
  s3: z.boolean().optional(),
});

tokens.post("/", can("admin", null), async (c) => {
  const body = await jsonBody(c.req.raw, mintBody);
  const principal = c.var.principal;
  const scope: Scope = {
    envs: body.envs ?? ["main"],
    shares: body.shares ?? ["*"],
    permissions: [...new Set(body.permissions)],
  };
  if (body.s3 && (scope.envs.length !== 1 || scope.envs[0] === "*")) {
    throw invalid('an S3 key pair belongs to one environment: give "envs" with exactly one name');
  }
  if (!isWithin(scope, scopeOf(principal))) {
    throw new FsError("EACCES", "a token can only mint tokens within its own scope");
  }
  const now = Date.now();
  let expiresAt = now + (body.expiresIn ?? 86_400) * 1000;
  if (principal.kind === "token") expiresAt = Math.min(expiresAt, principal.expiresAt);
  // The token carries its expiry in whole seconds (JWT exp): say that one.
  expiresAt = Math.floor(expiresAt / 1000) * 1000;
  const tokenId = randomId();
  const token = await mintToken(keysFrom(c.env), tokenId, scope, now, expiresAt);
  const info = {
    tokenId,
    name: body.name ?? null,
    scope,
    createdAt: now,
    expiresAt,
    revokedAt: null,
    issuer: principal.kind === "root" ? "root" : principal.tokenId,
    ...(body.s3 ? { s3: true } : {}),
  };
  await tokenStore(c.env).record(info);
  // The secret is shown once, here; it is derived again when a request is verified.
  const s3 = body.s3 ? { s3: await pairFor(keysFrom(c.env), tokenId) } : {};
  return c.json({ token, ...info, ...s3 }, 201);
});

tokens.get("/", can("admin", null), async (c) => {
  const limit = Number(c.req.query("limit") ?? 1000);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalid("limit must be 1 to 1000");
  const cursor = c.req.query("cursor");
  const after = cursor === undefined ? "" : decodeCursor(cursor);
  if (after === undefined) throw invalid("malformed cursor");
  const page = await tokenStore(c.env).list(limit, after);
  const mine = scopeOf(c.var.principal);
  const entries = page.entries.filter((t) => isWithin(t.scope, mine));
  return c.json(
    page.last ? { tokens: entries, cursor: encodeCursor(page.last) } : { tokens: entries },
  );
});

tokens.delete("/:id", can("admin", null), async (c) => {
  const id = c.req.param("id");
  if (!/^[0-9a-f]{32}$/.test(id)) throw invalid("malformed token id");
  const store = tokenStore(c.env);
  const target = await store.get(id);
  if (!target) throw new FsError("ENOENT", "no such token");
  if (!isWithin(target.scope, scopeOf(c.var.principal))) {
    throw new FsError("EACCES", "a token can only revoke tokens within its own scope");
  }
  // This isolate refuses them at once; others within the revocation TTL.
  for (const revoked of await store.revoke(id)) noteRevoked(revoked);
  return c.body(null, 204);
});
