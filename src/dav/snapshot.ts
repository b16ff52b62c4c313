import { requireAllowed } from "../auth/scope";
import { shareStorageAt } from "../backends/resolve";
import { readOnly, type SnapshotSource } from "../backends/snapshot-backend";
import type { ReadAt } from "../core/backend";
import { FsError, invalid } from "../core/errors";
import { runtimeOf } from "../http/backend";
import { checkName } from "../http/params";
import type { DavRequest } from "./context";
import { overwriteOf } from "./copy-move";
import { DAV_CLASSES, getOrHead, propfind } from "./read";
import { davStatusResponse, versioned } from "./responses";

/**
 * `/dav/{env}/{share}@{snapshot}/…` and `/dav/{env}/{share}@@{version}/…`:
 * the share as it was at a snapshot or a version, as a read-only WebDAV
 * tree (docs/webdav.md "Snapshots"). Share and snapshot names cannot hold
 * "@", so the first "@" ends the share's name; a snapshot name cannot
 * start with "@" either, so "@@" before digits is always a version.
 */

/** What a `{share}` URL segment names: a share, and the version it is read at. */
export interface ShareSegment {
  share: string;
  /** Absent: the live share. */
  at?: ReadAt;
}

export function parseShareSegment(segment: string | undefined): ShareSegment {
  const at = segment?.indexOf("@") ?? -1;
  if (segment === undefined || at < 0) return { share: checkName(segment, "share") };
  const share = checkName(segment.slice(0, at), "share");
  const rest = segment.slice(at + 1);
  if (rest.startsWith("@")) {
    const version = rest.slice(1);
    if (!/^\d{1,15}$/.test(version)) throw invalid(`invalid version after "@@": ${version}`);
    return { share, at: { version: Number(version) } };
  }
  return { share, at: { snapshot: checkName(rest, "snapshot") } };
}

/** The `{share}` segment of a URL that reads `at`. */
export function shareSegment(share: string, at: ReadAt | undefined): string {
  if (at === undefined) return share;
  return "snapshot" in at ? `${share}@${at.snapshot}` : `${share}@@${at.version}`;
}

/** The methods a snapshot URL answers; every other WebDAV method is a change. */
export const SNAPSHOT_METHODS = "OPTIONS, GET, HEAD, PROPFIND, COPY";

/**
 * Serves a request to a snapshot URL. Reading needs read permission on
 * the share (a token scoped to a share reads its snapshots); a change of
 * any kind is 403 EACCES; COPY out of the snapshot is a restore and also
 * needs write permission.
 */
export async function snapshotRequest(
  dav: DavRequest,
  snapshot: SnapshotSource,
  isDavMethod: boolean,
): Promise<Response> {
  const { environment, share } = dav.target;
  const principal = dav.c.var.principal;
  if (!isDavMethod) {
    const refused = davStatusResponse(405, `${dav.method} is not a WebDAV method this server has`);
    refused.headers.set("allow", SNAPSHOT_METHODS);
    return refused;
  }
  requireAllowed(principal, "read", environment, share);
  switch (dav.method) {
    case "OPTIONS":
      await snapshot.resolved();
      return new Response(null, {
        status: 200,
        headers: { ...DAV_CLASSES, allow: SNAPSHOT_METHODS, "content-length": "0" },
      });
    case "GET":
    case "HEAD":
      return withVersion(await getOrHead(dav), snapshot);
    case "PROPFIND":
      return withVersion(await propfind(dav), snapshot);
    case "COPY":
      requireAllowed(principal, "write", environment, share);
      return restoreByCopy(dav, snapshot);
    default:
      throw readOnly(snapshot.at);
  }
}

/** A read's answer says the version it read (`Edgefs-Version`), like the native API's. */
async function withVersion(res: Response, snapshot: SnapshotSource): Promise<Response> {
  res.headers.set("edgefs-version", String(await snapshot.resolved()));
  return res;
}

/**
 * COPY from a snapshot URL to the live share: a restore (docs/api.md
 * "History and restore") of the source as it was, at the destination,
 * as one new version. Only metadata moves. WebDAV's rules on top: the
 * destination's parent must be a collection (409), Overwrite: F keeps an
 * existing destination (412), a depth-0 lock on the parent needs its token.
 * A collection is restored whole: Depth 0 is refused.
 */
async function restoreByCopy(dav: DavRequest, snapshot: SnapshotSource): Promise<Response> {
  const destination = dav.header("destination");
  if (!destination) throw invalid("COPY needs a Destination header");
  if (dav.pathOfUrl(destination) !== null) throw readOnly(snapshot.at);
  const to = dav.livePathOfUrl(destination);
  if (to === null) {
    return davStatusResponse(
      502,
      "a COPY out of a snapshot restores into its own live share only: the destination is not in it",
    );
  }
  const overwrite = overwriteOf(dav.header("overwrite"));
  const depth = dav.header("depth")?.trim().toLowerCase() ?? "infinity";
  if (depth !== "infinity" && depth !== "0") throw invalid(`invalid Depth for COPY: ${depth}`);
  await dav.checkIf();
  const from = dav.path;
  const source = await dav.resource();
  if (source.type === "directory" && depth === "0") {
    return davStatusResponse(
      403,
      "a COPY out of a snapshot restores a collection with all its members: Depth 0 is not supported",
    );
  }
  const storage = await shareStorageAt(
    runtimeOf(dav.c),
    dav.target,
    [{ path: to, label: "the restore destination" }],
    dav.heldLeases,
  );
  const place = await storage.leases.placement(to);
  if (!place.parentIsCollection && to !== "/") {
    return davStatusResponse(409, "the destination's parent collection does not exist");
  }
  if (place.entry && !overwrite) {
    throw new FsError("EPRECONDITION", `the destination exists and Overwrite is F: ${to}`, to);
  }
  if (!place.entry) dav.requireMembership(to, place.guards);
  const { version } = await storage.restore(from, snapshot.at, to);
  return new Response(null, {
    status: place.entry ? 204 : 201,
    headers: versioned({}, version),
  });
}
