import { FsError } from "../core/errors";

/** What a subtree holds: counts and logical bytes (copies count again, as `du` does). */
export interface Usage {
  files: number;
  dirs: number;
  bytes: number;
  /** Bytes of the files kept inline in the share's SQLite. */
  inlineBytes: number;
}

export const NO_USAGE: Usage = { files: 0, dirs: 0, bytes: 0, inlineBytes: 0 };

export const plus = (a: Usage, b: Usage, sign: 1 | -1 = 1): Usage => ({
  files: a.files + sign * b.files,
  dirs: a.dirs + sign * b.dirs,
  bytes: a.bytes + sign * b.bytes,
  inlineBytes: a.inlineBytes + sign * b.inlineBytes,
});

/** A quota an admin set on a share; null fields are unlimited. */
export interface Quota {
  bytes: number | null;
  files: number | null;
}

/** The share's storage budget in its Durable Object's SQLite (bytes). */
export interface StorageBudget {
  /** Growing changes are refused from here on (the limit minus a safety margin). */
  refuseAt: number;
  /** Small files go to R2 instead of SQLite from here on. */
  inlineUntil: number;
}

/** A file row, as far as history counting cares. */
export interface CountedRow {
  id: number;
  type: "file" | "directory";
  size: number;
  blob_id: string | null;
  inline_id: number | null;
}

/**
 * The bytes of file versions the share keeps only for readers of older
 * versions (the retention window, snapshots, copies in progress), in one
 * counter (`counters` 'history_bytes') moved in the same transaction as
 * the rows it counts, by the amount each change keeps or frees: never a
 * scan. What it counts, per kept row:
 *
 * - a dead file row (replaced or deleted) counts its size in its own
 *   `nodes.history` column, which pruning subtracts;
 * - a dead row a rename left (node-store.ts `relocate`) counts nothing:
 *   the same version of the same file is still live under its new name;
 * - a kept doomed subtree (an `rm -r`) counts the bytes of the files it
 *   held when it was unlinked (`doomed.kept`), each subtracted as its row
 *   is freed.
 *
 * One version of one file (rows of one node id referencing the same bytes)
 * counts once, whichever of its rows are kept: when the row that counted
 * it goes and another row of that version stays (a snapshot reads the
 * file under its old name), the count moves to that row (`handOff`).
 * Bytes count as usage counts them (logically): a kept version that a
 * live copy, or a restored file, shares the stored bytes with counts too.
 */
export class HistoryBytes {
  constructor(private readonly sql: SqlStorage) {}

  total(): number {
    return (
      this.sql
        .exec<{ value: number }>("SELECT value FROM counters WHERE name = 'history_bytes'")
        .toArray()[0]?.value ?? 0
    );
  }

  add(bytes: number): void {
    if (bytes === 0) return;
    this.sql.exec(
      `INSERT INTO counters (name, value) VALUES ('history_bytes', ?)
       ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`,
      bytes,
    );
  }

  /**
   * Row `gone` (deleted now) counted its file version, or stood for it
   * live: if a dead row of the same version stays and nothing counts the
   * version any more, that row counts it from now on. One indexed lookup.
   */
  handOff(gone: CountedRow): void {
    if (gone.type !== "file" || gone.size === 0) return;
    const heir = this.sql
      .exec<{ row: number; carried: number }>(
        `SELECT min(row) FILTER (WHERE history = 0) AS row, coalesce(sum(history), 0) AS carried
         FROM nodes WHERE id = ? AND died IS NOT NULL AND blob_id IS ? AND inline_id IS ?`,
        gone.id,
        gone.blob_id,
        gone.inline_id,
      )
      .one();
    if (heir.row === null || heir.carried > 0) return;
    this.sql.exec("UPDATE nodes SET history = ? WHERE row = ?", gone.size, heir.row);
    this.add(gone.size);
  }
}

/**
 * The totals of every directory's subtree, in `dir_usage`, kept in the same
 * transaction as the change that moves them: a write adds to each ancestor
 * (O(depth)), a delete, move or copy of a whole subtree moves its totals
 * up or down one chain of ancestors at once. So the share's usage is one
 * row (the root's), a quota check costs nothing, and a recursive delete or
 * copy knows its size before it touches a single descendant.
 */
