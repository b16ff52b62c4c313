import { Hono } from "hono";
import { z } from "zod";
import { keysFrom } from "../auth/keys";
import { PARAM, PRESIGN_MAX_SECONDS, presign } from "../auth/presign";
import { allows, requireAllowed } from "../auth/scope";
import { invalid } from "../core/errors";
import { parsePath, ROOT } from "../core/paths";
import type { AppEnv } from "../http/env";
import { checkName, environmentOf, jsonBody } from "../http/params";

/**
 * Presigned URLs: let plain curl (or a browser) read or write one file
 * until an expiry, with no header. Signing needs the permission the URL
 * grants; a URL signed by a scoped token dies with it (revocation, expiry).
 */
export const presigned = new Hono<AppEnv>();

const presignBody = z.strictObject({
  path: z.string(),
  method: z.enum(["GET", "PUT"]),
  expiresIn: z.number().int().min(1).max(PRESIGN_MAX_SECONDS).optional(),
});

// The permission needed depends on the method in the body: a caller with
// neither is refused before its body is read, the exact one is checked after.
presigned.post("/:share/presign", async (c) => {
  const env = environmentOf((k) => c.req.query(k));
  const share = checkName(c.req.param("share"), "share");
  const principal = c.var.principal;
  if (!allows(principal, "read", env, share) && !allows(principal, "write", env, share)) {
    requireAllowed(principal, "read", env, share);
  }
  const body = await jsonBody(c.req.raw, presignBody);
  requireAllowed(principal, body.method === "PUT" ? "write" : "read", env, share);
  const path = parsePath(body.path);
  // One file: a URL for "/a/" would address a directory (mkdir on PUT).
  if (path === ROOT || body.path.endsWith("/")) {
    throw invalid("a presigned URL is for one file: name it, without a trailing '/'", path);
  }
  let expiresAt = Date.now() + (body.expiresIn ?? 3600) * 1000;
  if (principal.kind === "token") expiresAt = Math.min(expiresAt, principal.expiresAt);
  const expires = Math.floor(expiresAt / 1000);
  const credential = principal.kind === "root" ? "root" : principal.tokenId;
  const signature = await presign(keysFrom(c.env), {
    method: body.method,
    env,
    share,
    path,
    credential,
    expires,
  });
  const url = new URL(c.req.url);
  url.pathname = `/v1/shares/${share}/files${path.split("/").map(encodeURIComponent).join("/")}`;
  url.search = "";
  url.searchParams.set("env", env);
  url.searchParams.set(PARAM.credential, credential);
  url.searchParams.set(PARAM.expires, String(expires));
  url.searchParams.set(PARAM.signature, signature);
  return c.json({ url: url.toString(), method: body.method, path, expiresAt: expires * 1000 }, 201);
});
