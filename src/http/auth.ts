import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import { FsError } from "../core/errors";
import { errorResponse } from "./errors";

const unauthenticated = (message: string) => () =>
  errorResponse(new FsError("EUNAUTHENTICATED", message));

/**
 * Every /v1 route needs the root token as a Bearer token (scoped tokens
 * come later). Hono's bearerAuth does the parsing and a constant-time
 * comparison; every failure is 401 EUNAUTHENTICATED, including a malformed
 * header, per the contract. A server without a root token refuses everyone.
 */
export function requireRootToken(): MiddlewareHandler<{ Bindings: Env }> {
  return bearerAuth({
    verifyToken: async (token, c) => {
      const root: string | undefined = c.env.EDGEFS_ROOT_TOKEN;
      return typeof root === "string" && root.length > 0 && (await timingSafeEqual(root, token));
    },
    noAuthenticationHeader: { message: unauthenticated("missing Authorization: Bearer token") },
    invalidAuthenticationHeader: { message: unauthenticated("malformed Authorization header") },
    invalidToken: { message: unauthenticated("invalid token") },
  });
}
