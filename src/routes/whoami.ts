import { Hono } from "hono";
import type { AppEnv } from "../http/env";

/**
 * Who the caller's credentials say it is: what a client (the web browser's
 * sign-in, a script checking its CI token) needs to know before it asks
 * for anything else. Any valid token may ask; the token itself never comes
 * back, only its scope.
 */
export const whoami = new Hono<AppEnv>();

whoami.get("/", (c) => {
  const p = c.var.principal;
  if (p.kind === "root") {
    return c.json({
      kind: "root",
      envs: ["*"],
      shares: ["*"],
      permissions: ["read", "write", "admin"],
    });
  }
  return c.json({
    kind: "token",
    id: p.tokenId,
    envs: p.scope.envs,
    shares: p.scope.shares,
    permissions: p.scope.permissions,
    expiresAt: p.expiresAt,
  });
});
