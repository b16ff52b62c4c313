import { FsError } from "../core/errors";
import type { BlobLedger } from "./blob-ledger";
import type { HistoryBytes } from "./tree-usage";
import type { VersionWindow } from "./version-window";

/**
 * One row of `nodes`: a version of a file or directory. `id` is the node's
 * stable identity (it survives renames and overwrites); `parent` is the id
 * of the directory it sits in; the row is live in versions [born, died).
 */
export interface NodeRow {
  row: number;
  id: number;
  parent: number;
  name: string;
  born: number;
  died: number | null;
  type: "file" | "directory";
  size: number;
  mtime: number;
  etag: string | null;
  blob_id: string | null;
  inline_id: number | null;
  /** The file's attributes, encoded (core/attributes.ts), or null. */
  attrs: string | null;
  [key: string]: SqlStorageValue;
}

export const NODE_COLUMNS =
  "row, id, parent, name, born, died, type, size, mtime, etag, blob_id, inline_id, attrs";

/** What a new row holds besides where it sits. */
export type NodeFields = Pick<
  NodeRow,
  "type" | "size" | "mtime" | "etag" | "blob_id" | "inline_id" | "attrs"
>;

/**
 * The rows of the tree, below paths: lookups by (parent, name) and by id,
 * inserts, and the one rule for what happens to a row a change replaces.
 * Every method is synchronous SQL inside the caller's transaction.
 *
 * Versions: each change that touches the tree stamps its rows with the
 * share's next version, once per transaction (`beginChange` starts one).
 * A replaced row is deleted at once, unless a reader of an older version
 * may still need it (the retention window, a snapshot, a background copy
 * reading its source as of its start: version-window.ts): then it is only
 * marked dead and pruned later (tree-reclaim.ts).
 * Each row holds one reference to its blob or inline bytes.
 */
