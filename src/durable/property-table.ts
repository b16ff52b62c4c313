import { FsError } from "../core/errors";
import { type FsPath, subtreeRange } from "../core/paths";
import type { DeadProperty, PropertyChange } from "../core/properties";

/** Bounds that keep one resource's properties a small metadata row set. */
export const PROPERTY_LIMITS = { valueBytes: 64 * 1024, perResource: 256 } as const;

interface PropertyRow {
  path: string;
  ns: string;
  name: string;
  value: string;
  lang: string | null;
  [key: string]: SqlStorageValue;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).byteLength;

/**
 * Dead properties of a share's files and directories, keyed by path. They
 * belong to the entry: FileTree drops, renames and copies them together
 * with the entries, in the same transaction, so a property never outlives
 * its file or stays behind after a move.
 */
export class PropertyTable {
  constructor(private readonly sql: SqlStorage) {}

  /** The properties of each path that has any. */
  of(paths: readonly FsPath[]): Map<string, DeadProperty[]> {
    const rows = this.sql
      .exec<PropertyRow>(
        `SELECT path, ns, name, value, lang FROM properties
         WHERE path IN (SELECT value FROM json_each(?)) ORDER BY path, ns, name`,
        JSON.stringify(paths),
      )
      .toArray();
    const out = new Map<string, DeadProperty[]>();
    for (const r of rows) {
      const list = out.get(r.path) ?? [];
      list.push({ ns: r.ns, name: r.name, value: r.value, lang: r.lang });
      out.set(r.path, list);
    }
    return out;
  }

  /** Applies the changes in order; the caller's transaction makes them all-or-nothing. */
  apply(path: FsPath, changes: readonly PropertyChange[]): void {
    for (const change of changes) {
      if (change.op === "remove") {
        this.sql.exec(
          "DELETE FROM properties WHERE path = ? AND ns = ? AND name = ?",
          path,
          change.ns,
          change.name,
        );
        continue;
      }
      if (utf8Length(change.value) > PROPERTY_LIMITS.valueBytes) {
        throw new FsError(
          "ETOOLARGE",
          `property {${change.ns}}${change.name} is over ${PROPERTY_LIMITS.valueBytes} bytes`,
          path,
        );
      }
      this.sql.exec(
        `INSERT INTO properties (path, ns, name, value, lang) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (path, ns, name) DO UPDATE SET value = excluded.value, lang = excluded.lang`,
        path,
        change.ns,
        change.name,
        change.value,
        change.lang,
      );
    }
    const count = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM properties WHERE path = ?", path)
      .one().n;
    if (count > PROPERTY_LIMITS.perResource) {
      throw new FsError(
        "ETOOLARGE",
        `more than ${PROPERTY_LIMITS.perResource} properties on one resource`,
        path,
      );
    }
  }

  /** Forgets the properties of `path` and everything below it. */
  dropSubtree(path: FsPath): void {
    const [lo, hi] = subtreeRange(path);
    this.sql.exec(
      "DELETE FROM properties WHERE path = ? OR (path >= ? AND path < ?)",
      path,
      lo,
      hi,
    );
  }

  /** Re-keys the properties of a moved subtree (the destination's are gone first). */
  moveSubtree(from: FsPath, to: FsPath): void {
    this.dropSubtree(to);
    const [lo, hi] = subtreeRange(from);
    this.sql.exec(
      `UPDATE properties SET path = CASE WHEN path = ?1 THEN ?2 ELSE ?2 || substr(path, ?3) END
       WHERE path = ?1 OR (path >= ?4 AND path < ?5)`,
      from,
      to,
      from.length + 1,
      lo,
      hi,
    );
  }

  /** Copies the properties of a subtree onto its copy (the destination's are gone first). */
  copySubtree(from: FsPath, to: FsPath, recursive: boolean): void {
    this.dropSubtree(to);
    const [lo, hi] = subtreeRange(from);
    this.sql.exec(
      `INSERT INTO properties (path, ns, name, value, lang)
       SELECT CASE WHEN path = ?1 THEN ?2 ELSE ?2 || substr(path, ?3) END, ns, name, value, lang
       FROM properties WHERE path = ?1 OR (?6 AND path >= ?4 AND path < ?5)`,
      from,
      to,
      from.length + 1,
      lo,
      hi,
      recursive ? 1 : 0,
    );
  }

  clear(): void {
    this.sql.exec("DELETE FROM properties");
  }
}
