import type { Overwrite } from "../core/backend";
import { FsError, invalid, notFound } from "../core/errors";
import {
  ancestorsOf,
  baseName,
  type FsPath,
  isWithin,
  parentOf,
  ROOT,
  subtreeRange,
} from "../core/paths";
import type { FileEntry } from "../core/types";
import type { BlobLedger } from "./blob-ledger";
import type { PropertyTable } from "./property-table";

/** One row of `entries`, without the inline bytes (listings never need them). */
export interface EntryRow {
  path: string;
  type: "file" | "directory";
  size: number;
  mtime: number;
  etag: string | null;
  blob_id: string | null;
  /** The `inline_data` row holding a small file's bytes (shared by its copies). */
  inline_id: number | null;
  [key: string]: SqlStorageValue;
}

export const COLUMNS = "path, type, size, mtime, etag, blob_id, inline_id";

/** An entry at `?1` or anywhere below it (`?2` ≤ path < `?3`, from subtreeRange). */
const IN_TREE = "(path = ?1 OR (path >= ?2 AND path < ?3))";

/** The version a new file gets, and where its bytes are. */
export interface FileVersion {
  size: number;
  etag: string;
  blobId: string | null;
  data: ArrayBuffer | null;
}

export function toEntry(row: EntryRow, path: string): FileEntry {
  const e: FileEntry = { path, type: row.type, size: row.size, mtime: row.mtime };
  if (row.etag !== null) e.etag = row.etag;
  return e;
}

/**
 * The file tree of one share in SQLite. Every method is synchronous SQL; the
 * ShareDO runs each change inside one transaction, which is what makes
 * writes, moves, copies and deletes atomic.
 */
export class FileTree {
  constructor(
    private readonly sql: SqlStorage,
    private readonly ledger: BlobLedger,
    /** Dead properties follow their entries through every delete, move and copy. */
    private readonly properties: PropertyTable,
  ) {}

  get(path: FsPath): EntryRow | undefined {
    if (path === ROOT) {
      return {
        path: ROOT,
        type: "directory",
        size: 0,
        mtime: 0,
        etag: null,
        blob_id: null,
        inline_id: null,
      };
    }
    return this.sql
      .exec<EntryRow>(`SELECT ${COLUMNS} FROM entries WHERE path = ?`, path)
      .toArray()[0];
  }

  require(path: FsPath): EntryRow {
    const row = this.get(path);
    if (!row) throw notFound(path);
    return row;
  }

  /** A small file's bytes: one indexed join, within the read's object call. */
  inlineData(path: FsPath): ArrayBuffer | null {
    const row = this.sql
      .exec<{ data: ArrayBuffer }>(
        "SELECT d.data FROM entries e JOIN inline_data d ON d.id = e.inline_id WHERE e.path = ?",
        path,
      )
      .toArray()[0];
    return row?.data ?? null;
  }

  entry(path: FsPath): FileEntry {
    return toEntry(this.require(path), path);
  }

  /** `mkdir -p` for the parents of `path`; ENOTDIR if one of them is a file. */
  ensureParents(path: FsPath, now: number): void {
    for (const dir of ancestorsOf(path)) {
      const row = this.get(dir);
      if (row?.type === "file") throw new FsError("ENOTDIR", `not a directory: ${dir}`, dir);
      if (!row) this.insertDirectory(dir, now);
    }
  }

  private insertDirectory(dir: FsPath, now: number): void {
    this.sql.exec(
      "INSERT INTO entries (path, parent, name, type, size, mtime) VALUES (?, ?, ?, 'directory', 0, ?)",
      dir,
      parentOf(dir),
      baseName(dir),
      now,
    );
  }

  /** `mkdir -p path`. Returns whether the directory is new. */
  mkdir(path: FsPath, now: number): boolean {
    this.ensureParents(path, now);
    const row = this.get(path);
    if (row?.type === "file") throw new FsError("ENOTDIR", `a file exists at ${path}`, path);
    if (row) return false;
    this.insertDirectory(path, now);
    return true;
  }

