import { FsError } from "../core/errors";
import { randomId } from "../core/ids";
import { ancestorsOf, type FsPath, ROOT } from "../core/paths";
import { checkWriteConditions, type WriteConditions } from "../core/preconditions";
import type { FileEntry } from "../core/types";
import { checkDeclaredSize, MAX_PART_SIZE, type NamedPart } from "../core/uploads";
import { guardSync, type Result } from "./rpc";
import type { ShareLifecycle } from "./share-lifecycle";
import type { At, Live, ShareRow, ShareState } from "./share-state";
import type { ReceivedPart, StoredPart, UploadStatus, UploadTarget } from "./upload-table";

/**
 * The ETag of a file whose bytes no one hashed in one piece (a multipart
 * upload, unless its completion passes one): random, so it is still strong.
 * Files written in one piece get the MD5 of their bytes from the Worker.
 */
const newEtag = () => `"${randomId()}"`;

/** A committed write: the file's entry, whether it is new, and the version it made. */
type Written = { entry: FileEntry; created: boolean; version: number };

/** A staged upload whose parts are stitched: nothing is committed until a batch names it. */
export interface Staged {
  uploadId: string;
  staged: true;
  size: number;
  expiresAt: number;
}

/**
 * A completion the parts' shape refuses, with S3's name for it: an answer
 * rather than an error, because RPC carries an FsError without its
 * `reason`; the Worker throws it as EINVAL with the reason.
 */
export interface Refused {
  refused: { message: string; reason: string };
}

/**
 * How file contents change, inside the ShareDO's change guard. File bytes
 * never pass through here: the Worker streams them to R2 and this protocol
 * only reserves where they go and commits them to a path.
 *
 * Small files commit inline, bytes and metadata together. A large write is
 * two steps: reserve a fresh blob key (failing fast on what would fail at
 * commit), then commit the blob R2 now holds, with conditions and leases
 * judged again at that moment. Multipart uploads (the uploads API, and PUTs
 * of unknown length) are the same protocol with parts in between: create
 * (reserve), parts (announced, streamed to R2 by the Worker, recorded),
 * complete (R2 stitches the parts, then the usual commit).
 */
export class WriteProtocol {
  constructor(
    private readonly s: ShareState,
    private readonly lifecycle: ShareLifecycle,
  ) {}

  /**
   * A small file: bytes and metadata commit together, no R2 involved —
   * unless the share's SQLite nears its storage budget: then nothing is
   * written and the answer says to store the bytes in R2 like a large file.
   * `etag` is the one the Worker computed (the MD5 of `data`); `attrs` the
   * file's encoded attributes, checked by the Worker.
   */
  writeInline(
    { now }: Live,
    path: FsPath,
    data: ArrayBuffer,
    conditions: WriteConditions,
    held: readonly string[],
    etag: string,
    attrs: string | null,
  ): Written | { spill: true } {
    if (data.byteLength > 0 && !this.s.tree.inlineAllowed()) return { spill: true };
    this.admitCommit(now, path, conditions, held);
    const version = { size: data.byteLength, etag, blobId: null, data, attrs };
    const created = this.s.tree.putFile(path, version, now, this.s.graceUntil(now));
    const entry = this.s.tree.entry(path);
    this.s.feed.put(entry, now);
    return { entry, created, version: this.s.nodes.version() };
  }

  /**
   * Step 1 of a large write: fail fast on what would fail at commit, then
   * reserve a fresh blob key. The reservation expires (and its blob is
   * reclaimed) if the Worker never commits or abandons it.
   */
  reserve(
    at: Live,
    path: FsPath,
    conditions: WriteConditions,
    held: readonly string[],
  ): { blobId: string; key: string } {
    this.precheck(at, path, conditions, held);
    return this.reserveBlob(at.share, at.now + this.s.config.pendingTtlMs);
  }

