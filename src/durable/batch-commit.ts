import { FsError } from "../core/errors";
import { randomId } from "../core/ids";
import type { FsPath } from "../core/paths";
import type { Live, ShareState } from "./share-state";
import type { TreeChanges } from "./tree-changes";

/**
 * One operation of a batch commit, as the Worker hands it to the ShareDO:
 * paths parsed, contents decoded, and contents bound for R2 already there
 * (`blobId`, reserved by `reserve` and put by the Worker).
 */
export type BatchOp =
  | { op: "put"; path: FsPath; data: ArrayBuffer; etag: string; attrs?: string | null }
  | { op: "put"; path: FsPath; blobId: string; size: number; etag: string; attrs?: string | null }
  | { op: "put"; path: FsPath; uploadId: string; etag?: string; attrs?: string | null }
  | { op: "mkdir"; path: FsPath }
  | { op: "delete"; path: FsPath; recursive: boolean }
  | { op: "move"; from: FsPath; to: FsPath }
  | { op: "copy"; from: FsPath; to: FsPath; recursive: boolean };

export interface BatchOptions {
  /** Whether a put, move or copy may replace what is at its target (default true). */
  force: boolean;
  /** The version the share must still be at, or EPRECONDITION. */
  ifVersion?: number;
}

export interface BatchResult {
  version: number;
  count: number;
}

/** How many existing targets a force:false refusal names before "and N more". */
const LISTED = 20;

/** A staged upload's ETag when the Worker passes none (write-protocol.ts newEtag). */
const newEtag = () => `"${randomId()}"`;

/** "op 3 (move /a → /b)": how an error names the op it comes from. */
export function opLabel(op: BatchOp, i: number): string {
  const what = "path" in op ? op.path : `${op.from} -> ${op.to}`;
  return `op ${i} (${op.op} ${what})`;
}

/**
 * A batch commit inside the ShareDO: every op of the batch in ONE change,
 * so the batch is one version and all or nothing (an FsError from any op
 * rolls back the whole transaction). Each op is judged as the single
 * operation would be — bucket mounts, leases the request holds, type
 * conflicts, quota (cumulatively: the batch as a whole) — and applies on
 * the state the ops before it left. A recursive copy runs within the
 * batch only while the batch's copies stay within one batch of rows
 * (`batchRows`): a batch never waits for background work.
 */
export class BatchCommit {
  constructor(
    private readonly s: ShareState,
    private readonly changes: TreeChanges,
  ) {}

  /**
   * Before the Worker puts contents to R2: fail fast on what the commit
   * would refuse (the version, existing targets), then reserve `blobs`
   * fresh blob keys. A reservation that is never committed expires and is
   * reclaimed; a refused commit abandons its reservations at once.
   */
  reserve(
    at: Live,
    options: BatchOptions,
    putPaths: FsPath[],
    blobs: number,
  ): { blobId: string; key: string }[] {
    this.check(options, putPaths);
    const expiresAt = at.now + this.s.config.pendingTtlMs;
    return Array.from({ length: blobs }, () => {
      const blobId = randomId();
      const key = `blobs/${at.share.id}/${blobId}`;
      this.s.ledger.reserve(blobId, at.share.id, key, expiresAt);
      return { blobId, key };
    });
  }

  /**
   * Applies the batch, or answers `spill` having written nothing: inline
   * contents are refused while the share's SQLite nears its storage budget,
   * and the Worker then stores them in R2 like large ones.
   */
  commit(
    at: Live,
    ops: BatchOp[],
    options: BatchOptions,
    held: readonly string[],
  ): BatchResult | { spill: true } {
    const inline = ops.some((o) => "data" in o && o.data.byteLength > 0);
    if (inline && !this.s.tree.inlineAllowed()) return { spill: true };
    this.check(
      options,
      ops.flatMap((o) => (o.op === "put" ? [o.path] : [])),
    );
    let copied = 0;
    ops.forEach((op, i) => {
      try {
        copied += this.apply(at, op, options, held, this.s.config.batchRows - copied);
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
        throw new FsError(e.code, `${opLabel(op, i)}: ${e.message}`, e.path);
      }
    });
    return { version: this.s.nodes.version(), count: ops.length };
  }