  /**
   * Points `path` at a new version, replacing any older one (whose blob is
   * released for GC after `graceUntil`, whose inline bytes lose a reference).
   * Inline bytes are stored once here; copies only add references. An empty
   * file stores nothing. Returns whether the file is new.
   */
  putFile(path: FsPath, v: FileVersion, now: number, graceUntil: number): boolean {
    if (path === ROOT) throw new FsError("EISDIR", "the root is a directory", path);
    this.ensureParents(path, now);
    const old = this.get(path);
    if (old?.type === "directory") throw new FsError("EISDIR", `is a directory: ${path}`, path);
    const inlineId = v.data && v.data.byteLength > 0 ? this.ledger.keepInline(v.data) : null;
    this.sql.exec(
      `INSERT INTO entries (path, parent, name, type, size, mtime, etag, blob_id, inline_id)
       VALUES (?, ?, ?, 'file', ?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
         etag = excluded.etag, blob_id = excluded.blob_id, inline_id = excluded.inline_id`,
      path,
      parentOf(path),
      baseName(path),
      v.size,
      now,
      v.etag,
      v.blobId,
      inlineId,
    );
    if (old?.blob_id) this.ledger.release(old.blob_id, graceUntil);
    if (old?.inline_id != null) this.ledger.releaseInline(old.inline_id);
    return old === undefined;
  }

  hasChildren(dir: FsPath): boolean {
    return (
      this.sql.exec("SELECT 1 FROM entries WHERE parent = ? LIMIT 1", dir).toArray().length > 0
    );
  }

  /** Deletes a file or a directory (its whole subtree with `recursive`). */
  remove(path: FsPath, recursive: boolean, graceUntil: number): void {
    const row = this.require(path);
    if (row.type === "directory" && !recursive && this.hasChildren(path)) {
      throw new FsError("ENOTEMPTY", `directory not empty: ${path}`, path);
    }
    this.deleteSubtree(path, graceUntil);
  }

  /** Removes `path` (unless it is the root) and everything below it, releasing blobs and inline bytes. */
  private deleteSubtree(path: FsPath, graceUntil: number): void {
    const [lo, hi] = subtreeRange(path);
    this.sql.exec(
      `UPDATE blobs SET refs = refs - (SELECT COUNT(*) FROM entries WHERE blob_id = blobs.id AND ${IN_TREE})
       WHERE id IN (SELECT blob_id FROM entries WHERE blob_id IS NOT NULL AND ${IN_TREE})`,
      path,
      lo,
      hi,
    );
    this.ledger.collectUnreferenced(graceUntil);
    this.countInlineRefs(path, -1);
    this.ledger.collectInline();
    this.sql.exec(`DELETE FROM entries WHERE ${IN_TREE}`, path, lo, hi);
    this.properties.dropSubtree(path);
  }

  /**
   * Adds (`sign` 1) or drops (-1) one reference to inline bytes for every
   * file at or under `path`: one range scan of the subtree, grouped by row.
   */
  private countInlineRefs(path: FsPath, sign: 1 | -1): void {
    const [lo, hi] = subtreeRange(path);
    this.sql.exec(
      `UPDATE inline_data SET refs = refs + ?4 * t.n
       FROM (SELECT inline_id, COUNT(*) AS n FROM entries
             WHERE inline_id IS NOT NULL AND ${IN_TREE} GROUP BY inline_id) AS t
       WHERE inline_data.id = t.inline_id`,
      path,
      lo,
      hi,
      sign,
    );
  }

  /**
   * Decides what happens to an existing destination of a move or copy, with
   * rename(2)'s rules: a file replaces a file, a directory replaces an empty
   * directory; anything else is an error. With "any", whatever is there goes.
   */
  private clearDestination(
    src: EntryRow,
    to: FsPath,
    overwrite: Overwrite,
    graceUntil: number,
  ): void {
    const dst = this.get(to);
    if (!dst) return;
    if (to === ROOT) throw new FsError("EEXIST", "the root already exists", to);
    if (!overwrite) throw new FsError("EEXIST", `destination exists: ${to}`, to);
    if (overwrite !== "any") this.checkReplaceable(src, dst, to);
    this.deleteSubtree(to, graceUntil);
  }

