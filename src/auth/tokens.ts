import { sign, verify } from "hono/jwt";
import { z } from "zod";
import { FsError } from "../core/errors";
import { type Keys, signingKey } from "./keys";
import { PERMISSIONS, type Principal, type Scope } from "./scope";

/**
 * Scoped tokens are HS256 JWTs (Hono's JWT helpers), verified with the
 * signing key alone: no storage lookup on the hot path. The claims carry
 * the scope; `jti` names the token for listing and revocation.
 */
const claims = z.object({
  jti: z.string().regex(/^[0-9a-f]{32}$/),
  iat: z.number(),
  exp: z.number(),
  scope: z.object({
    envs: z.array(z.string()).min(1),
    shares: z.array(z.string()).min(1),
    permissions: z.array(z.enum(PERMISSIONS as [string, ...string[]])).min(1),
  }),
});

/** A JWT is three base64url parts; anything else is not one of ours. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

export async function mintToken(
  keys: Keys,
  tokenId: string,
  scope: Scope,
  issuedAt: number,
  expiresAt: number,
): Promise<string> {
  return sign(
    { jti: tokenId, iat: Math.floor(issuedAt / 1000), exp: Math.floor(expiresAt / 1000), scope },
    signingKey(keys),
    "HS256",
  );
}

/**
 * Verifies signature and expiry with the current key, then the previous
 * one. Every failure is the same 401: the caller learns nothing about why.
 */
export async function verifyToken(
  keys: Keys,
  token: string,
): Promise<Principal & { kind: "token" }> {
  for (const key of keys.verifying) {
    let payload: unknown;
    try {
      payload = await verify(token, key, "HS256");
    } catch {
      continue;
    }
    const parsed = claims.safeParse(payload);
    if (!parsed.success) break;
    return {
      kind: "token",
      tokenId: parsed.data.jti,
      scope: parsed.data.scope as Scope,
      expiresAt: parsed.data.exp * 1000,
    };
  }
  throw new FsError("EUNAUTHENTICATED", "invalid or expired token");
}
