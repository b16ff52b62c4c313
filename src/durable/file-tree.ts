import { decodeAttributes } from "../core/attributes";
import type { Overwrite } from "../core/backend";
import { FsError, invalid, notFound } from "../core/errors";
import { baseName, type FsPath, isWithin, ROOT } from "../core/paths";
import type { FileEntry } from "../core/types";
import type { BlobLedger } from "./blob-ledger";
import { type NodeRow, NodeStore } from "./node-store";
import type { PropertyTable } from "./property-table";
import { type CopyJob, overwriteOf, type TreeCopy } from "./tree-copy";
import type { TreeReclaim } from "./tree-reclaim";
import { NO_USAGE, plus, type TreeUsage, type Usage } from "./tree-usage";

export type { NodeRow as EntryRow } from "./node-store";

/** The version a new file gets, and where its bytes are. */
export interface FileVersion {
  size: number;
  etag: string;
  blobId: string | null;
  data: ArrayBuffer | null;
  /** Its attributes, encoded (core/attributes.ts), or null. */
  attrs: string | null;
}

/** A node found by path, with the ids of the directories above it (root first). */
export interface Resolved {
  node: NodeRow;
  chain: number[];
}

/**
 * The entry of a row at `absolutePath`, shown as `path` (a listing's
 * relative name). A listing's entries (`lean`) leave out user metadata,
 * which keeps pages small; the content type costs nothing and stays.
 */
export function toEntry(
  row: NodeRow,
  absolutePath: string,
  path = absolutePath,
  lean = false,
): FileEntry {
  const e: FileEntry = { path, absolutePath, type: row.type, size: row.size, mtime: row.mtime };
  if (row.etag !== null) e.etag = row.etag;
  if (row.attrs !== null) {
    const a = decodeAttributes(row.attrs);
    if (a.contentType !== undefined) e.contentType = a.contentType;
    if (a.metadata !== undefined && !lean) e.metadata = a.metadata;
  }
  return e;
}

/** What a node adds to the totals of the directories above it. */
function weight(row: NodeRow, below: Usage): Usage {
  return row.type === "directory"
    ? plus(below, { files: 0, dirs: 1, bytes: 0, inlineBytes: 0 })
    : {
        files: 1,
        dirs: 0,
        bytes: row.size,
        inlineBytes: row.inline_id !== null ? row.size : 0,
      };
}

const segments = (path: FsPath): string[] => (path === ROOT ? [] : path.slice(1).split("/"));

/** Whether a copy of this many rows is done within the request instead of in batches. */
export type CopyOutcome =
  | { entry: FileEntry; job?: undefined }
  | { job: CopyJob; entry?: undefined };

/**
 * The file tree of one share, by path. A path resolves from the share's
 * root node down, one indexed lookup per segment, so stat costs O(depth);
 * a rename rewrites one row; deleting or copying a subtree touches at most
 * a fixed budget of rows in the request (`batchRows`) — the rest is
 * queued for bounded background batches (tree-reclaim.ts, tree-copy.ts),
 * and the change is visible to every reader at once either way. Totals per
 * directory (tree-usage.ts) and quotas move in the same transaction.
 */
export class FileTree {
  constructor(
    private readonly sql: SqlStorage,
    readonly nodes: NodeStore,
    private readonly ledger: BlobLedger,
    private readonly props: PropertyTable,
    readonly usage: TreeUsage,
    private readonly reclaim: TreeReclaim,
    private readonly copies: TreeCopy,
    private readonly batchRows: number,
  ) {}

  /** The root node of the live share's tree. */
  rootId(): number {
    const row = this.sql.exec<{ root_id: number | null }>("SELECT root_id FROM share").toArray()[0];
    if (!row || row.root_id === null) throw NodeStore.missingRoot();
    return row.root_id;
  }

