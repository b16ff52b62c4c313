import { type FsPath, isWithin } from "./paths.js";
import type { FileEntry } from "./types.js";

/**
 * A path lease: an advisory lock for cooperating writers. `depth` follows
 * WebDAV (RFC 4918 §6): "infinity" covers the path and everything below it,
 * "0" the path alone. `owner` is free text for whoever holds it (WebDAV's
 * DAV:owner), kept so LOCK discovery can show it later.
 */
export interface Lease {
  leaseId: string;
  path: string;
  exclusive: boolean;
  depth: "0" | "infinity";
  owner: string | null;
  ttlSeconds: number;
  expiresAt: number;
  createdAt: number;
}

/** What a new lease asks for. */
export interface LeaseRequest {
  path: FsPath;
  exclusive: boolean;
  depth: "0" | "infinity";
  owner: string | null;
  ttlMs: number;
}

/** The longest a lease may run before it must be renewed. */
export const MAX_LEASE_TTL_SECONDS = 86_400;

/**
 * The lease that refuses a writer holding `held`, among leases that all
 * protect what it changes: an exclusive lease lets through only its holder;
 * shared leases block only writers that hold none of them.
 */
export function blockingLease(
  leases: readonly Lease[],
  held: readonly string[],
): Lease | undefined {
  const holdsAny = leases.some((l) => held.includes(l.leaseId));
  return leases.find((l) => (l.exclusive ? !held.includes(l.leaseId) : !holdsAny));
}

/** Whether a lease protects `path`: it is on it, or on an ancestor with depth infinity. */
export function covers(lease: Pick<Lease, "path" | "depth">, path: FsPath): boolean {
  return lease.depth === "infinity" ? isWithin(path, lease.path as FsPath) : lease.path === path;
}

/** Where a path stands before something is created or removed there (WebDAV PUT, MKCOL, LOCK …). */
export interface Placement {
  entry: FileEntry | null;
  parentIsCollection: boolean;
  /** Live depth-0 leases on the parent: they guard its membership (RFC 4918 §7.5). */
  guards: Lease[];
}

/**
 * The lease ability of a Backend (`features.leases`). Every method throws
 * FsError only: ENOENT when the share is gone, and the codes named here.
 */
export interface LeaseOps {
  /**
   * Takes a lease. ELOCKED (423) when an overlapping lease conflicts (an
   * exclusive one, or any for an exclusive request); ENOSPC (507) past the
   * count limits (per share, per path); ETOOLARGE (413) for an owner over
   * its byte limit; ENOTSUP (501) when the lease would cover storage that
   * changes without passing through this backend (a bucket mount below it).
   */
  acquire(request: LeaseRequest): Promise<Lease>;

  /** Extends a live lease by its ttl (or `ttlMs`) from now. ENOENT if it is not live. */
  renew(leaseId: string, ttlMs?: number): Promise<Lease>;

  /** Ends a live lease. ENOENT if it is not live. */
  release(leaseId: string): Promise<void>;

  /** Live leases that cover `path` (on it, or depth infinity above it) or lie below it. */
  around(path: FsPath): Promise<Lease[]>;

  /** The live leases among `ids`; unknown or expired ids are left out, never an error. */
  byIds(ids: readonly string[]): Promise<Lease[]>;

  /**
   * Where `path` stands, with the depth-0 leases that guard its parent, in
   * one step (one round trip on share storage).
   */
  placement(path: FsPath): Promise<Placement>;
}
