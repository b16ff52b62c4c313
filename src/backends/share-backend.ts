import type { Config } from "../config";
import { checkAttributes, encodeAttributes } from "../core/attributes";
import type {
  Backend,
  BackendFeatures,
  Committed,
  FileAttributes,
  KeyDeletions,
  KeyPage,
  KeyQuery,
  KeyTarget,
  ListedUpload,
  ListQuery,
  Moved,
  Overwrite,
  ReadAt,
  ReadOptions,
  ReadResult,
  SpaceOps,
  UploadInfo,
  UploadPart,
  UploadStatus,
  VersionOps,
  WriteBody,
  WriteResult,
} from "../core/backend";
import type { SubrequestBudget } from "../core/budget";
import { FsError, invalid, notFound } from "../core/errors";
import type { LeaseOps } from "../core/leases";
import type { FsPath } from "../core/paths";
import { evaluateReadConditions, type WriteConditions } from "../core/preconditions";
import type { PropertyOps } from "../core/properties";
import { parseRange } from "../core/range";
import { bodyError, concat, fixedSizeParts, readUpTo } from "../core/streams";
import type { FileEntry, HistoryPage, ListPage } from "../core/types";
import type { BatchOptions, BatchResult } from "../durable/batch-commit";
import type { ShareApi } from "../durable/share-client";
import type { ShareDO } from "../durable/share-do";
import type { Staged } from "../durable/write-protocol";
import { getBlob, md5Etag, putKnownLength } from "../r2/blob-store";
import { completeMultipart, multipartEtag, putPart, startMultipart } from "../r2/multipart";
import { type BatchRequestOp, commitBatch } from "./share-batch";
import { commitTar, type TarLimits, type TarResult } from "./share-tar";

const MiB = 1024 * 1024;

/** Part size for bodies of unknown length: 10 MiB × R2's 10,000 parts ≈ 97 GiB per file. */
export const CHUNKED_PART_SIZE = 10 * MiB;

/**
 * Subrequests of a body stored in parts (writeInParts): starting the
 * upload (ShareDO, R2, ShareDO), each part (ShareDO, R2, ShareDO), and
 * finishing it (ShareDO, R2, ShareDO) — or on a failure, one more call
 * to abort it, which FINISH keeps room for.
 */
const START_SUBREQUESTS = 3;
const PART_SUBREQUESTS = 3;
const FINISH_SUBREQUESTS = 4;

/**
 * A failed write could not hand its blob to GC at once; its reservation
 * expires and GC takes it then, so the request's own error stands.
 */
function logLeftToExpiry(error: unknown): void {
  console.warn("abandoning a write failed; GC reclaims it when its reservation expires:", error);
}

/**
 * R2's single-put ceiling, 5 GiB less 5 MiB
 * (https://developers.cloudflare.com/r2/platform/limits/); larger bodies of
 * known length go multipart too.
 */
export const R2_SINGLE_PUT_MAX = 5 * 1024 ** 3 - 5 * 1024 ** 2;

export function shareStub(
  env: Env,
  environment: string,
  share: string,
): DurableObjectStub<ShareDO> {
  return env.SHARE.get(
    env.SHARE.idFromName(`${environment}/${share}`),
  ) as DurableObjectStub<ShareDO>;
}

/** What share storage can do: everything but versions (not built yet). */
export const SHARE_FEATURES: Readonly<BackendFeatures> = Object.freeze({
  rename: true,
  leases: true,
  deadProperties: true,
  conditionalWrites: true,
  multipart: true,
  versions: true,
  space: true,
});

/**
 * The Backend of a share: metadata in its ShareDO, bytes in R2 (or inline
 * in the ShareDO for small files). Bytes flow between the client and R2
 * here in the Worker; the ShareDO only answers small metadata calls.
 */
export class ShareBackend implements Backend {
  constructor(
    private readonly share: ShareApi,
    private readonly bucket: R2Bucket,
    private readonly config: Config,
    private readonly waitUntil: (p: Promise<unknown>) => void,
    /** The request's subrequest budget: listing pages and the parts of a body count against it. */
    private readonly subrequests: SubrequestBudget,
    /** Lease ids the request holds (`Edgefs-Lease`), checked on every change. */
    private readonly held: string[] = [],
  ) {}

