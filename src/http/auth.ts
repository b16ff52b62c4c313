import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { keysFrom } from "../auth/keys";
import { PARAM, verifyPresigned } from "../auth/presign";
import { principalOfToken } from "../auth/principal";
import { isRevoked } from "../auth/revocations";
import { type Permission, type Principal, requireAllowed } from "../auth/scope";
import { configFrom } from "../config";
import { FsError } from "../core/errors";
import { ROOT } from "../core/paths";
import type { AppEnv } from "./env";
import { errorResponse } from "./errors";
import { checkName, environmentOf, sharePathOf } from "./params";

const unauthenticated = (message: string) => () =>
  errorResponse(new FsError("EUNAUTHENTICATED", message));

/**
 * Who is asking: the root token, a scoped token (HS256 JWT, verified by
 * signature and checked against the cached revocation list), or, on a file
 * route, a presigned URL. Hono's bearerAuth parses the header and every
 * failure there is 401 EUNAUTHENTICATED, including a malformed header.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  const bearer = bearerAuth({
    // bearerAuth types its context loosely; this one is the app's.
    verifyToken: async (token, context) => {
      const c = context as unknown as Context<AppEnv>;
      c.set("principal", await principalOf(token, c));
      return true;
    },
    noAuthenticationHeader: { message: unauthenticated("missing Authorization: Bearer token") },
    invalidAuthenticationHeader: { message: unauthenticated("malformed Authorization header") },
    invalidToken: { message: unauthenticated("invalid token") },
  });
  return async (c, next) => {
    if (new URL(c.req.url).searchParams.has(PARAM.signature)) {
      c.set("principal", await presignedPrincipal(c));
      return next();
    }
    const offered = socketBearer(c);
    if (offered !== null) {
      c.set("principal", await principalOf(offered, c));
      return next();
    }
    return bearer(c as unknown as Context, next);
  };
}

/**
 * A browser's WebSocket cannot carry an Authorization header, so a socket
 * request without one may offer its token as the subprotocol
 * `edgefs.bearer.<token>` (tokens are made of subprotocol-safe characters).
 */
export const WS_BEARER_PREFIX = "edgefs.bearer.";

function socketBearer(c: Context<AppEnv>): string | null {
  if (c.req.header("authorization") !== undefined) return null;
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return null;
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(WS_BEARER_PREFIX));
  return bearer === undefined ? null : bearer.slice(WS_BEARER_PREFIX.length);
}

/** Who a token stands for (auth/principal.ts), for a Hono request. */
export function principalOf(token: string, c: Context<AppEnv>): Promise<Principal> {
  return principalOfToken(c.env, token);
}

/**
 * A presigned URL stands for exactly one method on one file of one share:
 * only the file routes accept one, never with a trailing "/" (a directory),
 * and the signature is checked against the request as it arrived.
 */
async function presignedPrincipal(c: Context<AppEnv>): Promise<Principal> {
  const segments = new URL(c.req.url).pathname.split("/");
  if (segments[1] !== "v1" || segments[2] !== "shares" || segments[4] !== "files") {
    throw new FsError("EUNAUTHENTICATED", "presigned URLs are only for files");
  }
  const share = checkName(decodeURIComponent(segments[3] ?? ""), "share");
  const env = environmentOf((k) => c.req.query(k));
  const { path, trailingSlash } = sharePathOf(c.req.url);
  // A URL stands for one file. "/a/b/" parses to the same path as "/a/b" but
  // is mkdir on the file route, so the signature of "/a/b" must not cover it.
  if (trailingSlash || path === ROOT) {
    throw new FsError("EUNAUTHENTICATED", "a presigned URL is for one file: no trailing '/'");
  }
  const credential = c.req.query(PARAM.credential) ?? "";
  if (credential !== "root" && !/^[0-9a-f]{32}$/.test(credential)) {
    throw new FsError("EUNAUTHENTICATED", "invalid or expired presigned URL");
  }
  await verifyPresigned(
    keysFrom(c.env),
    {
      method: c.req.method,
      env,
      share,
      path,
      credential,
      expires: Number(c.req.query(PARAM.expires)),
      signature: c.req.query(PARAM.signature) ?? "",
    },
    Date.now(),
  );
  if (
    credential !== "root" &&
    (await isRevoked(c.env, credential, configFrom(c.env).revocationTtlMs))
  ) {
    throw new FsError("EUNAUTHENTICATED", "the token that signed this URL has been revoked");
  }
  const permission = c.req.method === "PUT" ? "write" : "read";
  return {
    kind: "token",
    tokenId: credential,
    scope: { envs: [env], shares: [share], permissions: [permission] },
    expiresAt: Number(c.req.query(PARAM.expires)) * 1000,
  };
}

/**
 * A route's requirement: `permission` on the share named by the route
 * parameter `shareParam` (or on the environment as a whole, with null).
 * Unknown callers never get here; a known caller without it gets 403.
 */
export function can(
  permission: Permission,
  shareParam: "share" | "name" | null = "share",
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const env = environmentOf((k) => c.req.query(k));
    const share = shareParam === null ? undefined : checkName(c.req.param(shareParam), "share");
    requireAllowed(c.var.principal, permission, env, share);
    await next();
  };
}

/** Routes only the root token may use (dev routes). */
export function rootOnly(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.var.principal.kind !== "root")
      throw new FsError("EACCES", "only the root token may use this route");
    await next();
  };
}
