import type { ListQuery } from "../core/backend";
import { FsError } from "../core/errors";
import type { Lease } from "../core/leases";
import { type FsPath, parentOf, ROOT } from "../core/paths";
import type { FileEntry, ListPage } from "../core/types";
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

  stat({ share }: Live, path: FsPath): FileEntry {
    const entry = this.s.tree.entry(path);
    // The root has no row of its own: it dates from the share's creation.
    return path === ROOT ? { ...entry, mtime: share.created_at } : entry;
  }

  openRead(_at: Live, path: FsPath): ReadTarget {
    const row = this.s.tree.require(path);
    if (row.type === "directory") throw new FsError("EISDIR", `is a directory: ${path}`, path);
    const entry = this.s.tree.entry(path);
    if (row.blob_id) {
      const key = this.s.sql
        .exec<{ key: string }>("SELECT key FROM blobs WHERE id = ?", row.blob_id)
        .one().key;
      return { entry, key };
    }
    return { entry, data: this.s.tree.inlineData(path) ?? new ArrayBuffer(0) };
  }

  list(_at: Live, query: ListQuery): ListPage<FileEntry> {
    return query.kind === "glob"
      ? this.s.listing.listGlob(query.pattern, query.limit, query.cursor)
      : this.s.listing.listPath(query.path, query.recursive, query.limit, query.cursor);
  }

  placement({ now, share }: Live, path: FsPath): Placement {
    const here = this.s.tree.get(path) ? this.s.tree.entry(path) : null;
    const entry = here && path === ROOT ? { ...here, mtime: share.created_at } : here;
    if (path === ROOT) return { entry, parentIsCollection: false, guards: [] };
    const parent = parentOf(path);
    return {
      entry,
      parentIsCollection: this.s.tree.get(parent)?.type === "directory",
      guards: this.s.leases.guarding(parent, now),
    };
  }

  /** Counts for operators and tests: what the share holds and owes to GC. */
  usage(): { entries: number; blobs: number; pending: number; gc: number } {
    const entries = this.s.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM entries").one().n;
    return { entries, ...this.s.ledger.counts() };
  }
}
