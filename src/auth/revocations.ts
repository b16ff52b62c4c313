import { tokenStore } from "../durable/token-store";

/**
 * Revoked token ids, cached per isolate. A token is verified by its
 * signature alone; revocation is checked against this set, refreshed from
 * the TokenStore at most every EDGEFS_REVOCATION_TTL_SECONDS (default 30).
 * So a revocation takes effect at once in the isolate that handled it and
 * within that ttl everywhere else — one small RPC per isolate per ttl on
 * the hot path, instead of one per request.
 */
let cached: { ids: Set<string>; fetchedAt: number } | undefined;
let inFlight: Promise<Set<string>> | undefined;

async function revokedSet(env: Env, ttlMs: number): Promise<Set<string>> {
  const now = Date.now();
  if (cached && now - cached.fetchedAt < ttlMs) return cached.ids;
  inFlight ??= tokenStore(env)
    .revokedIds()
    .then((ids) => {
      cached = { ids: new Set(ids), fetchedAt: now };
      return cached.ids;
    })
    .finally(() => {
      inFlight = undefined;
    });
  return inFlight;
}

export async function isRevoked(env: Env, tokenId: string, ttlMs: number): Promise<boolean> {
  return (await revokedSet(env, ttlMs)).has(tokenId);
}

/** Makes a revocation visible in this isolate immediately. */
export function noteRevoked(tokenId: string): void {
  cached?.ids.add(tokenId);
}