  /**
   * Step 2: the blob is durable in R2; swap the path's pointer to it in one
   * transaction, checking the write's conditions against the state now.
   * `etag` comes from the Worker, which saw the bytes (the DO never does).
   */
  commit(
    { now, share }: Live,
    path: FsPath,
    blobId: string,
    size: number,
    conditions: WriteConditions,
    held: readonly string[],
    etag: string,
    attrs: string | null,
  ): Written {
    this.admitCommit(now, path, conditions, held);
    if (!this.s.ledger.claim(blobId, share.id)) {
      throw new FsError("ENOENT", "the write's reservation expired or its share was deleted", path);
    }
    const version = { size, etag, blobId, data: null, attrs };
    const created = this.s.tree.putFile(path, version, now, this.s.graceUntil(now));
    const entry = this.s.tree.entry(path);
    this.s.feed.put(entry, now);
    return { entry, created, version: this.s.nodes.version() };
  }

  /** The Worker gave up on a write: its blob is reclaimed at once. */
  abort({ now }: At, blobId: string): void {
    this.s.ledger.abandon(blobId, now);
  }

  // ── Multipart uploads ────────────────────────────────────────────────

  createUpload(
    at: Live,
    path: FsPath,
    partSize: number | undefined,
    conditions: WriteConditions,
    held: readonly string[],
    ttlMs: number,
    size?: number,
    stage = false,
    attrs: string | null = null,
  ): { uploadId: string; key: string; partSize?: number; expiresAt: number } {
    // Without a partSize, only the object limit applies to a declared size.
    if (size !== undefined) checkDeclaredSize(size, partSize ?? MAX_PART_SIZE);
    // A staged upload lands where the batch commit's op says, judged then;
    // only a bucket mount is refused now (its bytes could never land there).
    if (stage) this.s.mounts.refuseChange(path, false);
    else this.precheck(at, path, conditions, held);
    const expiresAt = at.now + ttlMs;
    const { blobId, key } = this.reserveBlob(at.share, expiresAt);
    const uploadId = randomId();
    this.s.uploads.create(
      {
        id: uploadId,
        path,
        blobId,
        key,
        conditions,
        attrs,
        ...(partSize === undefined ? {} : { partSize }),
        ...(size === undefined ? {} : { size }),
      },
      at.now,
      expiresAt,
    );
    if (stage) this.s.uploads.stage(uploadId);
    return { uploadId, key, ...(partSize === undefined ? {} : { partSize }), expiresAt };
  }

  /** Records R2's id for the upload, so parts can go to it and GC can abort it. */
  started(uploadId: string, r2UploadId: string): void {
    const row = this.s.uploads.attach(uploadId, r2UploadId);
    this.s.ledger.attachUpload(row.blob_id, r2UploadId);
  }

  /** Where part `n` of `size` bytes goes, if it may be sent. */
  partTarget({ now }: Live, uploadId: string, n: number, size: number): UploadTarget {
    const row = this.s.uploads.row(uploadId, now);
    this.s.uploads.checkPart(row, n, size);
    return this.s.uploads.target(row);
  }

  recordPart({ now }: Live, uploadId: string, part: ReceivedPart): void {
    this.s.uploads.recordPart(this.s.uploads.row(uploadId, now), part);
  }

  status({ now }: Live, uploadId: string): UploadStatus {
    return this.s.uploads.status(uploadId, now);
  }

  /**
   * Step 1 of completing: the parts must tile the file, and the write must
   * still be allowed. Marks the upload as completing, so no part can change
   * while R2 stitches them. A failed condition ends the upload, as a failed
   * conditional PUT discards its body; a lease (temporary) leaves it open.
   * A refusal is returned, not thrown, so that ending commits. `named`
   * (S3) picks the parts to use (UploadTable.completion); a shape R2 could
   * not store is answered as Refused, and changes nothing.
   */
  beginComplete(
    { now }: At,
    uploadId: string,
    held: readonly string[],
    named?: readonly NamedPart[],
  ): Result<{ target: UploadTarget; parts: StoredPart[]; size: number } | Refused> {
    const row = this.s.uploads.row(uploadId, now);
    const staging = this.s.uploads.staging(uploadId);
    if (staging && staging.size !== null) {
      throw new FsError(
        "EINVAL",
        `staged upload ${uploadId} is already completed: commit it with a batch commit's put op`,
      );
    }
    if (row.completing) throw new FsError("EINVAL", "the upload is already being completed");
    const target = this.s.uploads.target(row);
    const checked = guardSync(() =>
      staging
        ? undefined
        : this.precheck(
            { now, share: this.lifecycle.require(now) },
            target.path,
            target.conditions,
            held,
          ),
    );
    if (!checked.ok) {
      if (checked.error.code === "EPRECONDITION") {
        this.s.uploads.remove(uploadId);
        this.s.ledger.abandon(row.blob_id, now);
      }
      return checked;
    }
    let chosen: { parts: StoredPart[]; size: number };
    try {
      chosen = this.s.uploads.completion(row, named);
    } catch (e) {
      if (e instanceof FsError && e.reason !== undefined) {
        return { ok: true, value: { refused: { message: e.message, reason: e.reason } } };
      }
      throw e;
    }
    const { parts, size } = chosen;
    if (parts.length === 0) throw new FsError("EINVAL", "the upload has no parts");
    this.s.uploads.setCompleting(uploadId, true);
    return { ok: true, value: { target, parts, size } };
  }