  /** rename(2): a file replaces a file, a directory an empty directory. */
  private checkReplaceable(src: EntryRow, dst: EntryRow, to: FsPath): void {
    if (src.type === "file" && dst.type === "directory") {
      throw new FsError("EISDIR", `destination is a directory: ${to}`, to);
    }
    if (src.type === "directory" && dst.type === "file") {
      throw new FsError("ENOTDIR", `destination is a file: ${to}`, to);
    }
    if (dst.type === "directory" && this.hasChildren(to)) {
      throw new FsError("ENOTEMPTY", `destination directory not empty: ${to}`, to);
    }
  }

  private checkMoveOrCopy(from: FsPath, to: FsPath, verb: string): EntryRow {
    if (from === ROOT) throw invalid(`cannot ${verb} the root directory`, from);
    const src = this.require(from);
    if (from !== to && isWithin(to, from)) {
      throw invalid(`cannot ${verb} a directory into itself: ${from} -> ${to}`, to);
    }
    return src;
  }

  /** Renames a file or a subtree: metadata only, no bytes move. */
  move(from: FsPath, to: FsPath, overwrite: Overwrite, now: number, graceUntil: number): FileEntry {
    const src = this.checkMoveOrCopy(from, to, "move");
    if (from === to) return toEntry(src, to);
    this.ensureParents(to, now);
    this.clearDestination(src, to, overwrite, graceUntil);
    const [lo, hi] = subtreeRange(from);
    this.sql.exec(
      "UPDATE entries SET path = ?, parent = ?, name = ? WHERE path = ?",
      to,
      parentOf(to),
      baseName(to),
      from,
    );
    if (src.type === "directory") {
      this.sql.exec(
        `UPDATE entries SET path = ?1 || substr(path, ?2), parent = ?1 || substr(parent, ?2)
         WHERE path >= ?3 AND path < ?4`,
        to,
        from.length + 1,
        lo,
        hi,
      );
    }
    this.properties.moveSubtree(from, to);
    return this.entry(to);
  }

  /**
   * Copies a file or a subtree: rows only. R2 blobs and inline bytes alike are
   * shared by reference, so a copy's storage cost does not grow with its bytes.
   */
  copy(
    from: FsPath,
    to: FsPath,
    opts: { recursive: boolean; overwrite: Overwrite },
    now: number,
    graceUntil: number,
  ): FileEntry {
    const src = this.checkMoveOrCopy(from, to, "copy");
    if (from === to) throw invalid("source and destination are the same", to);
    if (src.type === "directory" && !opts.recursive) {
      throw new FsError("EISDIR", `${from} is a directory: copy it with recursive`, from);
    }
    this.ensureParents(to, now);
    this.clearDestination(src, to, opts.overwrite, graceUntil);
    const [lo, hi] = subtreeRange(from);
    this.sql.exec(
      `INSERT INTO entries (path, parent, name, type, size, mtime, etag, blob_id, inline_id)
       SELECT ?1, ?2, ?3, type, size, ?4, etag, blob_id, inline_id FROM entries WHERE path = ?5`,
      to,
      parentOf(to),
      baseName(to),
      now,
      from,
    );
    if (src.type === "directory") {
      this.sql.exec(
        `INSERT INTO entries (path, parent, name, type, size, mtime, etag, blob_id, inline_id)
         SELECT ?1 || substr(path, ?2), ?1 || substr(parent, ?2), name, type, size, ?3, etag, blob_id, inline_id
         FROM entries WHERE path >= ?4 AND path < ?5`,
        to,
        from.length + 1,
        now,
        lo,
        hi,
      );
    }
    // Every copied row that points at a blob or at inline bytes is one more reference to them.
    const [tlo, thi] = subtreeRange(to);
    this.sql.exec(
      `UPDATE blobs SET refs = refs + (SELECT COUNT(*) FROM entries
         WHERE blob_id = blobs.id AND ${IN_TREE})
       WHERE id IN (SELECT blob_id FROM entries
         WHERE blob_id IS NOT NULL AND ${IN_TREE})`,
      to,
      tlo,
      thi,
    );
    this.countInlineRefs(to, 1);
    this.properties.copySubtree(from, to, src.type === "directory");
    return this.entry(to);
  }

  /** Deletes the whole tree and its inline bytes (share deletion); blobs are released by the caller. */
  clear(): void {
    this.sql.exec("DELETE FROM entries");
    this.ledger.releaseAllInline();
    this.properties.clear();
  }
}
