import { invalid } from "../core/errors";
import { compileGlob } from "../core/glob";
import { decodeCursor, encodeCursor } from "../core/ids";
import { type FsPath, ROOT } from "../core/paths";
import type { FileEntry, ListPage } from "../core/types";
import { type FileTree, toEntry } from "./file-tree";
import type { NodeRow, NodeStore } from "./node-store";

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

/** One directory of a depth-first walk: how far its listing got, and its path below the walk's top. */
interface Frame {
  dir: number;
  after: string;
  prefix: string;
  /** Names of the walk's first level are limited to [min, below) (a glob's literal stem). */
  min?: string;
  below?: string;
}

/** A cursor: the directory listed (by node id) and the walk's stack of (directory, last name). */
interface CursorState {
  d: number;
  f: [number, string][];
}

function encodeState(top: number, frames: readonly Frame[]): string {
  const state: CursorState = { d: top, f: frames.map((f) => [f.dir, f.after]) };
  return encodeCursor(JSON.stringify(state));
}

function decodeState(cursor: string): CursorState {
  const text = decodeCursor(cursor);
  let state: unknown;
  try {
    state = text === undefined ? undefined : JSON.parse(text);
  } catch {
    state = undefined;
  }
  const s = state as CursorState | undefined;
  const valid =
    typeof s === "object" &&
    s !== null &&
    Number.isSafeInteger(s.d) &&
    Array.isArray(s.f) &&
    s.f.length <= 4096 &&
    s.f.every(
      (f) =>
        Array.isArray(f) &&
        f.length === 2 &&
        Number.isSafeInteger(f[0]) &&
        typeof f[1] === "string",
    );
  if (!valid) throw invalid("malformed cursor");
  return s;
}

/** Rows fetched per directory step of a walk: small, since a walk descends at the first directory. */
const WALK_BATCH = 64;

/**
 * Listings of one share's tree: a directory page by page, a subtree depth
 * first, or the entries a glob matches. Every page reads only rows it
 * returns or has to skip (bounded for globs), one indexed range per
 * directory visited. A cursor names directories by node id, so it stays
 * valid when entries are renamed meanwhile: a directory moved out of the
 * listing is skipped, everything else continues where it stopped.
 */
export class TreeListing {
  constructor(
    private readonly nodes: NodeStore,
    private readonly tree: FileTree,
  ) {}

  /**
   * Lists a directory (children or whole subtree) or a file, per Modal's
   * rules; at `at`, the tree as it was at that version.
   */
  listPath(
    path: FsPath,
    recursive: boolean,
    limit: number,
    cursor?: string,
    at?: number,
  ): ListPage<FileEntry> {
    const row = this.tree.requireAt(path, at);
    if (row.type === "file") return { entries: [toEntry(row, path, path, true)] };
    const frames = this.resume(row.id, cursor, { dir: row.id, after: "", prefix: "" }, at);
    const entries: FileEntry[] = [];
    const above = path === ROOT ? "/" : `${path}/`;
    const depth = recursive ? Number.POSITIVE_INFINITY : 1;
    for (const { row: r, rel } of this.walk(frames, depth, at)) {
      entries.push(toEntry(r, above + rel, rel, true));
      if (entries.length === limit) break;
    }
    if (entries.length < limit || !this.more(frames, depth, at)) {
      return { entries };
    }
    return { entries, cursor: encodeState(row.id, frames) };
  }

  /**
   * Lists the entries matching a glob, with absolute paths. Only the
   * subtree under the glob's literal prefix is walked (names of its first
   * level limited to the literal stem, depth limited unless the pattern
   * has `**`), so cost follows the match, not the share.
   */
  listGlob(pattern: string, limit: number, cursor?: string, at?: number): ListPage<FileEntry> {
    const glob = compileGlob(pattern);
    const base = at === undefined ? this.tree.get(glob.baseDir) : this.tree.getAt(glob.baseDir, at);
    if (base?.type !== "directory") return { entries: [] };
    const stem = glob.literalPrefix.slice(glob.baseDir === ROOT ? 1 : glob.baseDir.length + 1);
    const rest = glob.pattern.split("/").filter((s) => s !== "").length - depthOf(glob.baseDir);
    const maxDepth = glob.pattern.includes("**") ? Number.POSITIVE_INFINITY : rest;
    const first: Frame = {
      dir: base.id,
      after: "",
      prefix: glob.baseDir === ROOT ? "/" : `${glob.baseDir}/`,
    };
    if (stem !== "") {
      first.min = stem;
      first.below = prefixEnd(stem);
    }
    const frames = this.resume(base.id, cursor, first, at);
    const entries: FileEntry[] = [];
    let scanned = 0;
    for (const { row, rel } of this.walk(frames, maxDepth, at)) {
      scanned++;
      if (glob.matches(rel)) {
        entries.push(toEntry(row, rel, rel, true));
        if (entries.length === limit) break;
      }
      if (scanned >= GLOB_SCAN_BUDGET.rows || glob.steps >= GLOB_SCAN_BUDGET.steps) break;
    }
    return this.more(frames, maxDepth, at)
      ? { entries, cursor: encodeState(base.id, frames) }
      : { entries };
  }

  /**
   * The walk's stack from a cursor: each directory still where it was is
   * kept (its path recomputed: names may have changed above nothing we
   * listed); from the first one that moved or went, the walk continues in
   * its parent after it.
   */
  private resume(top: number, cursor: string | undefined, first: Frame, at?: number): Frame[] {
    if (cursor === undefined) return [first];
    const state = decodeState(cursor);
    if (state.d !== top || state.f.length === 0 || state.f[0]?.[0] !== top) {
      throw invalid("the cursor belongs to another listing (its directory was replaced)");
    }
    const frames: Frame[] = [{ ...first, after: state.f[0][1] }];
    for (const [dir, after] of state.f.slice(1)) {
      const parent = frames[frames.length - 1] as Frame;
      const row = at === undefined ? this.nodes.live(dir) : this.nodes.rowAt(dir, at);
      if (row?.type !== "directory" || row.parent !== parent.dir) break;
      frames.push({ dir, after, prefix: `${parent.prefix}${row.name}/` });
    }
    return frames;
  }

  /**
   * Depth-first, names in order, each directory before its contents. The
   * stack is updated before each entry is handed out, so it is always the
   * exact resume point after that entry.
   */
  private *walk(
    frames: Frame[],
    maxDepth: number,
    at?: number,
  ): Generator<{ row: NodeRow; rel: string }> {
    while (frames.length > 0) {
      const top = frames[frames.length - 1] as Frame;
      const rows =
        at === undefined
          ? this.nodes.children(top.dir, top.after, WALK_BATCH, top.min, top.below)
          : this.nodes.childrenAt(top.dir, at, top.after, WALK_BATCH, top.min, top.below);
      if (rows.length === 0) {
        frames.pop();
        continue;
      }
      for (const row of rows) {
        top.after = row.name;
        const rel = top.prefix + row.name;
        const descend = row.type === "directory" && frames.length < maxDepth;
        if (descend) frames.push({ dir: row.id, after: "", prefix: `${rel}/` });
        yield { row, rel };
        if (descend) break;
      }
    }
  }

  /** Whether the walk from this stack would find another entry. */
  private more(frames: Frame[], maxDepth: number, at?: number): boolean {
    const probe = frames.map((f) => ({ ...f }));
    return !this.walk(probe, maxDepth, at).next().done;
  }
}

const depthOf = (path: FsPath): number => (path === ROOT ? 0 : path.split("/").length - 1);
