import type { Context } from "hono";
import {
  backendAt,
  backendForBothAt,
  type Runtime,
  type ShareTarget,
  shareTarget,
} from "../backends/resolve";
import type { Backend } from "../core/backend";
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
  };
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
