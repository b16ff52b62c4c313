// Path leases in the SDK: what a lease is on the wire, how a request says it
// holds one (Edgefs-Lease), and the options of acquire and renew.
import type { Lease } from "../core/leases.js";
import { InvalidRequestError } from "./errors.js";
import { checkValue, type KeysOf } from "./options.js";

export type { Lease };

/** A lease a request holds: its id, or the Lease that acquireLease() answered. */
export type LeaseRef = string | Pick<Lease, "leaseId">;

/** Options of acquireLease() (and of withLease(), which adds `autoRenew`). */
export interface LeaseOptions {
  /** Seconds until it expires unless renewed: 1 to 86,400, default 60. */
  ttlSeconds?: number;
  /** Exclusive (default) or shared: shared leases coexist and block only writers holding none. */
  exclusive?: boolean;
  /** "infinity" (default): the path and everything below it; "0": the path alone. */
  depth?: "0" | "infinity";
  /** Free text naming the holder (at most 1,024 UTF-8 bytes), shown in listings and WebDAV. */
  owner?: string;
}

export const LEASE_KEYS = {
  ttlSeconds: true,
  exclusive: true,
  depth: true,
  owner: true,
} as const satisfies KeysOf<LeaseOptions>;

/** Options of withLease(): a lease's, and whether it is renewed while the function runs. */
export interface WithLeaseOptions extends LeaseOptions {
  /** Renew every ttl/3 while the function runs (default true), as ephemeral shares send heartbeats. */
  autoRenew?: boolean;
}

export const WITH_LEASE_KEYS = {
  ...LEASE_KEYS,
  autoRenew: true,
} as const satisfies KeysOf<WithLeaseOptions>;

const LEASE_ID = /^[0-9a-f]{32}$/;
const MAX_HELD = 16;

export function checkLeaseOptions(what: string, options: LeaseOptions): void {
  checkValue(
    what,
    "ttlSeconds",
    options.ttlSeconds,
    (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 1,
    "a whole number of seconds (1 to 86,400)",
  );
  checkValue(what, "exclusive", options.exclusive, (v) => typeof v === "boolean", "a boolean");
  checkValue(
    what,
    "depth",
    options.depth,
    (v) => v === "0" || v === "infinity",
    '"0" or "infinity"',
  );
  checkValue(what, "owner", options.owner, (v) => typeof v === "string", "a string");
}

/** The id of a lease reference, refusing (before any request) one that is no lease id. */
export function leaseIdOf(what: string, lease: LeaseRef): string {
  const id = typeof lease === "string" ? lease : (lease as { leaseId?: unknown } | null)?.leaseId;
  if (typeof id !== "string" || !LEASE_ID.test(id)) {
    throw new InvalidRequestError(`${what}: not a lease id (32 hex digits): ${String(id)}`, {
      status: 0,
    });
  }
  return id;
}

/** The Edgefs-Lease header of the leases a request holds (none: no header). */
export function leaseHeader(
  what: string,
  leases: LeaseRef | readonly LeaseRef[] | undefined,
): Record<string, string> {
  if (leases === undefined) return {};
  const list: readonly LeaseRef[] = Array.isArray(leases) ? leases : [leases as LeaseRef];
  const ids = [...new Set(list.map((l) => leaseIdOf(what, l)))];
  if (ids.length > MAX_HELD) {
    throw new InvalidRequestError(`${what}: a request holds at most ${MAX_HELD} leases`, {
      status: 0,
    });
  }
  return ids.length === 0 ? {} : { "edgefs-lease": ids.join(", ") };
}