  readonly features = SHARE_FEATURES;

  /** The share's path leases, kept by its ShareDO. */
  readonly leases: LeaseOps = {
    acquire: (request) => this.share.acquireLease(request),
    renew: (leaseId, ttlMs) => this.share.renewLease(leaseId, ttlMs),
    release: (leaseId) => this.share.releaseLease(leaseId),
    around: (path) => this.share.leasesAround(path),
    byIds: (ids) => this.share.leasesById([...ids]),
    placement: (path) => this.share.placement(path),
  };

  /** Dead properties, kept with the entries in the ShareDO; a patch is a change for leases. */
  readonly properties: PropertyOps = {
    of: (paths) => this.share.properties([...paths]),
    patch: (path, changes) => this.share.patchProperties(path, [...changes], this.held),
  };

  /** What the byte quota counts (live bytes and what history keeps) and what it leaves. */
  readonly space: SpaceOps = {
    usage: async () => {
      const { usage, quota } = await this.share.info();
      const used = usage.bytes + usage.historyBytes;
      const availableBytes = quota.bytes === undefined ? null : Math.max(0, quota.bytes - used);
      return { usedBytes: used, availableBytes };
    },
  };

  /** Every version the retention window or a snapshot keeps, read like the latest one. */
  readonly versions: VersionOps = {
    resolve: (at) => this.share.resolveVersion(at),
    view: (version) => ({
      stat: (path) => this.share.stat(path, version),
      list: (query) => this.listAt(query, version),
      read: (path, options) => this.readAt(path, options, version),
    }),
  };

  stat(path: FsPath): Promise<FileEntry> {
    return this.share.stat(path);
  }

  list(query: ListQuery): Promise<ListPage<FileEntry>> {
    return this.listAt(query);
  }

  private async listAt(query: ListQuery, version?: number): Promise<ListPage<FileEntry>> {
    this.subrequests.take(1, "a listing page");
    return this.share.list(query, version);
  }

  /** One ShareDO call a page; the object bounds the rows it reads. */
  async listKeys(query: KeyQuery): Promise<KeyPage> {
    this.subrequests.take(1, "a key listing page");
    return this.share.listKeys(query);
  }

  read(path: FsPath, options: ReadOptions): Promise<ReadResult> {
    return this.readAt(path, options);
  }

  private async readAt(path: FsPath, options: ReadOptions, version?: number): Promise<ReadResult> {
    const target = await this.share.openRead(path, version);
    const { entry } = target;
    const etag = entry.etag ?? "";
    if (evaluateReadConditions(options, etag, entry.mtime, path) === "not-modified") {
      return { status: 304, entry };
    }
    // If-Range: serve the range only if the client's copy is still current.
    const rangeHeader =
      options.ifRange !== undefined && options.ifRange.trim() !== etag ? undefined : options.range;
    const range = parseRange(rangeHeader, entry.size);
    let body: ReadableStream | null = null;
    if (!options.headOnly) {
      if (target.data !== undefined) {
        const bytes = new Uint8Array(target.data);
        const slice = range ? bytes.subarray(range.offset, range.offset + range.length) : bytes;
        body = new Blob([slice]).stream();
      } else {
        body = await getBlob(this.bucket, target.key, range);
        // The blob outlives its file by the GC grace period; past it, the
        // file is gone for this reader too.
        if (!body) throw notFound(path);
      }
    }
    return range ? { status: 206, entry, range, body } : { status: 200, entry, body };
  }

