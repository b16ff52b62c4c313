import { Hono } from "hono";
import { scopeOf } from "../auth/scope";
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
  const { envs, shares, permissions } = scopeOf(p);
  if (p.kind === "root") return c.json({ kind: "root", envs, shares, permissions });
  return c.json({
    kind: "token",
    id: p.tokenId,
    envs,
    shares,
    permissions,
    expiresAt: p.expiresAt,
  });
});