  /** A new empty tree for a share being created. */
  plant(now: number): void {
    const root = this.nodes.newRoot(now);
    this.usage.open(root);
    // Versions before this one belong to an earlier share of the same name.
    this.sql.exec("UPDATE share SET root_id = ?, first_version = ?", root, this.nodes.stamp());
  }

  resolve(path: FsPath): Resolved | undefined {
    const rootId = this.rootId();
    let node = this.nodes.live(rootId);
    if (!node) throw NodeStore.missingRoot();
    const chain: number[] = [];
    for (const name of segments(path)) {
      if (node.type !== "directory") return undefined;
      const child = this.nodes.child(node.id, name);
      if (!child) return undefined;
      chain.push(node.id);
      node = child;
    }
    return { node, chain };
  }

  get(path: FsPath): NodeRow | undefined {
    return this.resolve(path)?.node;
  }

  /** The node at `path` as it was at `version` (a readable one: see version-window.ts). */
  getAt(path: FsPath, version: number): NodeRow | undefined {
    let node = this.nodes.rootAt(version);
    for (const name of segments(path)) {
      if (node?.type !== "directory") return undefined;
      node = this.nodes.childAt(node.id, name, version);
    }
    return node;
  }

  /** `get` at the latest version, or at `version`; ENOENT if missing. */
  requireAt(path: FsPath, version?: number): NodeRow {
    const row = version === undefined ? this.get(path) : this.getAt(path, version);
    if (!row) throw notFound(path);
    return row;
  }

  require(path: FsPath): NodeRow {
    return this.requireResolved(path).node;
  }

  private requireResolved(path: FsPath): Resolved {
    const r = this.resolve(path);
    if (!r) throw notFound(path);
    return r;
  }

  /** A small file's bytes: one indexed lookup, within the read's object call. */
  inlineData(row: NodeRow): ArrayBuffer | null {
    if (row.inline_id === null) return null;
    const data = this.sql
      .exec<{ data: ArrayBuffer }>("SELECT data FROM inline_data WHERE id = ?", row.inline_id)
      .toArray()[0];
    return data?.data ?? null;
  }

  entry(path: FsPath): FileEntry {
    return toEntry(this.require(path), path);
  }

  /** The share's totals, quota and what copies in progress have reserved. */
  private admit(delta: Usage, path: FsPath): void {
    const q = this.sql
      .exec<{ quota_bytes: number | null; quota_files: number | null }>(
        "SELECT quota_bytes, quota_files FROM share",
      )
      .one();
    this.usage.admit(
      this.usage.of(this.rootId()),
      delta,
      { bytes: q.quota_bytes, files: q.quota_files },
      this.copies.reserved(),
      path,
    );
  }

  /** `mkdir -p` for the parents of `path`; ENOTDIR if one of them is a file. Returns the parent. */
  ensureParents(path: FsPath, now: number): Resolved {
    const root = this.nodes.live(this.rootId());
    if (!root) throw NodeStore.missingRoot();
    let here: Resolved = { node: root, chain: [] };
    const names = segments(path).slice(0, -1);
    let at = "";
    for (const name of names) {
      at += `/${name}`;
      const chain = [...here.chain, here.node.id];
      const child = this.nodes.child(here.node.id, name);
      if (child?.type === "file") {
        throw new FsError("ENOTDIR", `not a directory: ${at}`, at);
      }
      here = { node: child ?? this.insertDirectory(here, name, at as FsPath, now), chain };
    }
    return here;
  }

  private insertDirectory(parent: Resolved, name: string, path: FsPath, now: number): NodeRow {
    const delta = { files: 0, dirs: 1, bytes: 0, inlineBytes: 0 };
    this.admit(delta, path);
    const row = this.nodes.insert(this.nodes.allocate(), parent.node.id, name, {
      type: "directory",
      size: 0,
      mtime: now,
      etag: null,
      blob_id: null,
      inline_id: null,
      attrs: null,
    });
    this.usage.open(row.id);
    this.usage.add([...parent.chain, parent.node.id], delta);
    return row;
  }