  async write(
    path: FsPath,
    body: WriteBody,
    conditions: WriteConditions,
    attributes?: FileAttributes,
  ): Promise<WriteResult> {
    // Checked before a byte is read: attributes over their bounds write nothing.
    const checked = checkAttributes(attributes ?? {}, path);
    const attrs = encodeAttributes(checked);
    const inlineMax = this.config.inlineMaxBytes;
    const stream = body.stream ?? new Blob([]).stream();
    if (body.length !== undefined && body.length <= inlineMax) {
      const bytes = await readExactly(stream, body.length);
      return this.writeSmall(path, bytes, conditions, attrs);
    }
    if (body.length !== undefined && body.length <= R2_SINGLE_PUT_MAX) {
      return this.writeOnePut(path, stream, body.length, conditions, attrs);
    }
    const reader = stream.getReader();
    let head: Uint8Array[] = [];
    if (body.length === undefined) {
      // Unknown length: a body that ends within the inline limit is small.
      const start = await readUpTo(reader, inlineMax);
      if (start.done) {
        const bytes = concat(start.chunks, start.size);
        return this.writeSmall(path, bytes, conditions, attrs);
      }
      head = start.chunks;
    }
    return this.writeInParts(
      path,
      fixedSizeParts(head, reader, CHUNKED_PART_SIZE),
      body.length,
      conditions,
      checked,
    );
  }

  /** A small file goes inline, or to R2 when the share's SQLite nears its storage budget. */
  private async writeSmall(
    path: FsPath,
    bytes: Uint8Array,
    conditions: WriteConditions,
    attrs: string | null,
  ): Promise<WriteResult> {
    const written = await this.share.writeInline(
      path,
      bytes.buffer as ArrayBuffer,
      conditions,
      this.held,
      await md5Etag(bytes),
      attrs,
    );
    if (!("spill" in written)) return written;
    return this.writeOnePut(path, new Blob([bytes]).stream(), bytes.byteLength, conditions, attrs);
  }

  /** A body of known length up to 5 GiB: reserve, one R2 put, commit. */
  private async writeOnePut(
    path: FsPath,
    stream: ReadableStream<Uint8Array>,
    length: number,
    conditions: WriteConditions,
    attrs: string | null,
  ): Promise<WriteResult> {
    const { blobId, key } = await this.share.reserveWrite(path, conditions, this.held);
    try {
      const etag = await putKnownLength(this.bucket, key, stream, length);
      return await this.share.commitWrite(path, blobId, length, conditions, this.held, etag, attrs);
    } catch (e) {
      // Nothing became visible; let GC reclaim the blob now rather than at expiry.
      this.waitUntil(this.share.abortWrite(blobId).catch(logLeftToExpiry));
      throw e;
    }
  }

  /**
   * A body of unknown length (or over 5 GiB) goes through the very same
   * multipart upload a client could drive by hand, cut into fixed parts. The
   * next part is read while the previous one uploads, so at most two parts
   * are in memory.
   *
   * Each part costs subrequests: a body the budget cannot store is refused
   * before the upload starts when its length is known, else at the first
   * part past what the budget pays for; the upload is then aborted, nothing
   * is committed and the file keeps its old content.
   */
  private async writeInParts(
    path: FsPath,
    parts: AsyncIterable<Uint8Array>,
    declaredLength: number | undefined,
    conditions: WriteConditions,
    attributes: FileAttributes,
  ): Promise<WriteResult> {
    const budget = this.subrequests;
    const partCount =
      declaredLength === undefined ? 1 : Math.ceil(declaredLength / CHUNKED_PART_SIZE);
    const needed = START_SUBREQUESTS + partCount * PART_SUBREQUESTS + FINISH_SUBREQUESTS;
    if (!budget.affords(needed)) {
      const body =
        declaredLength === undefined
          ? "a body without Content-Length"
          : `a body of ${partCount} parts of ${CHUNKED_PART_SIZE / MiB} MiB`;
      throw budget.exceeded(
        `storing ${body} takes ${needed} subrequests`,
        "nothing was stored",
        path,
      );
    }
    budget.take(START_SUBREQUESTS, "starting the upload");
    const upload = await this.createUpload(path, {
      partSize: CHUNKED_PART_SIZE,
      conditions,
      attributes,
    });
    let inFlight: Promise<unknown> = Promise.resolve();
    try {
      let n = 0;
      let size = 0;
      for await (const part of parts) {
        await inFlight;
        if (!budget.affords(PART_SUBREQUESTS + FINISH_SUBREQUESTS)) {
          throw budget.exceeded(
            `a body without Content-Length is stored in ${CHUNKED_PART_SIZE / MiB} MiB parts; ` +
              `this one grew past ${n} parts (${(n * CHUNKED_PART_SIZE) / MiB} MiB), and one more ` +
              `part and finishing the upload take ${PART_SUBREQUESTS + FINISH_SUBREQUESTS} subrequests`,
            "nothing was stored; send Content-Length, or use the multipart upload API (a request per part)",
            path,
          );
        }
        budget.take(PART_SUBREQUESTS, "a part");
        size += part.byteLength;
        inFlight = this.uploadPart(upload.uploadId, ++n, part, part.byteLength);
      }
      await inFlight;
      if (declaredLength !== undefined && size !== declaredLength)
        throw bodyError("length mismatch");
      budget.take(FINISH_SUBREQUESTS - 1, "completing the upload");
      return await this.completeUpload(upload.uploadId);
    } catch (e) {
      await inFlight.catch(() => undefined);
      this.waitUntil(this.abortUpload(upload.uploadId).catch(logLeftToExpiry));
      throw e;
    }
  }

