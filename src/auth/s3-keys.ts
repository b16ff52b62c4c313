import { FsError } from "../core/errors";
import { tokenStore } from "../durable/token-store";
import { base64url, hmacSha256 } from "./hmac";
import { type Keys, signingKey } from "./keys";
import { isRevoked } from "./revocations";
import type { Principal } from "./scope";

/**
 * S3 key pairs (docs/s3.md "Credentials"). A pair is derived, never stored:
 * the access key id names a scoped token (`EF` + its id) or the root token
 * (`EFROOT`, or `EFROOT.<env>` for another environment than main), and the
 * secret is an HMAC of that name under the key that signs tokens (or the
 * root token itself). So verifying a request needs no secret store, rotating
 * the signing key or the root token rotates the pairs with it (the previous
 * key's pairs keep working while it is still accepted, as tokens do), and
 * revoking the token revokes its pair.
 */
export const ROOT_ACCESS_KEY = "EFROOT";
const TOKEN_KEY = /^EF([0-9A-F]{32})$/;
const ROOT_KEY = /^EFROOT(?:\.((?!\.)[A-Za-z0-9._-]{1,64}))?$/;

export const accessKeyIdOf = (tokenId: string): string => `EF${tokenId.toUpperCase()}`;

/** Derived secrets per isolate (they change only when a key rotates); bounded. */
const derived = new Map<string, Promise<string>>();
const MAX_DERIVED = 10_000;

/** 30 bytes of HMAC-SHA256, base64url: 40 characters, the length of an AWS secret key. */
function derive(key: string, label: string): Promise<string> {
  const id = `${label}\n${key}`;
  let secret = derived.get(id);
  if (!secret) {
    if (derived.size >= MAX_DERIVED) derived.clear();
    secret = computeSecret(key, label);
    derived.set(id, secret);
  }
  return secret;
}

async function computeSecret(key: string, label: string): Promise<string> {
  return base64url((await hmacSha256(key, label)).subarray(0, 30));
}

/** The secret of a scoped token's pair, under one signing key. */
export const tokenSecret = (key: string, tokenId: string): Promise<string> =>
  derive(key, `edgefs s3 secret ${tokenId}`);

/**
 * The secret of the root pair of an environment (src/cli/banner.ts derives
 * main's too). Each environment's differs: a signature does not cover the
 * access key id, so with one secret for all, a replayer could move a signed
 * root request into another environment by renaming `EFROOT`.
 */
export const rootSecret = (rootToken: string, environment = "main"): Promise<string> =>
  derive(
    rootToken,
    environment === "main" ? "edgefs s3 root secret" : `edgefs s3 root secret ${environment}`,
  );

/** The pair minted with a token (`POST /v1/tokens` with `"s3": true`). */
export async function pairFor(
  keys: Keys,
  tokenId: string,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  return {
    accessKeyId: accessKeyIdOf(tokenId),
    secretAccessKey: await tokenSecret(signingKey(keys), tokenId),
  };
}

/** Who an access key stands for, in which environment, and the secrets it may sign with. */
export interface S3Credential {
  principal: Principal;
  environment: string;
  /** Current first, then the previous key's while it is still accepted. */
  secrets: string[];
}

interface TokenEntry {
  principal: Principal & { kind: "token" };
  environment: string;
  fetchedAt: number;
}

/**
 * Token records by id, per isolate, for at most the revocation TTL: a pair
 * is checked against the TokenStore (scope, expiry, that it was minted for
 * S3) once per isolate per TTL, not once per request.
 */
const tokens = new Map<string, TokenEntry>();
const MAX_CACHED = 10_000;

async function tokenEntry(env: Env, tokenId: string, ttlMs: number): Promise<TokenEntry | null> {
  const now = Date.now();
  const cached = tokens.get(tokenId);
  if (cached && now - cached.fetchedAt < ttlMs) return cached;
  const info = await tokenStore(env).get(tokenId);
  if (!info?.s3 || info.revokedAt !== null) {
    tokens.delete(tokenId);
    return null;
  }
  const entry: TokenEntry = {
    principal: { kind: "token", tokenId, scope: info.scope, expiresAt: info.expiresAt },
    environment: info.scope.envs[0] as string,
    fetchedAt: now,
  };
  if (tokens.size >= MAX_CACHED) tokens.clear();
  tokens.set(tokenId, entry);
  return entry;
}

/**
 * The credential an access key id names, or null for one that names no
 * one (S3's InvalidAccessKeyId). An expired or revoked pair is refused
 * here, before its signature is even checked.
 */
export async function s3Credential(
  env: Env,
  keys: Keys,
  accessKeyId: string,
  revocationTtlMs: number,
): Promise<S3Credential | null> {
  const root = ROOT_KEY.exec(accessKeyId);
  if (root) {
    if (keys.rootTokens.length === 0) return null;
    const environment = root[1] ?? "main";
    return {
      principal: { kind: "root" },
      environment,
      secrets: await Promise.all(keys.rootTokens.map((t) => rootSecret(t, environment))),
    };
  }
  const id = TOKEN_KEY.exec(accessKeyId)?.[1]?.toLowerCase();
  if (id === undefined || keys.verifying.length === 0) return null;
  const entry = await tokenEntry(env, id, revocationTtlMs);
  if (!entry) return null;
  if (entry.principal.expiresAt <= Date.now()) {
    throw new FsError(
      "EUNAUTHENTICATED",
      "this S3 key pair has expired",
      undefined,
      undefined,
      "ExpiredToken",
    );
  }
  if (await isRevoked(env, id, revocationTtlMs)) {
    throw new FsError(
      "EUNAUTHENTICATED",
      "this S3 key pair has been revoked",
      undefined,
      undefined,
      "InvalidAccessKeyId",
    );
  }
  return {
    principal: entry.principal,
    environment: entry.environment,
    secrets: await Promise.all(keys.verifying.map((k) => tokenSecret(k, id))),
  };
}