  /** `mkdir -p path`. Returns whether the directory is new. */
  mkdir(path: FsPath, now: number): boolean {
    if (path === ROOT) return false;
    const parent = this.ensureParents(path, now);
    const row = this.nodes.child(parent.node.id, baseName(path));
    if (row?.type === "file") throw new FsError("ENOTDIR", `a file exists at ${path}`, path);
    if (row) return false;
    this.insertDirectory(parent, baseName(path), path, now);
    return true;
  }

  /** Whether a small file of `size` bytes may be kept inline (the share is not near its storage budget). */
  inlineAllowed(): boolean {
    return this.usage.inlineAllowed();
  }

  /**
   * Points `path` at a new version, replacing any older one (whose blob is
   * released for GC after `graceUntil`, whose inline bytes lose a reference).
   * Inline bytes are stored once here; copies only add references. An empty
   * file stores nothing. The node keeps its id (and properties) across
   * versions. Returns whether the file is new.
   */
  putFile(path: FsPath, v: FileVersion, now: number, graceUntil: number): boolean {
    if (path === ROOT) throw new FsError("EISDIR", "the root is a directory", path);
    const parent = this.ensureParents(path, now);
    const name = baseName(path);
    const old = this.nodes.child(parent.node.id, name);
    if (old?.type === "directory") throw new FsError("EISDIR", `is a directory: ${path}`, path);
    const inline = v.data !== null && v.data.byteLength > 0;
    const delta: Usage = {
      files: old ? 0 : 1,
      dirs: 0,
      bytes: v.size - (old?.size ?? 0),
      inlineBytes: (inline ? v.size : 0) - (old?.inline_id != null ? old.size : 0),
    };
    this.admit(delta, path);
    const inlineId = inline ? this.ledger.keepInline(v.data as ArrayBuffer) : null;
    if (old) this.nodes.retire(old, graceUntil);
    this.nodes.insert(old?.id ?? this.nodes.allocate(), parent.node.id, name, {
      type: "file",
      size: v.size,
      mtime: now,
      etag: v.etag,
      blob_id: v.blobId,
      inline_id: inlineId,
      attrs: v.attrs,
    });
    this.usage.add([...parent.chain, parent.node.id], delta);
    return old === undefined;
  }

  hasChildren(path: FsPath): boolean {
    const row = this.get(path);
    return row !== undefined && this.nodes.hasChildren(row.id);
  }

  /** Deletes a file or a directory (its whole subtree with `recursive`). */
  remove(path: FsPath, recursive: boolean, graceUntil: number): void {
    const r = this.requireResolved(path);
    if (r.node.type === "directory" && !recursive && this.nodes.hasChildren(r.node.id)) {
      throw new FsError("ENOTEMPTY", `directory not empty: ${path}`, path);
    }
    if (path !== ROOT) this.unlink(r, graceUntil);
    else if (this.nodes.hasChildren(r.node.id)) this.replaceRoot(r.node, graceUntil);
  }

  /**
   * Takes a node out of the tree with everything below it. The totals of
   * its ancestors drop at once; a directory's descendants are reclaimed
   * now if they fit one batch, otherwise by the alarm.
   */
  private unlink({ node, chain }: Resolved, graceUntil: number): void {
    const below = node.type === "directory" ? this.usage.of(node.id) : NO_USAGE;
    this.usage.add(chain, plus(NO_USAGE, weight(node, below), -1));
    this.nodes.retire(node, graceUntil);
    if (node.type === "file") {
      this.props.dropNode(node.id);
      return;
    }
    this.reclaim.doom(node.id, this.nodes.stamp(), graceUntil, node.born);
    this.reclaimIfSmall(below, graceUntil);
  }