  async deleteKeys(keys: readonly KeyTarget[]): Promise<KeyDeletions> {
    const { results, version } = await this.share.removeKeys([...keys], this.held);
    return {
      version,
      results: results.map((r) => ("error" in r ? { error: FsError.fromBody(r.error) } : r)),
    };
  }

  async createUpload(
    path: FsPath,
    options: {
      partSize?: number;
      conditions: WriteConditions;
      size?: number;
      attributes?: FileAttributes;
    },
    stage = false,
  ): Promise<UploadInfo> {
    const attrs = encodeAttributes(checkAttributes(options.attributes ?? {}, path));
    const created = await this.share.createUpload(
      path,
      options.partSize,
      options.conditions,
      this.held,
      this.config.uploadTtlMs,
      options.size,
      stage,
      attrs,
    );
    let r2UploadId: string | undefined;
    try {
      r2UploadId = await startMultipart(this.bucket, created.key);
      await this.share.startedUpload(created.uploadId, r2UploadId);
    } catch (e) {
      this.waitUntil(this.abortUpload(created.uploadId).catch(logLeftToExpiry));
      // The ShareDO never learnt R2's id, so its GC could not abort this one.
      if (r2UploadId !== undefined) {
        const started = r2UploadId;
        this.waitUntil(
          this.bucket
            .resumeMultipartUpload(created.key, started)
            .abort()
            .catch((error: unknown) =>
              console.error(
                `aborting unrecorded upload ${started} of ${created.key} failed:`,
                error,
              ),
            ),
        );
      }
      throw e;
    }
    return {
      uploadId: created.uploadId,
      path,
      ...(created.partSize === undefined ? {} : { partSize: created.partSize }),
      ...(options.size === undefined ? {} : { size: options.size }),
      expiresAt: created.expiresAt,
    };
  }

  async uploadPart(
    uploadId: string,
    n: number,
    body: ReadableStream<Uint8Array> | Uint8Array,
    length: number,
  ): Promise<UploadPart> {
    const target = await this.share.partTarget(uploadId, n, length);
    const { r2Etag, md5 } = await putPart(
      this.bucket,
      target.key,
      target.r2UploadId,
      n,
      body,
      length,
    );
    await this.share.recordPart(uploadId, { partNumber: n, size: length, r2Etag, md5 });
    return { partNumber: n, size: length, etag: `"${md5}"` };
  }

  uploadStatus(uploadId: string): Promise<UploadStatus> {
    return this.share.uploadStatus(uploadId);
  }

  async listUploads(query: {
    prefix: string;
    after?: { path: string; uploadId?: string };
    limit: number;
  }): Promise<{ uploads: ListedUpload[]; next?: { path: string; uploadId: string } }> {
    this.subrequests.take(1, "a listing of uploads");
    return this.share.listUploads(query);
  }

  /**
   * A staged upload (docs/api.md "Batch commits"): parts as usual, but its
   * complete commits nothing; a batch commit's put op names it.
   */
  async createStagedUpload(
    path: FsPath,
    options: { partSize: number; size?: number },
  ): Promise<UploadInfo & { staged: true }> {
    const info = await this.createUpload(path, { ...options, conditions: {} }, true);
    return { ...info, staged: true };
  }

  async completeUpload(
    uploadId: string,
    parts?: { partNumber: number; etag: string }[],
  ): Promise<WriteResult> {
    const done = await this.completeOrStage(uploadId, parts);
    if ("staged" in done) {
      throw invalid(`upload ${uploadId} is staged: a batch commit's put op commits it`);
    }
    return done;
  }