export class TreeUsage {
  readonly history: HistoryBytes;

  constructor(
    private readonly sql: SqlStorage,
    private readonly budget: () => StorageBudget,
  ) {
    this.history = new HistoryBytes(sql);
  }

  of(dirId: number): Usage {
    const row = this.sql
      .exec<{ files: number; dirs: number; bytes: number; inline_bytes: number }>(
        "SELECT files, dirs, bytes, inline_bytes FROM dir_usage WHERE id = ?",
        dirId,
      )
      .toArray()[0];
    return row
      ? { files: row.files, dirs: row.dirs, bytes: row.bytes, inlineBytes: row.inline_bytes }
      : { ...NO_USAGE };
  }

  /** A new directory starts empty. */
  open(dirId: number): void {
    this.sql.exec("INSERT OR IGNORE INTO dir_usage (id) VALUES (?)", dirId);
  }

  forget(dirId: number): void {
    this.sql.exec("DELETE FROM dir_usage WHERE id = ?", dirId);
  }

  /** Adds `delta` to the totals of every directory in `chain` (ids, root first). */
  add(chain: readonly number[], delta: Usage): void {
    if (chain.length === 0) return;
    if (delta.files === 0 && delta.dirs === 0 && delta.bytes === 0 && delta.inlineBytes === 0) {
      return;
    }
    this.sql.exec(
      `UPDATE dir_usage SET files = files + ?, dirs = dirs + ?, bytes = bytes + ?,
         inline_bytes = inline_bytes + ? WHERE id IN (SELECT value FROM json_each(?))`,
      delta.files,
      delta.dirs,
      delta.bytes,
      delta.inlineBytes,
      JSON.stringify(chain),
    );
  }

  /**
   * Refuses a change that would grow the share past its quota, or its
   * SQLite past the storage budget, with ENOSPC; nothing is changed yet.
   * A change that does not grow what a limit counts always passes, so
   * deletes, moves and shrinking overwrites work at the limit. The byte
   * quota counts live bytes and the bytes history keeps (HistoryBytes); a
   * change is judged by the live bytes it adds, so an overwrite or delete
   * whose old version history keeps passes, and that version then counts.
   */
  admit(current: Usage, delta: Usage, quota: Quota, reserved: Usage, path: string): void {
    const after = plus(plus(current, reserved), delta);
    // Like ZFS's `quota` (not `refquota`): what history keeps counts too.
    const history = quota.bytes !== null && delta.bytes > 0 ? this.history.total() : 0;
    if (quota.files !== null && delta.files > 0 && after.files > quota.files) {
      throw new FsError(
        "ENOSPC",
        `the share's quota of ${quota.files} files is reached (${current.files} stored)`,
        path,
      );
    }
    if (quota.bytes !== null && delta.bytes > 0 && after.bytes + history > quota.bytes) {
      const kept =
        history > 0
          ? `, of which ${history} bytes are kept by history: delete snapshots or wait for the retention window (EDGEFS_VERSION_RETENTION_SECONDS) to pass what was replaced or deleted`
          : "";
      throw new FsError(
        "ENOSPC",
        `the share's quota of ${quota.bytes} bytes is reached (${current.bytes + history} stored${kept}; ${delta.bytes} more asked)`,
        path,
      );
    }
    const grows = delta.files > 0 || delta.dirs > 0 || delta.inlineBytes > 0;
    if (grows && this.sql.databaseSize >= this.budget().refuseAt) {
      throw new FsError(
        "ENOSPC",
        `the share's storage is full (${this.sql.databaseSize} bytes of metadata and inline data): delete files or snapshots to make room (what a change replaced is kept for the retention window, EDGEFS_VERSION_RETENTION_SECONDS)`,
        path,
      );
    }
  }

  /** Whether a small file may still be stored inline, or should go to R2. */
  inlineAllowed(): boolean {
    return this.sql.databaseSize < this.budget().inlineUntil;
  }
}