  /** A subtree that fits one batch is reclaimed within the change (each directory costs a row too). */
  private reclaimIfSmall(below: Usage, graceUntil: number): void {
    if (below.files + below.dirs < this.batchRows) {
      this.reclaim.step(2 * this.batchRows + 2, graceUntil);
    }
  }

  /** `rm -r /`: the share gets a new empty root (same mtime and properties), the old tree is reclaimed. */
  private replaceRoot(old: NodeRow, graceUntil: number): void {
    const below = this.usage.of(old.id);
    const root = this.nodes.newRoot(old.mtime);
    this.usage.open(root);
    this.props.copyNode(old.id, root);
    this.sql.exec("UPDATE share SET root_id = ?", root);
    this.nodes.retire(old, graceUntil);
    this.reclaim.doom(old.id, this.nodes.stamp(), graceUntil, old.born);
    this.reclaimIfSmall(below, graceUntil);
  }

  /** Share deletion: the whole tree leaves at once and is reclaimed in batches; copies in progress end. */
  drop(graceUntil: number): void {
    for (const job of this.sql.exec<CopyJob>("SELECT * FROM copy_jobs").toArray()) {
      this.abandonCopy(job, graceUntil);
    }
    const rootId = this.rootId();
    const below = this.usage.of(rootId);
    const root = this.nodes.live(rootId);
    if (root) this.nodes.retire(root, graceUntil);
    this.reclaim.doom(rootId, this.nodes.stamp(), graceUntil, root?.born ?? 0);
    this.sql.exec("UPDATE share SET root_id = NULL");
    this.reclaimIfSmall(below, graceUntil);
  }

  /**
   * Decides what happens to an existing destination of a move or copy, with
   * rename(2)'s rules: a file replaces a file, a directory replaces an empty
   * directory; anything else is an error. With "any", whatever is there goes.
   */
  private checkDestination(
    srcType: NodeRow["type"],
    to: FsPath,
    overwrite: Overwrite,
  ): Resolved | undefined {
    const dst = this.resolve(to);
    if (!dst) return undefined;
    if (to === ROOT) throw new FsError("EEXIST", "the root already exists", to);
    if (!overwrite) throw new FsError("EEXIST", `destination exists: ${to}`, to);
    if (overwrite !== "any") {
      if (srcType === "file" && dst.node.type === "directory") {
        throw new FsError("EISDIR", `destination is a directory: ${to}`, to);
      }
      if (srcType === "directory" && dst.node.type === "file") {
        throw new FsError("ENOTDIR", `destination is a file: ${to}`, to);
      }
      if (dst.node.type === "directory" && this.nodes.hasChildren(dst.node.id)) {
        throw new FsError("ENOTEMPTY", `destination directory not empty: ${to}`, to);
      }
    }
    return dst;
  }

  private clearDestination(
    srcType: NodeRow["type"],
    to: FsPath,
    overwrite: Overwrite,
    graceUntil: number,
  ): void {
    const dst = this.checkDestination(srcType, to, overwrite);
    if (dst) this.unlink(dst, graceUntil);
  }

  private checkMoveOrCopy(from: FsPath, to: FsPath, verb: string): Resolved {
    if (from === ROOT) throw invalid(`cannot ${verb} the root directory`, from);
    const src = this.requireResolved(from);
    if (from !== to && isWithin(to, from)) {
      throw invalid(`cannot ${verb} a directory into itself: ${from} -> ${to}`, to);
    }
    if (from !== to && isWithin(from, to) && this.get(to)) {
      throw invalid(`cannot ${verb} ${from} over its own ancestor ${to}`, to);
    }
    return src;
  }

