import type { KeyItem, KeyPage, KeyQuery } from "../core/backend";
import { checkKeyQuery, compareKeys, keyPrefixEnd } from "../core/key-order";
import { toEntry } from "./file-tree";
import { NODE_COLUMNS, type NodeRow, NodeStore } from "./node-store";
import type { ShareState } from "./share-state";

/**
 * What one key listing call may read before it answers with what it has:
 * rows of `nodes` (each directory listed counts one even when empty, and
 * each step down a startAfter's path one). The ShareDO serves one call at
 * a time, so this bounds how long a listing holds up the share.
 */
export const KEY_SCAN_BUDGET = 10_000;

/** Rows fetched per directory step: small, since the walk descends at the first directory. */
const KEY_BATCH = 64;

/**
 * A child's sort key: its name, and for a directory its name and "/".
 * Siblings in this order, depth first, are the whole keys in S3's order:
 * everything below a child starts with its sort key, and no sibling's sort
 * key starts with a directory's ("x/" would need a "/" in a name), so each
 * child's keys form one run, in the order of the sort keys. SQLite compares
 * TEXT as UTF-8 bytes (BINARY), which is that order. The same expression
 * as the index nodes_live_by_key (schema.ts), so a page is one index range.
 */
export const SORT_KEY = "(CASE WHEN type = 'directory' THEN name || '/' ELSE name END)";

type KeyRow = NodeRow & { sort_key: string };

/** One directory of the walk. */
interface Frame {
  row: NodeRow;
  /** The directory's key: "" for the root, else "a/b/". */
  key: string;
  /** Sort keys up to this one are behind the walk. */
  after: string;
  /** The prefix's level only: sort keys limited to [min, below). */
  min?: string;
  below?: string;
  /**
   * Entered by the walk, nothing of it behind yet: if it holds nothing it
   * is the object "dir/"; if it holds something, its key is a resume point.
   */
  fresh: boolean;
}

/**
 * S3's key listing of a share's latest tree (Backend.listKeys): a depth
 * first walk over siblings in sort-key order, from the prefix's directory,
 * resumed from startAfter by descending its path. Work follows what is
 * returned: rows outside the prefix are never read (the prefix's last
 * segment is an index range), and a scan that runs past its budget answers
 * with `next` at the last key it got past.
 */
export class KeyListing {
  constructor(private readonly s: ShareState) {}

