import { FsError, invalid } from "../core/errors";
import type { SnapshotInfo } from "../core/types";
import type { VersionWindow } from "./version-window";

/** Snapshot names: as share names ([A-Za-z0-9._-], 1–64, not starting with "."). */
const NAME = /^(?!\.)[A-Za-z0-9._-]{1,64}$/;

/** At most this many snapshots per share: each is a row, and pruning skips what they keep. */
export const MAX_SNAPSHOTS = 1000;

interface SnapshotRow {
  name: string;
  version: number;
  created_at: number;
  [key: string]: SqlStorageValue;
}

const info = (r: SnapshotRow): SnapshotInfo => ({
  name: r.name,
  version: r.version,
  createdAt: r.created_at,
});

/**
 * Named snapshots: each keeps one version of the share readable, whatever
 * the retention window, until it is deleted. Taking one writes one row,
 * whatever the size of the tree: the rows of that version stay because
 * pruning skips every row a snapshot's version falls within
 * (version-window.ts, tree-reclaim.ts).
 */
export class SnapshotTable {
  constructor(
    private readonly sql: SqlStorage,
    private readonly window: VersionWindow,
  ) {}

  create(
    name: string,
    version: number | undefined,
    firstVersion: number,
    now: number,
  ): SnapshotInfo {
    if (!NAME.test(name)) {
      throw invalid(
        `invalid snapshot name (letters, digits, . _ -, 1-64, not starting with .): ${name}`,
      );
    }
    const v = version ?? this.window.latest();
    if (!this.window.readable(v, firstVersion, now)) {
      throw new FsError(
        "EEXPIRED",
        `version ${v} is not readable any more (older than the retention window, or not of this share)`,
      );
    }
    if (this.byName(name)) throw new FsError("EEXIST", `snapshot already exists: ${name}`);
    const count = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM snapshots").one().n;
    if (count >= MAX_SNAPSHOTS) {
      throw new FsError(
        "ENOSPC",
        `a share keeps at most ${MAX_SNAPSHOTS} snapshots: delete one first`,
      );
    }
    this.sql.exec(
      "INSERT INTO snapshots (name, version, created_at) VALUES (?, ?, ?)",
      name,
      v,
      now,
    );
    return { name, version: v, createdAt: now };
  }

  byName(name: string): SnapshotInfo | undefined {
    const row = this.sql
      .exec<SnapshotRow>("SELECT name, version, created_at FROM snapshots WHERE name = ?", name)
      .toArray()[0];
    return row ? info(row) : undefined;
  }

  list(): SnapshotInfo[] {
    return this.sql
      .exec<SnapshotRow>("SELECT name, version, created_at FROM snapshots ORDER BY version, name")
      .toArray()
      .map(info);
  }

  /** Deletes a snapshot; what only it kept is pruned by the next alarm batches. */
  delete(name: string): void {
    if (this.sql.exec("DELETE FROM snapshots WHERE name = ?", name).rowsWritten === 0) {
      throw new FsError("ENOENT", `no such snapshot: ${name}`);
    }
  }

  /** Share deletion: its snapshots go with it. */
  clear(): void {
    this.sql.exec("DELETE FROM snapshots");
  }
}