  /** R2 could not stitch the parts: the client may try completing again. */
  failComplete({ now }: At, uploadId: string): void {
    this.s.uploads.setCompleting(this.s.uploads.row(uploadId, now).id, false);
  }

  /**
   * Step 2: R2 holds the whole object; commit it like a PUT. If the commit
   * is refused (a condition or lease, judged now), the upload is over and
   * its object is reclaimed; the refusal is returned all the same, so that
   * ending commits. `etag` is the file's, when the Worker computed one
   * (from the parts it stitched); else a random one.
   */
  finishUpload(
    { now }: At,
    uploadId: string,
    size: number,
    held: readonly string[],
    /** The file's ETag, from the parts' MD5s (the Worker computes it); absent: a fresh one. */
    etag?: string,
  ): Result<Written | Staged> {
    const row = this.s.uploads.row(uploadId, now);
    const target = this.s.uploads.target(row);
    if (this.s.uploads.staging(uploadId)) {
      this.s.uploads.staged(uploadId, size);
      return { ok: true, value: { uploadId, staged: true, size, expiresAt: row.expires_at } };
    }
    this.s.uploads.remove(uploadId);
    const committed = guardSync(() =>
      this.commit(
        { now, share: this.lifecycle.require(now) },
        target.path,
        target.blobId,
        size,
        target.conditions,
        held,
        etag ?? newEtag(),
        target.attrs,
      ),
    );
    if (!committed.ok) this.s.ledger.abandon(target.blobId, now);
    return committed;
  }

  abortUpload({ now }: At, uploadId: string): void {
    const row = this.s.uploads.row(uploadId, now);
    this.s.uploads.remove(uploadId);
    this.s.ledger.abandon(row.blob_id, now);
  }

  /** Fails fast on what would fail at commit: a mount, a lease, a type conflict, a condition. */
  private precheck(
    { now }: Live,
    path: FsPath,
    conditions: WriteConditions,
    held: readonly string[],
  ): void {
    this.s.mounts.refuseChange(path, false);
    this.s.leases.checkWrite([{ path, subtree: false }], held, now);
    if (path === ROOT || this.s.tree.get(path)?.type === "directory") {
      throw new FsError("EISDIR", `is a directory: ${path}`, path);
    }
    for (const dir of ancestorsOf(path)) {
      if (this.s.tree.get(dir)?.type === "file") {
        throw new FsError("ENOTDIR", `not a directory: ${dir}`, dir);
      }
    }
    this.checkConditions(path, conditions);
  }

  /** What a commit judges against the state at commit time: mounts, leases, conditions. */
  private admitCommit(
    now: number,
    path: FsPath,
    conditions: WriteConditions,
    held: readonly string[],
  ): void {
    this.s.mounts.refuseChange(path, false);
    this.s.leases.checkWrite([{ path, subtree: false }], held, now);
    this.checkConditions(path, conditions);
  }

  private checkConditions(path: FsPath, conditions: WriteConditions): void {
    const current = this.s.tree.get(path);
    checkWriteConditions(
      conditions,
      current?.type === "file" ? (current.etag ?? undefined) : undefined,
      path,
    );
  }

  private reserveBlob(share: ShareRow, expiresAt: number): { blobId: string; key: string } {
    const blobId = randomId();
    const key = `blobs/${share.id}/${blobId}`;
    this.s.ledger.reserve(blobId, share.id, key, expiresAt);
    return { blobId, key };
  }
}