  list(query: KeyQuery, budget = KEY_SCAN_BUDGET): KeyPage {
    const q = checkKeyQuery(query);
    const after = q.startAfter;
    const cut = q.prefix.lastIndexOf("/");
    const baseKey = q.prefix.slice(0, cut + 1);
    const partial = q.prefix.slice(cut + 1);
    // Every key here starts with baseKey; a startAfter past all of those leaves nothing.
    if (!after.startsWith(baseKey) && compareKeys(after, baseKey) > 0) return { items: [] };

    let scanned = 0;
    const mounts = new Set(this.s.mounts.list().map((m) => m.path));
    const isMount = (dirKey: string) => mounts.has(`/${dirKey.slice(0, -1)}`);

    let base = this.s.nodes.live(this.s.tree.rootId());
    if (!base) throw NodeStore.missingRoot();
    for (const name of baseKey.split("/").slice(0, -1)) {
      scanned++;
      base = this.s.nodes.child(base.id, name);
      if (base?.type !== "directory") return { items: [] };
    }
    const first: Frame = {
      row: base,
      key: baseKey,
      after: "",
      // The prefix ends at this directory's key ("a/"): if empty, it is the object "a/".
      fresh: partial === "" && baseKey !== "" && compareKeys(baseKey, after) > 0,
    };
    if (partial !== "") {
      first.min = partial;
      first.below = keyPrefixEnd(partial);
    }
    const frames = [first];

    // Resume: each "name/" of startAfter below the prefix's directory is
    // behind the walk in its parent, and the walk goes on inside it; the
    // last segment is behind in the directory it ends in.
    let rest = after.startsWith(baseKey) ? after.slice(baseKey.length) : "";
    let frame = first;
    while (rest !== "") {
      const slash = rest.indexOf("/");
      if (slash < 0) {
        frame.after = rest;
        break;
      }
      const name = rest.slice(0, slash);
      frame.after = `${name}/`;
      // With delimiter, a directory at the prefix's level is one item, all behind now;
      // outside the prefix, the range says what is behind (everything, or nothing).
      if (q.delimiter || (frame === first && !frame.after.startsWith(partial))) break;
      scanned++;
      const row = this.s.nodes.child(frame.row.id, name);
      const key = `${frame.key}${name}/`;
      if (row?.type !== "directory" || isMount(key)) break;
      frame = { row, key, after: "", fresh: false };
      frames.push(frame);
      rest = rest.slice(slash + 1);
    }

    const items: KeyItem[] = [];
    /** The greatest key the walk got past: where the next call resumes. */
    let last: string | undefined;
    /** Adds an item; true when the page is full, since this one proves more follow. */
    const emit = (item: KeyItem): boolean => {
      if (items.length === q.limit) return true;
      items.push(item);
      last = item.key;
      return false;
    };
    const emptyDir = (row: NodeRow, key: string): KeyItem =>
      isMount(key)
        ? { kind: "mount", key }
        : { kind: "object", key, entry: toEntry(row, `/${key.slice(0, -1)}`) };

    while (frames.length > 0) {
      // Past the budget, stop at a key already got past (the first call always gets one).
      if (last !== undefined && scanned >= budget) return { items, next: last };
      const top = frames[frames.length - 1] as Frame;
      const want = Math.min(KEY_BATCH, q.limit - items.length + 1, Math.max(1, budget - scanned));
      const rows = this.children(top, want);
      scanned += Math.max(1, rows.length);
      if (top.fresh) {
        top.fresh = false;
        if (rows.length === 0) {
          frames.pop();
          if (emit(emptyDir(top.row, top.key))) return { items, next: last };
          continue;
        }
        // It holds something, so "dir/" is no object and all of it sorts after.
        last = top.key;
      }
      if (rows.length === 0) {
        frames.pop();
        continue;
      }
      for (const row of rows) {
        top.after = row.sort_key;
        const key = top.key + row.sort_key;
        let item: KeyItem | undefined;
        if (row.type === "file") {
          item = { kind: "object", key, entry: toEntry(row, `/${key}`) };
        } else if (q.delimiter) {
          item = { kind: "prefix", key };
        } else if (isMount(key)) {
          item = { kind: "mount", key };
        }
        if (item) {
          if (emit(item)) return { items, next: last };
          continue;
        }
        frames.push({ row, key, after: "", fresh: true });
        break;
      }
    }
    return { items };
  }

  /** Live children of the frame's directory past its position, in sort-key order. */
  private children(f: Frame, limit: number): KeyRow[] {
    const min = f.min ?? "";
    // Two statements, so the upper bound is part of the index range, not a filter.
    const rows =
      f.below === undefined
        ? this.s.sql.exec<KeyRow>(
            `SELECT ${NODE_COLUMNS}, ${SORT_KEY} AS sort_key FROM nodes
             WHERE parent = ? AND died IS NULL AND ${SORT_KEY} > ? AND ${SORT_KEY} >= ?
             ORDER BY ${SORT_KEY} LIMIT ?`,
            f.row.id,
            f.after,
            min,
            limit,
          )
        : this.s.sql.exec<KeyRow>(
            `SELECT ${NODE_COLUMNS}, ${SORT_KEY} AS sort_key FROM nodes
             WHERE parent = ? AND died IS NULL AND ${SORT_KEY} > ? AND ${SORT_KEY} >= ?
               AND ${SORT_KEY} < ? ORDER BY ${SORT_KEY} LIMIT ?`,
            f.row.id,
            f.after,
            min,
            f.below,
            limit,
          );
    return rows.toArray();
  }
}
