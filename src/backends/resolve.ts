import type { Context } from "hono";
import type { AppEnv } from "../app";
import { configFrom } from "../config";
import type { Backend } from "../core/backend";
import { checkName, environmentOf, heldLeases } from "../http/params";
import { ShareBackend, shareStub } from "./share-backend";

/**
 * The Backend behind `/v1/shares/{share}/…` in the request's environment.
 * Today every path is share storage; bucket mounts will be resolved here.
 */
export function backendFor(c: Context<AppEnv>): Backend {
  const environment = environmentOf((k) => c.req.query(k));
  const share = checkName(c.req.param("share"), "share");
  return new ShareBackend(
    shareStub(c.env, environment, share),
    c.env.BLOBS,
    configFrom(c.env),
    (p) => c.executionCtx.waitUntil(p),
    heldLeases(c.req.header("edgefs-lease")),
  );
}
