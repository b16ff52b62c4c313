import { FsError } from "../core/errors";
import { randomId } from "../core/ids";
import { blockingLease, type Lease, type LeaseRequest } from "../core/leases";
import { ancestorsOf, type FsPath, ROOT, subtreeRange } from "../core/paths";

interface LeaseRow {
  id: string;
  path: string;
  exclusive: number;
  depth: "0" | "infinity";
  owner: string | null;
  ttl_ms: number;
  expires_at: number;
  created_at: number;
  [key: string]: SqlStorageValue;
}

const toLease = (r: LeaseRow): Lease => ({
  leaseId: r.id,
  path: r.path,
  exclusive: r.exclusive === 1,
  depth: r.depth,
  owner: r.owner,
  ttlSeconds: r.ttl_ms / 1000,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
});

/**
 * Bounds on what leases cost readers: every lock that covers a resource is
 * shown with its owner in that resource's WebDAV lockdiscovery, so owners,
 * the leases of a share and the leases piled on one path are all capped
 * (a lockdiscovery lists at most MAX_OVERLAPPING leases of at most
 * MAX_OWNER_BYTES each). A litmus or Finder owner (an href) is ~50 bytes.
 */
export const LEASE_LIMITS = {
  /** UTF-8 bytes of an owner: free text, or DAV:owner's XML. */
  ownerBytes: 1024,
  /** Active leases in one share. */
  perShare: 1000,
  /** Active (shared) leases that overlap one path: on it, above it with depth infinity, below it. */
  overlapping: 32,
} as const;

const utf8 = new TextEncoder();

/** What a change touches: one path, or a path with everything below it. */
export interface LeaseTarget {
  path: FsPath;
  subtree: boolean;
}

/**
 * The leases of one share, in the ShareDO's SQLite. A lease is active while
 * `expires_at` is in the future: every check filters on it, so an expired
 * lease stops counting at once, without waiting for the alarm to delete it.
 */
export class LeaseTable {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Active leases that overlap a target: leases on the path or an ancestor
   * with depth infinity, a depth-0 lease on the path itself, and (for a
   * subtree) any lease below it.
   */
  private overlapping(target: LeaseTarget, now: number): LeaseRow[] {
    const above = JSON.stringify(target.path === ROOT ? [] : [ROOT, ...ancestorsOf(target.path)]);
    const [lo, hi] = target.path === ROOT ? ["/", "0"] : [`${target.path}/`, `${target.path}0`];
    return this.sql
      .exec<LeaseRow>(
        `SELECT * FROM leases WHERE expires_at > ?1 AND (
           path = ?2
           OR (depth = 'infinity' AND path IN (SELECT value FROM json_each(?3)))
           OR (?4 AND path >= ?5 AND path < ?6))`,
        now,
        target.path,
        above,
        target.subtree ? 1 : 0,
        lo,
        hi,
      )
      .toArray();
  }

