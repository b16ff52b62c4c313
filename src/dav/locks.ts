import { invalid } from "../core/errors";
import { type Lease, MAX_LEASE_TTL_SECONDS } from "../core/leases";
import {
  DAV_NS,
  elementsOf,
  escapeText,
  findDav,
  isDav,
  parseXml,
  serializeNodes,
  type XmlElement,
} from "./xml";

/**
 * WebDAV write locks are the share's path leases (lease-table.ts): a lock
 * token is the lease id written as a UUID URN, so `Edgefs-Lease` holders
 * and WebDAV clients see and respect the same locks.
 */
export function lockTokenOf(leaseId: string): string {
  const h = leaseId;
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const TOKEN = /^urn:uuid:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;

/** The lease id behind a lock token, or null for a token this server never issued. */
export function leaseIdOf(token: string): string | null {
  const m = TOKEN.exec(token.trim());
  return m ? m.slice(1).join("").toLowerCase() : null;
}

/** `Lock-Token: <urn:uuid:…>` (UNLOCK), with or without the angle brackets. */
export function lockTokenHeader(header: string | undefined): string {
  const token = header?.trim().replace(/^<(.*)>$/, "$1");
  if (!token) throw invalid("UNLOCK needs a Lock-Token header");
  return token;
}

/** Locks last an hour unless the client asks otherwise. */
export const DEFAULT_LOCK_SECONDS = 3600;

/**
 * `Timeout: Second-600, Infinite` (RFC 4918 §10.7): the first value this
 * server can honour. Infinite and anything longer become the longest lease.
 */
export function lockSeconds(header: string | undefined): number {
  if (header === undefined) return DEFAULT_LOCK_SECONDS;
  for (const part of header.split(",").map((s) => s.trim())) {
    if (/^infinite$/i.test(part)) return MAX_LEASE_TTL_SECONDS;
    const m = /^Second-(\d{1,12})$/i.exec(part);
    if (m) return Math.min(Math.max(Number(m[1]), 1), MAX_LEASE_TTL_SECONDS);
  }
  return DEFAULT_LOCK_SECONDS;
}

export interface LockRequest {
  exclusive: boolean;
  /** DAV:owner's content as self-contained XML, or null. */
  owner: string | null;
}

/** A LOCK body: `<lockinfo><lockscope/><locktype><write/></locktype><owner/></lockinfo>`. */
export function parseLockInfo(root: XmlElement): LockRequest {
  if (!isDav(root, "lockinfo")) throw invalid("a LOCK body must be a DAV:lockinfo element");
  const scope = findDav(root, "lockscope");
  const type = findDav(root, "locktype");
  const kind = scope ? elementsOf(scope)[0] : undefined;
  if (!kind || kind.ns !== DAV_NS || !["exclusive", "shared"].includes(kind.local)) {
    throw invalid("DAV:lockscope must be DAV:exclusive or DAV:shared");
  }
  if (!type || !elementsOf(type).some((t) => isDav(t, "write"))) {
    throw invalid("only DAV:write locks exist");
  }
  const ownerEl = findDav(root, "owner");
  // Its size is bounded where leases are kept (lease-table.ts LEASE_LIMITS).
  const owner = ownerEl ? serializeNodes(ownerEl.children) : null;
  return { exclusive: kind.local === "exclusive", owner };
}

/**
 * A lease's owner as DAV:owner content. WebDAV clients stored XML; leases
 * taken through the native API hold free text. Either way the output comes
 * from a fresh parse (or escaping), never from stored text pasted as is.
 */
function ownerXml(owner: string): string {
  try {
    return serializeNodes(parseXml(`<o>${owner}</o>`).children);
  } catch {
    return escapeText(owner);
  }
}

/**
 * One lock as DAV:activelock (lockdiscovery, LOCK responses). `rootHref` is
 * the locked resource's URL, with the trailing slash of a collection.
 */
export function activeLockXml(lease: Lease, rootHref: string, now: number): string {
  const seconds = Math.max(0, Math.ceil((lease.expiresAt - now) / 1000));
  return [
    "<D:activelock>",
    "<D:locktype><D:write/></D:locktype>",
    `<D:lockscope>${lease.exclusive ? "<D:exclusive/>" : "<D:shared/>"}</D:lockscope>`,
    `<D:depth>${lease.depth === "0" ? "0" : "infinity"}</D:depth>`,
    lease.owner === null ? "" : `<D:owner>${ownerXml(lease.owner)}</D:owner>`,
    `<D:timeout>Second-${seconds}</D:timeout>`,
    `<D:locktoken><D:href>${lockTokenOf(lease.leaseId)}</D:href></D:locktoken>`,
    `<D:lockroot><D:href>${escapeText(rootHref)}</D:href></D:lockroot>`,
    "</D:activelock>",
  ].join("");
}

/** What LOCK can do here: exclusive and shared write locks. */
export const SUPPORTED_LOCK =
  "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>" +
  "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>";