  /** Renames a file or a subtree: one row changes, whatever lies below it. */
  move(from: FsPath, to: FsPath, overwrite: Overwrite, now: number, graceUntil: number): FileEntry {
    const src = this.checkMoveOrCopy(from, to, "move");
    if (from === to) return toEntry(src.node, to);
    const parent = this.ensureParents(to, now);
    this.clearDestination(src.node.type, to, overwrite, graceUntil);
    const below = src.node.type === "directory" ? this.usage.of(src.node.id) : NO_USAGE;
    const w = weight(src.node, below);
    this.usage.add(src.chain, plus(NO_USAGE, w, -1));
    const moved = this.nodes.relocate(src.node, parent.node.id, baseName(to));
    this.usage.add([...parent.chain, parent.node.id], w);
    if (moved.type === "directory")
      this.reclaim.movedIn([...parent.chain, parent.node.id], moved.id);
    return toEntry(moved, to);
  }

  /**
   * Copies a file or a subtree: rows only. R2 blobs and inline bytes alike are
   * shared by reference, so a copy's storage cost does not grow with its bytes.
   * A subtree that fits one batch is copied here; a bigger one becomes a copy
   * job (tree-copy.ts) that the caller waits for.
   */
  copy(
    from: FsPath,
    to: FsPath,
    opts: { recursive: boolean; overwrite: Overwrite; attrs?: string | null },
    held: readonly string[],
    now: number,
    graceUntil: number,
  ): CopyOutcome {
    const src = this.checkMoveOrCopy(from, to, "copy");
    if (from === to && opts.attrs === undefined) {
      throw invalid("source and destination are the same", to);
    }
    if (src.node.type === "directory" && !opts.recursive) {
      throw new FsError("EISDIR", `${from} is a directory: copy it with recursive`, from);
    }
    if (src.node.type === "directory" && opts.attrs !== undefined) {
      throw invalid(`${from} is a directory: only a file's copy can replace attributes`, from);
    }
    if (from === to) {
      return { entry: this.replaceAttributes(src, to, opts.attrs ?? null, now, graceUntil) };
    }
    // Fail fast on what linking would refuse; linking judges again.
    this.checkDestination(src.node.type, to, opts.overwrite);
    if (src.node.type === "file") {
      const file = opts.attrs === undefined ? src.node : { ...src.node, attrs: opts.attrs };
      return { entry: this.copyFile(file, to, opts.overwrite, now, now, graceUntil) };
    }
    const below = this.usage.of(src.node.id);
    const totals = weight(src.node, below);
    this.admit(totals, to);
    const job = this.copies.start(src.node, to, opts.overwrite, held, totals, now);
    if (below.files + below.dirs >= this.batchRows) return { job };
    // Each directory costs a row of the budget too: room for both.
    const { complete } = this.copies.step(2 * this.batchRows + 2, job.id);
    if (!complete.some((j) => j.id === job.id)) return { job };
    return { entry: this.linkCopy(job, now, graceUntil) };
  }

  /**
   * A file copied onto itself with new attributes (S3's way to change them):
   * a new version of the same node, same bytes and ETag, modified now. Its
   * bytes gain the new row's reference before the old row lets go of its.
   */
  private replaceAttributes(
    { node, chain }: Resolved,
    path: FsPath,
    attrs: string | null,
    now: number,
    graceUntil: number,
  ): FileEntry {
    this.nodes.addRefs(node, 1);
    this.nodes.retire(node, graceUntil);
    const row = this.nodes.insert(node.id, chain[chain.length - 1] as number, node.name, {
      ...node,
      mtime: now,
      attrs,
    });
    return toEntry(row, path);
  }

  /** A file's copy at `to`, modified at `mtime` (a copy's: now; a restore's: the old file's). */
  private copyFile(
    src: NodeRow,
    to: FsPath,
    overwrite: Overwrite,
    mtime: number,
    now: number,
    graceUntil: number,
  ): FileEntry {
    const parent = this.ensureParents(to, now);
    this.clearDestination("file", to, overwrite, graceUntil);
    const w = weight(src, NO_USAGE);
    this.admit(w, to);
    const id = this.nodes.allocate();
    const row = this.nodes.insert(id, parent.node.id, baseName(to), { ...src, mtime });
    this.nodes.addRefs(src, 1);
    this.props.copyNode(src.id, id);
    this.usage.add([...parent.chain, parent.node.id], w);
    return toEntry(row, to);
  }

