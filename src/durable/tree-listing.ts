import { invalid } from "../core/errors";
import { compileGlob } from "../core/glob";
import { decodeCursor, encodeCursor } from "../core/ids";
import { baseName, type FsPath, ROOT, relativeTo, subtreeRange } from "../core/paths";
import type { FileEntry, ListPage } from "../core/types";
import { COLUMNS, type EntryRow, type FileTree, toEntry } from "./file-tree";

/** The smallest string greater than every string that starts with `prefix`. */
function prefixEnd(prefix: string): string {
  const chars = Array.from(prefix);
  while (chars.length > 0) {
    const last = chars.pop() as string;
    const cp = last.codePointAt(0) as number;
    if (cp < 0x10ffff) return chars.join("") + String.fromCodePoint(cp + 1);
  }
  return "\u{10ffff}\u{10ffff}";
}

/**
 * What one glob page may spend before it returns a cursor, matches or not:
 * candidate rows read, and matching steps (glob.ts counts them; a row costs
 * at most pattern × path steps). The ShareDO serves one call at a time, so
 * these bound how long a glob can hold up everything else on the share.
 */
export const GLOB_SCAN_BUDGET = { rows: 10_000, steps: 2_000_000 } as const;

/**
 * Listings of one share's tree: a directory page by page, or the entries a
 * glob matches. Read-only SQL over the same `entries` rows as FileTree, one
 * bounded page per call, each resumable from its cursor.
 */
export class TreeListing {
  constructor(
    private readonly sql: SqlStorage,
    private readonly tree: FileTree,
  ) {}

  /** Lists a directory (children or whole subtree) or a file, per Modal's rules. */
  listPath(path: FsPath, recursive: boolean, limit: number, cursor?: string): ListPage<FileEntry> {
    const row = this.tree.require(path);
    if (row.type === "file") return { entries: [toEntry(row, path)] };
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && after === undefined) throw invalid("malformed cursor");
    let rows: EntryRow[];
    if (recursive) {
      const [lo, hi] = subtreeRange(path);
      rows = this.sql
        .exec<EntryRow>(
          `SELECT ${COLUMNS} FROM entries WHERE path >= ? AND path < ? AND path > ? ORDER BY path LIMIT ?`,
          lo,
          hi,
          after ?? "",
          limit + 1,
        )
        .toArray();
    } else {
      rows = this.sql
        .exec<EntryRow>(
          `SELECT ${COLUMNS} FROM entries WHERE parent = ? AND name > ? ORDER BY name LIMIT ?`,
          path,
          after ?? "",
          limit + 1,
        )
        .toArray();
    }
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const entries = page.map((r) => toEntry(r, relativeTo(r.path as FsPath, path)));
    const last = page[page.length - 1];
    if (!more || !last) return { entries };
    return { entries, cursor: encodeCursor(recursive ? last.path : baseName(last.path as FsPath)) };
  }

  /**
   * Lists the entries matching a glob, with absolute paths. Only the subtree
   * under the glob's literal prefix is read (one directory's index range when
   * the wildcards sit in the last segment), so cost follows the match, not
   * the share.
   */
  listGlob(pattern: string, limit: number, cursor?: string): ListPage<FileEntry> {
    const glob = compileGlob(pattern);
    const after = cursor === undefined ? "" : decodeCursor(cursor);
    if (after === undefined) throw invalid("malformed cursor");
    const entries: FileEntry[] = [];
    let scanned = 0;
    let position = after;
    const batch = Math.min(Math.max(limit, 100), 1000);
    // Within one directory, names sort as their paths do; the name index is the cheap one.
    const stem = glob.literalPrefix.slice(glob.baseDir === ROOT ? 1 : glob.baseDir.length + 1);
    for (;;) {
      const rows = glob.singleLevel
        ? this.sql
            .exec<EntryRow>(
              `SELECT ${COLUMNS} FROM entries WHERE parent = ? AND name >= ? AND name < ? AND name > ?
               ORDER BY name LIMIT ?`,
              glob.baseDir,
              stem,
              prefixEnd(stem),
              position === "" ? "" : baseName(position as FsPath),
              batch,
            )
            .toArray()
        : this.sql
            .exec<EntryRow>(
              `SELECT ${COLUMNS} FROM entries WHERE path >= ? AND path < ? AND path > ? ORDER BY path LIMIT ?`,
              glob.literalPrefix,
              prefixEnd(glob.literalPrefix),
              position,
              batch,
            )
            .toArray();
      for (const row of rows) {
        position = row.path;
        scanned++;
        if (glob.matches(row.path)) {
          entries.push(toEntry(row, row.path));
          if (entries.length === limit) return this.globPage(entries, glob, position);
        }
        if (scanned >= GLOB_SCAN_BUDGET.rows || glob.steps >= GLOB_SCAN_BUDGET.steps) {
          return this.globPage(entries, glob, position);
        }
      }
      if (rows.length < batch) return { entries };
    }
  }

  /** A full (or out of budget) glob page: a cursor only if another match may follow. */
  private globPage(
    entries: FileEntry[],
    glob: { literalPrefix: string },
    position: string,
  ): ListPage<FileEntry> {
    const next = this.sql
      .exec(
        "SELECT 1 FROM entries WHERE path > ? AND path < ? LIMIT 1",
        position,
        prefixEnd(glob.literalPrefix),
      )
      .toArray();
    return next.length > 0 ? { entries, cursor: encodeCursor(position) } : { entries };
  }
}