  /**
   * Completes an upload: commits it like a PUT, or, for a staged one, only
   * stitches its parts. R2 is given only the parts used, so parts left out
   * (S3's completion names them) go with the upload.
   */
  async completeOrStage(
    uploadId: string,
    named?: { partNumber: number; etag: string }[],
  ): Promise<WriteResult | Staged> {
    const begun = await this.share.beginComplete(uploadId, this.held, named);
    if ("refused" in begun) {
      throw new FsError(
        "EINVAL",
        begun.refused.message,
        undefined,
        undefined,
        begun.refused.reason,
      );
    }
    const { target, parts, size } = begun;
    try {
      await completeMultipart(
        this.bucket,
        target.key,
        target.r2UploadId,
        parts.map((p) => ({ partNumber: p.partNumber, etag: p.r2Etag })),
      );
    } catch (e) {
      await this.share.failComplete(uploadId).catch(() => undefined);
      throw e;
    }
    // Parts stored before edgefs kept MD5s leave the file a fresh ETag instead.
    const md5s = parts.map((p) => p.md5);
    const etag = md5s.every((m): m is string => m !== null) ? await multipartEtag(md5s) : undefined;
    return this.share.finishUpload(uploadId, size, this.held, etag);
  }

  abortUpload(uploadId: string): Promise<void> {
    return this.share.abortUpload(uploadId);
  }

  /** A batch commit: all its ops in one version, all or nothing (share-batch.ts). */
  commitBatch(ops: BatchRequestOp[], options: BatchOptions): Promise<BatchResult> {
    const { share, bucket, config, waitUntil, subrequests, held } = this;
    return commitBatch({ share, bucket, config, waitUntil, subrequests, held }, ops, options);
  }

  /** A tar upload: the archive's files and directories under `dir` as one batch (share-tar.ts). */
  uploadTar(
    dir: FsPath,
    body: ReadableStream<Uint8Array>,
    options: BatchOptions,
    limits: Omit<TarLimits, "fileBytes">,
  ): Promise<TarResult> {
    const { share, bucket, config, waitUntil, subrequests, held } = this;
    return commitTar({ share, bucket, config, waitUntil, subrequests, held }, dir, body, options, {
      ...limits,
      fileBytes: R2_SINGLE_PUT_MAX,
    });
  }

  mkdir(path: FsPath): Promise<WriteResult> {
    return this.share.mkdir(path, this.held);
  }

  remove(path: FsPath, options: { recursive: boolean; dropLeases?: boolean }): Promise<Committed> {
    return this.share.remove(path, options.recursive, this.held, options.dropLeases);
  }

  move(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; dropLeases?: boolean },
  ): Promise<Moved> {
    return this.share.move(from, to, options.overwrite, this.held, options.dropLeases);
  }

  copy(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; recursive: boolean; attributes?: FileAttributes },
  ): Promise<Moved> {
    const { attributes, ...rest } = options;
    if (attributes === undefined) return this.share.copy(from, to, rest, this.held);
    const attrs = encodeAttributes(checkAttributes(attributes, to));
    return this.share.copy(from, to, { ...rest, attrs }, this.held);
  }

  /** The versions of what stood at `path` the share still keeps, newest first. */
  history(path: FsPath, limit: number, before?: number): Promise<HistoryPage> {
    return this.share.history(path, limit, before);
  }

  /** Brings back `from` as it was at `at`, at `to`, as one new version. */
  restore(from: FsPath, at: ReadAt, to: FsPath): Promise<{ entry: FileEntry; version: number }> {
    return this.share.restore(from, at, to, this.held);
  }
}

/** Reads a small body of declared length, refusing one that is shorter or longer. */
async function readExactly(stream: ReadableStream<Uint8Array>, length: number) {
  const reader = stream.getReader();
  const got = await readUpTo(reader, length);
  if (!got.done || got.size !== length) {
    await reader.cancel().catch(() => undefined);
    throw invalid(`the request body is not ${length} bytes long, as its Content-Length says`);
  }
  return concat(got.chunks, got.size);
}
