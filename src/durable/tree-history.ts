import type { FsPath } from "../core/paths";
import { ROOT } from "../core/paths";
import type { HistoryPage, PathVersion } from "../core/types";
import { NODE_COLUMNS, type NodeRow } from "./node-store";

/** A row that stood at the path being traced, during versions [from, to) (to null: still there). */
interface Span {
  row: NodeRow;
  from: number;
  to: number | null;
}

const segments = (path: FsPath): string[] => (path === ROOT ? [] : path.slice(1).split("/"));

/** Where the spans of a row and its directory's span overlap: the versions the row stood at the path. */
function overlap(row: NodeRow, parent: Pick<Span, "from" | "to">): Span | undefined {
  const from = Math.max(row.born, parent.from);
  const ends = [row.died, parent.to].filter((v): v is number => v !== null);
  const to = ends.length > 0 ? Math.min(...ends) : null;
  return to === null || to > from ? { row, from, to } : undefined;
}

/**
 * The history of one path: every version of what stood at it that the
 * share still keeps (rows live now, and dead rows the retention window or
 * a snapshot keeps: version-window.ts), newest first.
 *
 * A path names different nodes over time (a directory above it renamed
 * away and another put in its place; a file deleted and made again), so
 * it is traced from the roots down, segment by segment: at each level the
 * rows named so in any directory that stood at the path above, each kept
 * for the versions both it and its directory stood there. The last level
 * gives the versions; where one ends and no other starts, the path was
 * deleted. Each level costs an indexed lookup per directory span above
 * it; the last one reads at most a page of rows per span.
 */
export class TreeHistory {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Versions of `path` before `before` (a page's cursor), newest first, at
   * most `limit`; `firstVersion` is where this share's incarnation began.
   */
  of(path: FsPath, limit: number, before: number | undefined, firstVersion: number): HistoryPage {
    const names = segments(path);
    let spans = this.roots(firstVersion);
    names.forEach((name, i) => {
      const last = i === names.length - 1;
      spans = spans
        .filter((s) => s.row.type === "directory")
        .flatMap((s) =>
          this.rowsNamed(s.row.id, name, s, last ? before : undefined, last ? limit + 1 : undefined)
            .map((row) => overlap(row, s))
            .filter((x): x is Span => x !== undefined),
        );
    });
    return page(merge(spans), limit, before);
  }

  /** The roots of this incarnation of the share (an `rm -r /` makes a new one). */
  private roots(firstVersion: number): Span[] {
    // Two statements, one per partial index (live rows, dead ones).
    const rows = ["died IS NULL", "died IS NOT NULL"].flatMap((alive) =>
      this.sql
        .exec<NodeRow>(
          `SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = 0 AND ${alive} AND born >= ?`,
          firstVersion,
        )
        .toArray(),
    );
    return rows.map((row) => ({ row, from: row.born, to: row.died }));
  }

  /**
   * Rows named `name` in directory `dir` that overlap the directory's span
   * (born before it ends, dead after it starts or live); on the last level
   * only those born before `before`, newest first, `limit` of each kind.
   */
  private rowsNamed(
    dir: number,
    name: string,
    span: Span,
    before: number | undefined,
    limit: number | undefined,
  ): NodeRow[] {
    const bornBelow = Math.min(
      span.to ?? Number.MAX_SAFE_INTEGER,
      before ?? Number.MAX_SAFE_INTEGER,
    );
    const live = this.sql
      .exec<NodeRow>(
        `SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = ? AND name = ? AND died IS NULL AND born < ?`,
        dir,
        name,
        bornBelow,
      )
      .toArray();
    const dead = this.sql
      .exec<NodeRow>(
        `SELECT ${NODE_COLUMNS} FROM nodes WHERE parent = ? AND name = ? AND died IS NOT NULL
         AND born < ? AND died > ? ORDER BY born DESC LIMIT ?`,
        dir,
        name,
        bornBelow,
        span.from,
        limit ?? -1,
      )
      .toArray();
    return [...live, ...dead];
  }
}

/** Spans of the same row that meet (its directory's row changed, the row did not) are one. */
function merge(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.from - b.from);
  const out: Span[] = [];
  for (const s of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.row.row === s.row.row && prev.to === s.from) prev.to = s.to;
    else out.push({ ...s });
  }
  return out;
}

/** The page of versions before `before`, newest first: each span's start, and the deletions between them. */
function page(spans: Span[], limit: number, before: number | undefined): HistoryPage {
  const starts = new Set(spans.map((s) => s.from));
  const versions: PathVersion[] = [];
  for (const s of spans) {
    versions.push(describe(s.row, s.from));
    if (s.to !== null && !starts.has(s.to)) {
      versions.push({ ...describe(s.row, s.to), deleted: true });
    }
  }
  const ordered = versions
    .filter((v) => before === undefined || v.version < before)
    .sort((a, b) => b.version - a.version);
  const shown = ordered.slice(0, limit);
  const last = shown[shown.length - 1];
  return ordered.length > limit && last
    ? { versions: shown, cursor: String(last.version) }
    : { versions: shown };
}

function describe(row: NodeRow, version: number): PathVersion {
  const v: PathVersion = { version, type: row.type, size: row.size, mtime: row.mtime };
  if (row.etag !== null) v.etag = row.etag;
  return v;
}