export class NodeStore {
  private stamped: number | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly ledger: BlobLedger,
    private readonly window: VersionWindow,
    private readonly history: HistoryBytes,
  ) {}

  beginChange(): void {
    this.stamped = null;
  }

  /** The version this change writes: the share's next one, taken on first use. */
  stamp(): number {
    if (this.stamped === null) {
      this.stamped = this.sql
        .exec<{ value: number }>(
          "UPDATE counters SET value = value + 1 WHERE name = 'version' RETURNING value",
        )
        .one().value;
      this.window.committed(this.stamped, Date.now());
    }
    return this.stamped;
  }

  /**
   * The version the tree is at within this change: the one it writes if it
   * wrote already, else the latest committed. Work that is in no version
   * yet (a copy's staging tree) is stamped with it, so it makes none.
   */
  current(): number {
    return this.stamped ?? this.version();
  }

  /** The version this change makes, without taking it: its stamp, or the one after the latest. */
  next(): number {
    return this.stamped ?? this.version() + 1;
  }

  /** The latest committed version (the one the next change will exceed). */
  version(): number {
    return this.sql
      .exec<{ value: number }>("SELECT value FROM counters WHERE name = 'version'")
      .one().value;
  }

  /** `count` fresh node ids; returns the first. */
  allocate(count = 1): number {
    return (
      this.sql
        .exec<{ value: number }>(
          "UPDATE counters SET value = value + ? WHERE name = 'node' RETURNING value",
          count,
        )
        .one().value -
      count +
      1
    );
  }

  /** The live row named `name` in directory `parent`. */
  child(parent: number, name: string): NodeRow | undefined {
    return this.sql
      .exec<NodeRow>(
        `SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = ? AND name = ? AND died IS NULL`,
        parent,
        name,
      )
      .toArray()[0];
  }

  /** The row named `name` in directory `parent` as it was at `version`. */
  childAt(parent: number, name: string, version: number): NodeRow | undefined {
    const live = this.child(parent, name);
    if (live && live.born <= version) return live;
    return this.sql
      .exec<NodeRow>(
        `SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = ?1 AND name = ?2 AND died IS NOT NULL
         AND born <= ?3 AND died > ?3 ORDER BY born DESC LIMIT 1`,
        parent,
        name,
        version,
      )
      .toArray()[0];
  }

  /** The row of node `id` as it was at `version`. */
  rowAt(id: number, version: number): NodeRow | undefined {
    const live = this.live(id);
    if (live && live.born <= version) return live;
    return this.sql
      .exec<NodeRow>(
        `SELECT ${NODE_COLUMNS} FROM nodes WHERE id = ?1 AND died IS NOT NULL
         AND born <= ?2 AND died > ?2 LIMIT 1`,
        id,
        version,
      )
      .toArray()[0];
  }

  /** The root that was the share's tree at `version` (roots sit in directory 0). */
  rootAt(version: number): NodeRow | undefined {
    return this.childrenAt(0, version, "", 1)[0];
  }

  /** The live row of node `id`. */
  live(id: number): NodeRow | undefined {
    return this.sql
      .exec<NodeRow>(`SELECT ${NODE_COLUMNS} FROM nodes WHERE id = ? AND died IS NULL`, id)
      .toArray()[0];
  }

  hasChildren(dir: number): boolean {
    return (
      this.sql.exec("SELECT 1 FROM nodes WHERE parent = ? AND died IS NULL LIMIT 1", dir).toArray()
        .length > 0
    );
  }

  /** Live children of `dir` after `after` in name order, names limited to [min, below) if given. */
  children(dir: number, after: string, limit: number, min = "", below?: string): NodeRow[] {
    // Two statements, so the upper bound is part of the index range, not a filter.
    const q =
      below === undefined
        ? this.sql.exec<NodeRow>(
            `SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = ? AND died IS NULL
             AND name > ? AND name >= ? ORDER BY name LIMIT ?`,
            dir,
            after,
            min,
            limit,
          )
        : this.sql.exec<NodeRow>(
            `SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = ? AND died IS NULL
             AND name > ? AND name >= ? AND name < ? ORDER BY name LIMIT ?`,
            dir,
            after,
            min,
            below,
            limit,
          );
    return q.toArray();
  }

  /**
   * Children of `dir` as they were at `version` (live rows and dead ones
   * kept for it), after `after`, names limited to [min, below) if given.
   */
  childrenAt(
    dir: number,
    version: number,
    after: string,
    limit: number,
    min = "",
    below = "\u{10ffff}\u{10ffff}",
  ): NodeRow[] {
    // One compound statement: SQLite merges the two arms, each in name order
    // from its own partial index (live rows, dead ones), and stops at the
    // limit — no second pass, and names compare as SQLite orders them.
    return this.sql
      .exec<NodeRow>(
        `SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = ?1 AND died IS NULL AND name > ?2
           AND name >= ?3 AND name < ?4 AND born <= ?5
         UNION ALL
         SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = ?1 AND died IS NOT NULL AND name > ?2
           AND name >= ?3 AND name < ?4 AND born <= ?5 AND died > ?5
         ORDER BY name LIMIT ?6`,
        dir,
        after,
        min,
        below,
        version,
        limit,
      )
      .toArray();
  }

  /** Inserts a live row, born in this change unless said; `id` keeps a node's identity. */
  insert(id: number, parent: number, name: string, f: NodeFields, born = this.stamp()): NodeRow {
    return this.sql
      .exec<NodeRow>(
        `INSERT INTO nodes (id, parent, name, born, type, size, mtime, etag, blob_id, inline_id, attrs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${NODE_COLUMNS}`,
        id,
        parent,
        name,
        born,
        f.type,
        f.size,
        f.mtime,
        f.etag,
        f.blob_id,
        f.inline_id,
        f.attrs,
      )
      .one();
  }

  /** Whether a reader of an older version (history, a snapshot, a copy) may still see a row born at `born`. */
  private pinned(born: number): boolean {
    // Only a change asks, and it makes a version: a row born at it (in this
    // very change, or in a copy's staging tree it links) no reader has seen.
    if (born >= this.stamp()) return false;
    return this.window.keepsReplaced(born);
  }

  /**
   * A change replaces or removes `row`: it stops being live now. It is
   * deleted with its reference to its bytes (blobs due after `graceUntil`)
   * unless a pinned reader may still see it; then it stays, dead, until
   * the pin is gone. Returns whether it was kept.
   */
  retire(row: NodeRow, graceUntil: number): boolean {
    // A removal is a change of the tree like any other: it makes a version
    // even when nothing keeps the old row (ifVersion must see it).
    const died = this.stamp();
    if (this.pinned(row.born)) {
      // A live row's version was counted by nothing: the kept row counts it now.
      const kept = row.type === "file" ? row.size : 0;
      this.sql.exec("UPDATE nodes SET died = ?, history = ? WHERE row = ?", died, kept, row.row);
      this.history.add(kept);
      return true;
    }
    this.sql.exec("DELETE FROM nodes WHERE row = ?", row.row);
    this.dropRefs(row, graceUntil);
    // A rename under a pin may have left a row of this version that a reader still needs.
    this.history.handOff(row);
    return false;
  }

  /** Puts a live row somewhere else under the same id (a rename): one row, whatever is below. */
  relocate(row: NodeRow, parent: number, name: string): NodeRow {
    if (this.pinned(row.born)) {
      // The dead row keeps its reference for the pinned reader; the new one takes another.
      // It counts no history bytes: its version is still live, under the new name.
      this.sql.exec("UPDATE nodes SET died = ? WHERE row = ?", this.stamp(), row.row);
      this.addRefs(row, 1);
      return this.insert(row.id, parent, name, row);
    }
    return this.sql
      .exec<NodeRow>(
        `UPDATE nodes SET parent = ?, name = ?, born = ? WHERE row = ? RETURNING ${NODE_COLUMNS}`,
        parent,
        name,
        this.stamp(),
        row.row,
      )
      .one();
  }

  addRefs(row: Pick<NodeRow, "blob_id" | "inline_id">, count: number): void {
    if (row.blob_id) this.ledger.addRef(row.blob_id, count);
    if (row.inline_id !== null) this.ledger.addInlineRef(row.inline_id, count);
  }

  dropRefs(row: Pick<NodeRow, "blob_id" | "inline_id">, graceUntil: number): void {
    if (row.blob_id) this.ledger.release(row.blob_id, graceUntil);
    if (row.inline_id !== null) this.ledger.releaseInline(row.inline_id);
  }

  /** A new empty root: roots sit in directory 0, named by their id (staging directories of copies sit below 0). */
  newRoot(now: number): number {
    const id = this.allocate();
    this.sql.exec(
      "INSERT INTO nodes (id, parent, name, born, type, mtime) VALUES (?, 0, ?, ?, 'directory', ?)",
      id,
      String(id),
      this.stamp(),
      now,
    );
    return id;
  }

  /** Refuses work on a tree the share does not have. */
  static missingRoot(): FsError {
    return new FsError("ENOENT", "the share has no file tree");
  }
}