  /**
   * The last step of a copy job: its staging directory becomes `to` in one
   * row update, replacing what the rules allow, so readers see the whole
   * copy at once. The job's pin and reservation end first.
   */
  linkCopy(job: CopyJob, now: number, graceUntil: number): FileEntry {
    this.copies.end(job);
    const to = job.to_path as FsPath;
    const staging = this.nodes.live(job.staging);
    if (!staging) throw new FsError("EINTERNAL", `copy ${job.id} lost its staging directory`, to);
    const totals = weight(staging, this.usage.of(staging.id));
    if (to === ROOT) return this.linkRoot(staging, totals, graceUntil);
    const parent = this.ensureParents(to, now);
    this.clearDestination("directory", to, overwriteOf(job), graceUntil);
    // A copy reserved its totals when it started; a restore is judged now.
    if (job.restore) this.admit(totals, to);
    const linked = this.nodes.relocate(staging, parent.node.id, baseName(to));
    this.usage.add([...parent.chain, parent.node.id], totals);
    return toEntry(linked, to);
  }

  /** A restore of the whole tree: the restored copy becomes the share's root, the old tree is reclaimed. */
  private linkRoot(staging: NodeRow, totals: Usage, graceUntil: number): FileEntry {
    const old = this.nodes.live(this.rootId());
    if (!old) throw NodeStore.missingRoot();
    const replaced = weight(old, this.usage.of(old.id));
    this.admit(plus(totals, replaced, -1), ROOT);
    const root = this.nodes.relocate(staging, 0, String(staging.id));
    this.sql.exec("UPDATE share SET root_id = ?", root.id);
    this.nodes.retire(old, graceUntil);
    this.reclaim.doom(old.id, this.nodes.stamp(), graceUntil, old.born);
    this.reclaimIfSmall(replaced, graceUntil);
    return toEntry(root, ROOT);
  }

  /**
   * Brings back what stood at `from` at `version` (a readable one: a file
   * or a whole subtree, metadata only — the rows come back referencing
   * the bytes the old rows kept, with their old mtimes and ETags) at `to`,
   * replacing whatever is there now, as one change. A subtree is a copy
   * job reading the old version, which it pins until it links: one that
   * fits a batch is done here, a bigger one is waited for like a copy.
   */
  restore(
    from: FsPath,
    version: number,
    to: FsPath,
    held: readonly string[],
    now: number,
    graceUntil: number,
  ): CopyOutcome {
    const src = this.getAt(from, version);
    if (!src) throw new FsError("ENOENT", `${from} did not exist at version ${version}`, from);
    if (src.type === "file") {
      if (to === ROOT) throw new FsError("EISDIR", "the root is a directory", to);
      return { entry: this.copyFile(src, to, "any", src.mtime, now, graceUntil) };
    }
    // The destination's parents must be directories; what the restore replaces is judged when it links.
    if (to !== ROOT) this.ensureParents(to, now);
    const job = this.copies.start(src, to, "any", held, NO_USAGE, now, version);
    const { complete } = this.copies.step(2 * this.batchRows + 2, job.id);
    if (!complete.some((j) => j.id === job.id)) return { job };
    return { entry: this.linkCopy(job, now, graceUntil) };
  }

  /**
   * A copy job that cannot link (or whose share went): what it built is
   * reclaimed. Its staging tree was in no version, so no reader can need
   * it (doomed as live in none) and giving it up makes no version either.
   */
  abandonCopy(job: CopyJob, graceUntil: number): void {
    this.copies.end(job);
    this.sql.exec("DELETE FROM nodes WHERE id = ? AND parent = ?", job.staging, -job.id);
    this.reclaim.doom(job.staging, 0, graceUntil, 0, true);
  }
}
