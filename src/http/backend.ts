import type { Context } from "hono";
import {
  backendAt,
  backendForBothAt,
  type Runtime,
  type ShareTarget,
  shareStorageAt,
  shareTarget,
} from "../backends/resolve";
import type { ShareBackend } from "../backends/share-backend";
import { configFrom } from "../config";
import type { Backend } from "../core/backend";
import { RESERVED_SUBREQUESTS, SubrequestBudget } from "../core/budget";
import type { FsPath } from "../core/paths";
import { HOP_HEADER } from "../s3/client";
import type { AppEnv } from "./env";
import { checkName, environmentOf, heldLeases } from "./params";

/** The framework-free view of a request that backend resolution needs. */
export function runtimeOf(c: Context<AppEnv>): Runtime {
  return {
    env: c.env,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    caller: { host: new URL(c.req.url).host, viaMount: c.req.raw.headers.has(HOP_HEADER) },
    subrequests: subrequestsOf(c),
  };
}

/** The request's one budget, however many Backends it resolves (a WebDAV COPY resolves several). */
export function subrequestsOf(c: Context<AppEnv>): SubrequestBudget {
  let budget = c.get("subrequests") as SubrequestBudget | undefined;
  if (!budget) {
    budget = new SubrequestBudget(configFrom(c.env).subrequestBudget, RESERVED_SUBREQUESTS);
    c.set("subrequests", budget);
  }
  return budget;
}

/** The share a `/v1/shares/{share}/…` request names, in its environment, and its ShareDO. */
export function shareOf(c: Context<AppEnv>): ShareTarget {
  const environment = environmentOf((k) => c.req.query(k));
  return shareTarget(c.env, environment, checkName(c.req.param("share"), "share"));
}

/**
 * The Backend behind `/v1/shares/{share}/…` for a path, with the leases the
 * request holds (Edgefs-Lease).
 */
export function backendFor(c: Context<AppEnv>, path?: FsPath): Promise<Backend> {
  return backendAt(runtimeOf(c), shareOf(c), path, heldLeases(c.req.header("edgefs-lease")));
}

/** One Backend for two paths of the request's share (move, copy). */
export function backendForBoth(c: Context<AppEnv>, a: FsPath, b: FsPath): Promise<Backend> {
  return backendForBothAt(runtimeOf(c), shareOf(c), a, b, heldLeases(c.req.header("edgefs-lease")));
}

/** The request's share's own storage; every path outside the bucket mounts (else 501 ENOTSUP). */
export function shareStorageFor(
  c: Context<AppEnv>,
  paths: { path: FsPath; label: string }[],
): Promise<ShareBackend> {
  return shareStorageAt(runtimeOf(c), shareOf(c), paths, heldLeases(c.req.header("edgefs-lease")));
}
