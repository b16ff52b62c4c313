import { FsError, invalid } from "../core/errors";
import { covers, type Lease } from "../core/leases";
import type { DavRequest } from "./context";
import {
  activeLockXml,
  leaseIdOf,
  lockSeconds,
  lockTokenHeader,
  lockTokenOf,
  parseLockInfo,
} from "./locks";
import { davStatusResponse, xmlResponse } from "./responses";
import { readXmlBody } from "./xml";

/** A lock's own root is a collection when it lies above the request's resource or is one. */
const discovery = (dav: DavRequest, lease: Lease, collection: boolean) =>
  `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(
    lease,
    dav.hrefOf(lease.path, lease.path !== dav.path || collection),
    Date.now(),
  )}</D:lockdiscovery></D:prop>`;

/**
 * LOCK (RFC 4918 §9.10): a new lock is a path lease on the share; a LOCK
 * without a body refreshes the lock its If header names. Locking a path
 * that does not exist creates an empty file there (what Windows does before
 * every upload), holding the new lock, so no one else can take it first.
 */
export async function lock(dav: DavRequest): Promise<Response> {
  const body = await readXmlBody(dav.c.req.raw);
  const ttlMs = lockSeconds(dav.header("timeout")) * 1000;
  if (body === null) return refresh(dav, ttlMs);
  const request = parseLockInfo(body);
  const depth = dav.header("depth")?.trim().toLowerCase() ?? "infinity";
  if (depth !== "0" && depth !== "infinity") throw invalid(`invalid Depth for LOCK: ${depth}`);
  if (!(await dav.features(dav.path)).leases) {
    return davStatusResponse(
      405,
      "bucket mounts take no locks: writes there can bypass this share, so a lock could not hold",
    );
  }
  await dav.checkIf();
  const place = await dav.placement(dav.path);
  const existing = place.entry;
  if (!existing && dav.trailingSlash) {
    return davStatusResponse(409, "LOCK creates empty files, not collections: MKCOL it first");
  }
  if (!existing && !place.parentIsCollection) {
    return davStatusResponse(409, "the parent collection does not exist");
  }
  if (!existing) dav.requireMembership(dav.path, place.guards);
  const leases = await dav.leasesAt(dav.path);
  const lease = await leases.acquire({
    path: dav.path,
    exclusive: request.exclusive,
    depth,
    owner: request.owner,
    ttlMs,
  });
  if (!existing) {
    dav.hold(lease.leaseId);
    try {
      await (await dav.backend()).write(
        dav.path,
        { stream: null, length: 0 },
        { ifNoneMatch: ["*"] },
      );
    } catch (e) {
      await leases.release(lease.leaseId).catch(() => undefined);
      throw e;
    }
  }
  return xmlResponse(existing ? 200 : 201, discovery(dav, lease, existing?.type === "directory"), {
    "lock-token": `<${lockTokenOf(lease.leaseId)}>`,
  });
}

/** A refresh names its lock in the If header; the lock must cover the request's resource. */
async function refresh(dav: DavRequest, ttlMs: number): Promise<Response> {
  if (dav.header("if") === undefined) {
    throw invalid("a LOCK without a body refreshes a lock: name it in the If header");
  }
  const lease = (await dav.submittedLeases()).find((l) => covers(l, dav.path));
  const leases = await dav.tokenLeases();
  if (!lease || !leases) {
    throw new FsError(
      "EPRECONDITION",
      "no lock named in the If header covers this resource",
      dav.path,
    );
  }
  const renewed = await leases.renew(lease.leaseId, ttlMs);
  const entry = await dav.stat(dav.path);
  return xmlResponse(200, discovery(dav, renewed, entry?.type === "directory"));
}

/** UNLOCK: the Lock-Token must name a live lock that covers the request's resource (else 409). */
export async function unlock(dav: DavRequest): Promise<Response> {
  const id = leaseIdOf(lockTokenHeader(dav.header("lock-token")));
  const leases = await dav.tokenLeases();
  const lease = id === null || !leases ? undefined : (await leases.byIds([id]))[0];
  if (!leases || !lease || !covers(lease, dav.path)) {
    return xmlResponse(
      409,
      '<D:error xmlns:D="DAV:"><D:lock-token-matches-request-uri/></D:error>',
    );
  }
  await leases.release(lease.leaseId);
  return new Response(null, { status: 204 });
}
