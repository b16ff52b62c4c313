import { FsError } from "../core/errors";
import type { Mount, MountConfig } from "../core/mount";
import { type FsPath, isWithin } from "../core/paths";

// The types moved to core (the S3 side needs them without the storage);
// re-exported so the ShareDO's imports stay as they were.
export type { Mount, MountConfig };

interface MountRow {
  path: string;
  config: string;
  created_at: number;
  [key: string]: SqlStorageValue;
}

const toMount = (r: MountRow): Mount => ({
  path: r.path,
  createdAt: r.created_at,
  ...(JSON.parse(r.config) as MountConfig),
});

/** The mounts of one share. Mounts never overlap, so a path is in at most one. */
export class MountTable {
  constructor(private readonly sql: SqlStorage) {}

  list(): Mount[] {
    return this.sql.exec<MountRow>("SELECT * FROM mounts ORDER BY path").toArray().map(toMount);
  }

  get(path: FsPath): Mount | undefined {
    const row = this.sql.exec<MountRow>("SELECT * FROM mounts WHERE path = ?", path).toArray()[0];
    return row ? toMount(row) : undefined;
  }

  /** The mount that contains `path` (at or below its mount point), if any. */
  containing(path: FsPath): Mount | undefined {
    return this.list().find((m) => isWithin(path, m.path as FsPath));
  }

  /** A mount at or below `path`: what a recursive change of `path` would sweep away. */
  within(path: FsPath): Mount | undefined {
    return this.list().find((m) => isWithin(m.path as FsPath, path));
  }

  /** Share storage never changes what a mount shows; refuse and say where the mount is. */
  refuseChange(path: FsPath, subtree: boolean): void {
    const m = this.containing(path) ?? (subtree ? this.within(path) : undefined);
    if (m) {
      throw new FsError(
        "EEXIST",
        m.path === path || isWithin(path, m.path as FsPath)
          ? `a bucket is mounted at ${m.path}: unmount it first`
          : `${path} contains the bucket mount at ${m.path}: unmount it first`,
        path,
      );
    }
  }

  put(path: FsPath, config: MountConfig, now: number): boolean {
    const created = this.get(path) === undefined;
    this.sql.exec(
      "INSERT OR REPLACE INTO mounts (path, config, created_at) VALUES (?, ?, COALESCE((SELECT created_at FROM mounts WHERE path = ?), ?))",
      path,
      JSON.stringify(config),
      path,
      now,
    );
    return created;
  }

  delete(path: FsPath): boolean {
    return this.sql.exec("DELETE FROM mounts WHERE path = ?", path).rowsWritten > 0;
  }

  clear(): void {
    this.sql.exec("DELETE FROM mounts");
  }
}