  /** The batch's preconditions: the version it was made against; with force:false, no put target exists. */
  private check(options: BatchOptions, putPaths: FsPath[]): void {
    const version = this.s.nodes.version();
    if (options.ifVersion !== undefined && options.ifVersion !== version) {
      throw new FsError(
        "EPRECONDITION",
        `the share is at version ${version}, not ${options.ifVersion} (ifVersion): nothing was committed`,
      );
    }
    if (options.force) return;
    const existing = [...new Set(putPaths)].filter((p) => this.s.tree.get(p) !== undefined);
    if (existing.length === 0) return;
    const more = existing.length > LISTED ? ` and ${existing.length - LISTED} more` : "";
    throw new FsError(
      "EEXIST",
      `force is false and ${existing.length} put target${existing.length === 1 ? "" : "s"} exist${existing.length === 1 ? "s" : ""}: ${existing.slice(0, LISTED).join(", ")}${more}; nothing was committed`,
      existing[0],
    );
  }

  /** One op; returns the rows a copy built (counted against the batch's copy budget). */
  private apply(
    at: Live,
    op: BatchOp,
    options: BatchOptions,
    held: readonly string[],
    copyBudget: number,
  ): number {
    const overwrite = options.force;
    switch (op.op) {
      case "put":
        this.put(at, op, held);
        return 0;
      case "mkdir":
        this.changes.mkdir(at, op.path, held);
        return 0;
      case "delete":
        this.changes.remove(at, op.path, op.recursive, held, false);
        return 0;
      case "move":
        this.changes.move(at, op.from, op.to, overwrite, held, false);
        return 0;
      case "copy": {
        const rows = this.copyRows(op.from);
        if (rows > copyBudget) throw this.copyTooBig(rows, copyBudget);
        const outcome = this.changes.copy(
          at,
          op.from,
          op.to,
          { recursive: op.recursive, overwrite },
          held,
        );
        if (outcome.job) throw this.copyTooBig(rows, copyBudget);
        return rows;
      }
    }
  }

  private put(
    { now, share }: Live,
    op: Extract<BatchOp, { op: "put" }>,
    held: readonly string[],
  ): void {
    const { path } = op;
    this.s.mounts.refuseChange(path, false);
    this.s.leases.checkWrite([{ path, subtree: false }], held, now);
    const grace = this.s.graceUntil(now);
    const attrs = op.attrs ?? null;
    if ("data" in op) {
      const v = { size: op.data.byteLength, etag: op.etag, blobId: null, data: op.data, attrs };
      this.s.tree.putFile(path, v, now, grace);
      this.s.feed.put(this.s.tree.entry(path), now);
      return;
    }
    let blobId: string;
    let size: number;
    if ("uploadId" in op) {
      ({ blobId, size } = this.s.uploads.stagedBlob(op.uploadId, now));
      this.s.uploads.remove(op.uploadId);
    } else {
      ({ blobId, size } = op);
    }
    if (!this.s.ledger.claim(blobId, share.id)) {
      throw new FsError("ENOENT", "the content's reservation expired: send the batch again", path);
    }
    const etag = op.etag ?? newEtag();
    this.s.tree.putFile(path, { size, etag, blobId, data: null, attrs }, now, grace);
    this.s.feed.put(this.s.tree.entry(path), now);
  }

  /** The rows a recursive copy of `from` builds: the directory and everything below it (a file copy is one row: free). */
  private copyRows(from: FsPath): number {
    const row = this.s.tree.get(from);
    if (!row || row.type === "file") return 0;
    const below = this.s.tree.usage.of(row.id);
    return 1 + below.files + below.dirs;
  }

  private copyTooBig(rows: number, left: number): FsError {
    const limit = this.s.config.batchRows;
    return new FsError(
      "ETOOLARGE",
      `the copies of one batch may copy at most ${limit} entries in all (EDGEFS_BATCH_ROWS); this one copies ${rows} and ${Math.max(0, left)} are left in this batch: copy it on its own with POST …/copy, which finishes big copies in the background`,
    );
  }
}
