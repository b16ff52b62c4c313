import type { KeyPage, KeyQuery, ListQuery, ReadAt } from "../core/backend";
import { FsError, invalid } from "../core/errors";
import type { Lease } from "../core/leases";
import { type FsPath, parentOf, ROOT } from "../core/paths";
import type { DeadProperty } from "../core/properties";
import type { FileEntry, ListPage } from "../core/types";
import { toEntry } from "./file-tree";
import { KEY_SCAN_BUDGET, KeyListing } from "./key-listing";
import type { Live, ShareState } from "./share-state";

/** Where a file's bytes are, for the Worker to stream them (never through here). */
export type ReadTarget =
  | { entry: FileEntry; key: string; data?: undefined }
  | { entry: FileEntry; key?: undefined; data: ArrayBuffer };

/** Where a path stands before a WebDAV create or delete: see DavRequest.placement. */
export interface Placement {
  entry: FileEntry | null;
  parentIsCollection: boolean;
  /** Live depth-0 leases on the parent: they guard its membership (RFC 4918 §7.5). */
  guards: Lease[];
}

/** What the Worker asks of a live share's tree before it moves bytes or answers a listing. */
export class ShareReads {
  constructor(private readonly s: ShareState) {}

  /**
   * The version `at` names, checked readable: ENOENT for an unknown
   * snapshot, EEXPIRED past the retention window (or from before the
   * share's creation, or not committed yet).
   */
  resolveVersion({ now, share }: Live, at: ReadAt): number {
    if ("snapshot" in at) {
      const snapshot = this.s.snapshots.byName(at.snapshot);
      if (!snapshot) throw new FsError("ENOENT", `no such snapshot: ${at.snapshot}`);
      return snapshot.version;
    }
    const v = at.version;
    if (!Number.isSafeInteger(v) || v < 0) throw invalid(`invalid version: ${v}`);
    if (v > this.s.window.latest()) {
      throw new FsError(
        "EEXPIRED",
        `version ${v} does not exist yet (latest: ${this.s.window.latest()})`,
      );
    }
    if (!this.s.window.readable(v, share.first_version, now)) {
      throw new FsError(
        "EEXPIRED",
        `version ${v} is older than the share's retention window and no snapshot keeps it`,
      );
    }
    return v;
  }

  stat({ share }: Live, path: FsPath, version?: number): FileEntry {
    const entry = toEntry(this.s.tree.requireAt(path, version), path);
    // The root dates from the share's creation.
    return path === ROOT ? { ...entry, mtime: share.created_at } : entry;
  }

  openRead(_at: Live, path: FsPath, version?: number): ReadTarget {
    const row = this.s.tree.requireAt(path, version);
    if (row.type === "directory") throw new FsError("EISDIR", `is a directory: ${path}`, path);
    const entry = toEntry(row, path);
    if (row.blob_id) {
      const key = this.s.sql
        .exec<{ key: string }>("SELECT key FROM blobs WHERE id = ?", row.blob_id)
        .one().key;
      return { entry, key };
    }
    return { entry, data: this.s.tree.inlineData(row) ?? new ArrayBuffer(0) };
  }

  list(_at: Live, query: ListQuery, version?: number): ListPage<FileEntry> {
    return query.kind === "glob"
      ? this.s.listing.listGlob(query.pattern, query.limit, query.cursor, version)
      : this.s.listing.listPath(query.path, query.recursive, query.limit, query.cursor, version);
  }

  /**
   * S3's key listing of the latest tree (key-listing.ts). `scanBudget`
   * lowers the rows one call may read (tests); it never raises it.
   */
  listKeys(_at: Live, query: KeyQuery, scanBudget?: number): KeyPage {
    const budget =
      scanBudget !== undefined && Number.isSafeInteger(scanBudget) && scanBudget >= 1
        ? Math.min(scanBudget, KEY_SCAN_BUDGET)
        : KEY_SCAN_BUDGET;
    return new KeyListing(this.s).list(query, budget);
  }

  placement({ now, share }: Live, path: FsPath): Placement {
    const row = this.s.tree.get(path);
    const here = row ? toEntry(row, path) : null;
    const entry = here && path === ROOT ? { ...here, mtime: share.created_at } : here;
    if (path === ROOT) return { entry, parentIsCollection: false, guards: [] };
    const parent = parentOf(path);
    return {
      entry,
      parentIsCollection: this.s.tree.get(parent)?.type === "directory",
      guards: this.s.leases.guarding(parent, now),
    };
  }

  /** The dead properties of each path that has any (paths that do not exist have none). */
  properties(_at: Live, paths: readonly FsPath[]): Record<string, DeadProperty[]> {
    const ids = new Map<number, FsPath>();
    for (const path of paths) {
      const row = this.s.tree.get(path);
      if (row) ids.set(row.id, path);
    }
    const out: Record<string, DeadProperty[]> = {};
    for (const [id, props] of this.s.props.of([...ids.keys()])) {
      out[ids.get(id) as FsPath] = props;
    }
    return out;
  }

  /** Counts for operators and tests: what the share holds and owes to background work and GC. */
  usage(): {
    entries: number;
    blobs: number;
    pending: number;
    gc: number;
    doomed: number;
    retired: number;
    copies: number;
  } {
    const one = (q: string) => this.s.sql.exec<{ n: number }>(q).one().n;
    return {
      entries: one("SELECT COUNT(*) AS n FROM nodes WHERE parent > 0"),
      doomed: one("SELECT COUNT(*) AS n FROM doomed"),
      retired: one("SELECT COUNT(*) AS n FROM nodes WHERE died IS NOT NULL"),
      copies: one("SELECT COUNT(*) AS n FROM copy_jobs"),
      ...this.s.ledger.counts(),
    };
  }
}
