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
import type { Backend, ReadAt, VersionView } from "../core/backend";
import { RESERVED_SUBREQUESTS, SubrequestBudget } from "../core/budget";
import { FsError, invalid } from "../core/errors";
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

/** `?version=N` or `?snapshot=NAME`, or neither (the latest). Both: 400. */
function readAtOf(c: Context<AppEnv>): ReadAt | undefined {
  const version = c.req.query("version");
  const snapshot = c.req.query("snapshot");
  if (version !== undefined && snapshot !== undefined) {
    throw invalid("give ?version or ?snapshot, not both");
  }
  if (version !== undefined) {
    if (!/^\d{1,15}$/.test(version)) throw invalid(`invalid version: ${version}`);
    return { version: Number(version) };
  }
  if (snapshot !== undefined) {
    if (snapshot === "" || snapshot.length > 64)
      throw invalid(`invalid snapshot name: ${snapshot}`);
    return { snapshot };
  }
  return undefined;
}

/**
 * What a read route reads from: the latest tree, or the tree at the
 * version `?version=` / `?snapshot=` name, with that version (the answer
 * says it in `Edgefs-Version`). Storage without versions (a bucket mount)
 * is ENOTSUP.
 */
export async function readerFor(
  c: Context<AppEnv>,
  path: FsPath,
): Promise<{ reader: VersionView; version?: number }> {
  const at = readAtOf(c);
  const backend = await backendFor(c, path);
  if (at === undefined) return { reader: backend };
  if (!backend.versions) {
    throw new FsError("ENOTSUP", "this storage keeps no versions (a bucket mount)", path);
  }
  const version = await backend.versions.resolve(at);
  return { reader: backend.versions.view(version), version };
}

/** The header a read at a version, and every change on versioned storage, answers with. */
export const VERSION_HEADER = "Edgefs-Version";

/** Says the version a change made, where the storage keeps versions (not on a bucket mount). */
export function versionHeader(c: Context<AppEnv>, version: number | undefined): void {
  if (version !== undefined) c.header(VERSION_HEADER, String(version));
}

/** The request's share's own storage; every path outside the bucket mounts (else 501 ENOTSUP). */
export function shareStorageFor(
  c: Context<AppEnv>,
  paths: { path: FsPath; label: string }[],
): Promise<ShareBackend> {
  return shareStorageAt(runtimeOf(c), shareOf(c), paths, heldLeases(c.req.header("edgefs-lease")));
}