  acquire(request: LeaseRequest, now: number): Lease {
    if (request.owner !== null && utf8.encode(request.owner).byteLength > LEASE_LIMITS.ownerBytes) {
      throw new FsError(
        "ETOOLARGE",
        `a lease owner is limited to ${LEASE_LIMITS.ownerBytes} bytes`,
        request.path,
      );
    }
    const target = { path: request.path, subtree: request.depth === "infinity" };
    const overlapping = this.overlapping(target, now);
    const conflict = overlapping.find((l) => request.exclusive || l.exclusive === 1);
    if (conflict) throw locked(request.path, toLease(conflict));
    if (overlapping.length >= LEASE_LIMITS.overlapping) {
      throw new FsError(
        "ENOSPC",
        `at most ${LEASE_LIMITS.overlapping} leases may overlap one path; release one first`,
        request.path,
      );
    }
    const { n } = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases WHERE expires_at > ?", now)
      .one();
    if (n >= LEASE_LIMITS.perShare) {
      throw new FsError(
        "ENOSPC",
        `a share holds at most ${LEASE_LIMITS.perShare} active leases; release one first`,
        request.path,
      );
    }
    const row: LeaseRow = {
      id: randomId(),
      path: request.path,
      exclusive: request.exclusive ? 1 : 0,
      depth: request.depth,
      owner: request.owner,
      ttl_ms: request.ttlMs,
      expires_at: now + request.ttlMs,
      created_at: now,
    };
    this.sql.exec(
      `INSERT INTO leases (id, path, exclusive, depth, owner, ttl_ms, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      row.path,
      row.exclusive,
      row.depth,
      row.owner,
      row.ttl_ms,
      row.expires_at,
      row.created_at,
    );
    return toLease(row);
  }

  private active(id: string, now: number): LeaseRow {
    const row = this.sql
      .exec<LeaseRow>("SELECT * FROM leases WHERE id = ? AND expires_at > ?", id, now)
      .toArray()[0];
    if (!row) throw new FsError("ENOENT", "no such lease, or it has expired");
    return row;
  }

  /** Extends a live lease by its ttl (or a new one) from now. */
  renew(id: string, ttlMs: number | undefined, now: number): Lease {
    const row = this.active(id, now);
    const ttl = ttlMs ?? row.ttl_ms;
    this.sql.exec("UPDATE leases SET ttl_ms = ?, expires_at = ? WHERE id = ?", ttl, now + ttl, id);
    return toLease({ ...row, ttl_ms: ttl, expires_at: now + ttl });
  }

  release(id: string, now: number): void {
    this.active(id, now);
    this.sql.exec("DELETE FROM leases WHERE id = ?", id);
  }

  releaseWithin(path: FsPath): void {
    const [lo, hi] = subtreeRange(path);
    this.sql.exec("DELETE FROM leases WHERE path = ? OR (path >= ? AND path < ?)", path, lo, hi);
  }

  list(now: number, under?: FsPath): Lease[] {
    const rows =
      under === undefined
        ? this.sql.exec<LeaseRow>("SELECT * FROM leases WHERE expires_at > ? ORDER BY path", now)
        : this.sql.exec<LeaseRow>(
            "SELECT * FROM leases WHERE expires_at > ? AND (path = ? OR (path >= ? AND path < ?)) ORDER BY path",
            now,
            under,
            under === ROOT ? "/" : `${under}/`,
            under === ROOT ? "0" : `${under}0`,
          );
    return rows.toArray().map(toLease);
  }

  byIds(ids: readonly string[], now: number): Lease[] {
    return this.sql
      .exec<LeaseRow>(
        "SELECT * FROM leases WHERE expires_at > ? AND id IN (SELECT value FROM json_each(?))",
        now,
        JSON.stringify(ids),
      )
      .toArray()
      .map(toLease);
  }

  /** Depth-0 leases on `dir` itself. */
  guarding(dir: FsPath, now: number): Lease[] {
    return this.sql
      .exec<LeaseRow>(
        "SELECT * FROM leases WHERE expires_at > ? AND path = ? AND depth = '0'",
        now,
        dir,
      )
      .toArray()
      .map(toLease);
  }

  /** Leases that cover `path` or lie below it: what a directory listing can show. */
  around(path: FsPath, now: number): Lease[] {
    return this.overlapping({ path, subtree: true }, now).map(toLease);
  }

  /**
   * Refuses a change that another lease protects (423 ELOCKED). An
   * exclusive lease lets through only its holder; shared leases block only
   * writers that hold no lease on the target.
   */
  checkWrite(targets: LeaseTarget[], held: readonly string[], now: number): void {
    for (const target of targets) {
      const leases = this.overlapping(target, now);
      if (leases.length === 0) continue;
      const blocker = blockingLease(leases.map(toLease), held);
      if (blocker) throw locked(target.path, blocker);
    }
  }

  /** Forgets expired leases (housekeeping; they stopped counting already). */
  expire(now: number): void {
    this.sql.exec("DELETE FROM leases WHERE expires_at <= ?", now);
  }

  nextExpiry(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM leases").one().t;
  }

  clear(): void {
    this.sql.exec("DELETE FROM leases");
  }
}

/**
 * Leases are advisory: their ids are listed to readers (the lease list,
 * WebDAV lockdiscovery). Error messages still name the expiry, not the id,
 * so a refused writer is not handed the id in passing.
 */
function locked(path: string, lease: Lease): FsError {
  const kind = lease.exclusive ? "an exclusive" : "a shared";
  return new FsError(
    "ELOCKED",
    `${path} is held by ${kind} lease on ${lease.path} until ${new Date(lease.expiresAt).toISOString()}`,
    path,
  );
}
