import { timingSafeEqual } from "hono/utils/buffer";
import { configFrom } from "../config";
import { FsError } from "../core/errors";
import { keysFrom } from "./keys";
import { isRevoked } from "./revocations";
import type { Principal } from "./scope";
import { looksLikeJwt, verifyToken } from "./tokens";

/**
 * Who a token (root or scoped) stands for; EUNAUTHENTICATED if it stands
 * for no one. The one check every front-end makes — HTTP's Bearer header,
 * WebDAV's password, a feed socket's subprotocol, the RPC entrypoint — so a
 * token is judged the same way wherever it is shown: the root tokens
 * compared in constant time, a scoped token (HS256 JWT) by its signature
 * and expiry, then against the cached revocation list.
 */
export async function principalOfToken(env: Env, token: string): Promise<Principal> {
  const keys = keysFrom(env);
  for (const root of keys.rootTokens) {
    if (await timingSafeEqual(root, token)) return { kind: "root" };
  }
  if (!looksLikeJwt(token)) throw new FsError("EUNAUTHENTICATED", "invalid token");
  const principal = await verifyToken(keys, token);
  if (await isRevoked(env, principal.tokenId, configFrom(env).revocationTtlMs)) {
    throw new FsError("EUNAUTHENTICATED", "this token has been revoked");
  }
  return principal;
}
