import type { Config } from "../config";
import type {
  Backend,
  ListQuery,
  Overwrite,
  ReadOptions,
  ReadResult,
  UploadInfo,
  UploadPart,
  UploadStatus,
  WriteBody,
  WriteResult,
} from "../core/backend";
import { invalid, notFound } from "../core/errors";
import type { FsPath } from "../core/paths";
import { evaluateReadConditions, type WriteConditions } from "../core/preconditions";
import { parseRange } from "../core/range";
import { bodyError, concat, fixedSizeParts, readUpTo } from "../core/streams";
import type { FileEntry, ListPage } from "../core/types";
import { unwrap } from "../durable/rpc";
import type { ShareDO } from "../durable/share-do";
import { getBlob, putKnownLength } from "../r2/blob-store";
import { completeMultipart, putPart, startMultipart } from "../r2/multipart";

/** Part size for bodies of unknown length: 10 MiB × R2's 10,000 parts ≈ 97 GiB per file. */
export const CHUNKED_PART_SIZE = 10 * 1024 * 1024;

/**
 * R2's single-put ceiling, 5 GiB less 5 MiB
 * (https://developers.cloudflare.com/r2/platform/limits/); larger bodies of
 * known length go multipart too.
 */
const R2_SINGLE_PUT_MAX = 5 * 1024 ** 3 - 5 * 1024 ** 2;

export function shareStub(
  env: Env,
  environment: string,
  share: string,
): DurableObjectStub<ShareDO> {
  return env.SHARE.get(
    env.SHARE.idFromName(`${environment}/${share}`),
  ) as DurableObjectStub<ShareDO>;
}

/**
 * The Backend of a share: metadata in its ShareDO, bytes in R2 (or inline
 * in the ShareDO for small files). Bytes flow between the client and R2
 * here in the Worker; the ShareDO only answers small metadata calls.
 */
export class ShareBackend implements Backend {
  constructor(
    private readonly stub: DurableObjectStub<ShareDO>,
    private readonly bucket: R2Bucket,
    private readonly config: Config,
    private readonly waitUntil: (p: Promise<unknown>) => void,
    /** Lease ids the request holds (`Edgefs-Lease`), checked on every change. */
    private readonly held: string[] = [],
  ) {}

  stat(path: FsPath): Promise<FileEntry> {
    return unwrap(this.stub.stat(path));
  }

  list(query: ListQuery): Promise<ListPage<FileEntry>> {
    return unwrap(this.stub.list(query));
  }

  async read(path: FsPath, options: ReadOptions): Promise<ReadResult> {
    const target = await unwrap(this.stub.openRead(path));
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

  async write(path: FsPath, body: WriteBody, conditions: WriteConditions): Promise<WriteResult> {
    const inlineMax = this.config.inlineMaxBytes;
    const stream = body.stream ?? new Blob([]).stream();
    if (body.length !== undefined && body.length <= inlineMax) {
      const bytes = await readExactly(stream, body.length);
      return unwrap(this.stub.writeInline(path, bytes.buffer, conditions, this.held));
    }
    if (body.length !== undefined && body.length <= R2_SINGLE_PUT_MAX) {
      return this.writeOnePut(path, stream, body.length, conditions);
    }
    const reader = stream.getReader();
    let head: Uint8Array[] = [];
    if (body.length === undefined) {
      // Unknown length: a body that ends within the inline limit is small.
      const start = await readUpTo(reader, inlineMax);
      if (start.done) {
        const bytes = concat(start.chunks, start.size);
        return unwrap(this.stub.writeInline(path, bytes.buffer, conditions, this.held));
      }
      head = start.chunks;
    }
    return this.writeInParts(
      path,
      fixedSizeParts(head, reader, CHUNKED_PART_SIZE),
      body.length,
      conditions,
    );
  }

  /** A body of known length up to 5 GiB: reserve, one R2 put, commit. */
  private async writeOnePut(
    path: FsPath,
    stream: ReadableStream<Uint8Array>,
    length: number,
    conditions: WriteConditions,
  ): Promise<WriteResult> {
    const { blobId, key } = await unwrap(this.stub.reserveWrite(path, conditions, this.held));
    try {
      await putKnownLength(this.bucket, key, stream, length);
      return await unwrap(this.stub.commitWrite(path, blobId, length, conditions, this.held));
    } catch (e) {
      // Nothing became visible; let GC reclaim the blob now rather than at expiry.
      this.waitUntil(unwrap(this.stub.abortWrite(blobId)).catch(() => undefined));
      throw e;
    }
  }

  /**
   * A body of unknown length (or over 5 GiB) goes through the very same
   * multipart upload a client could drive by hand, cut into fixed parts. The
   * next part is read while the previous one uploads, so at most two parts
   * are in memory.
   */
  private async writeInParts(
    path: FsPath,
    parts: AsyncIterable<Uint8Array>,
    declaredLength: number | undefined,
    conditions: WriteConditions,
  ): Promise<WriteResult> {
    const upload = await this.createUpload(path, { partSize: CHUNKED_PART_SIZE, conditions });
    let inFlight: Promise<unknown> = Promise.resolve();
    try {
      let n = 0;
      let size = 0;
      for await (const part of parts) {
        await inFlight;
        size += part.byteLength;
        inFlight = this.uploadPart(upload.uploadId, ++n, part, part.byteLength);
      }
      await inFlight;
      if (declaredLength !== undefined && size !== declaredLength)
        throw bodyError("length mismatch");
      return await this.completeUpload(upload.uploadId);
    } catch (e) {
      await inFlight.catch(() => undefined);
      this.waitUntil(this.abortUpload(upload.uploadId).catch(() => undefined));
      throw e;
    }
  }

  async createUpload(
    path: FsPath,
    options: { partSize: number; conditions: WriteConditions },
  ): Promise<UploadInfo> {
    const created = await unwrap(
      this.stub.createUpload(
        path,
        options.partSize,
        options.conditions,
        this.held,
        this.config.uploadTtlMs,
      ),
    );
    try {
      const r2UploadId = await startMultipart(this.bucket, created.key);
      await unwrap(this.stub.startedUpload(created.uploadId, r2UploadId));
    } catch (e) {
      this.waitUntil(this.abortUpload(created.uploadId).catch(() => undefined));
      throw e;
    }
    return {
      uploadId: created.uploadId,
      path,
      partSize: created.partSize,
      expiresAt: created.expiresAt,
    };
  }

  async uploadPart(
    uploadId: string,
    n: number,
    body: ReadableStream<Uint8Array> | Uint8Array,
    length: number,
  ): Promise<UploadPart> {
    const target = await unwrap(this.stub.partTarget(uploadId, n, length));
    const etag = await putPart(this.bucket, target.key, target.r2UploadId, n, body, length);
    const part = { partNumber: n, size: length, etag };
    await unwrap(this.stub.recordPart(uploadId, part));
    return part;
  }

  uploadStatus(uploadId: string): Promise<UploadStatus> {
    return unwrap(this.stub.uploadStatus(uploadId));
  }

  async completeUpload(uploadId: string): Promise<WriteResult> {
    const { target, parts, size } = await unwrap(this.stub.beginComplete(uploadId, this.held));
    try {
      await completeMultipart(this.bucket, target.key, target.r2UploadId, parts);
    } catch (e) {
      await unwrap(this.stub.failComplete(uploadId)).catch(() => undefined);
      throw e;
    }
    return unwrap(this.stub.finishUpload(uploadId, size, this.held));
  }

  abortUpload(uploadId: string): Promise<void> {
    return unwrap(this.stub.abortUpload(uploadId));
  }

  mkdir(path: FsPath): Promise<WriteResult> {
    return unwrap(this.stub.mkdir(path, this.held));
  }

  remove(path: FsPath, options: { recursive: boolean; dropLeases?: boolean }): Promise<void> {
    return unwrap(this.stub.remove(path, options.recursive, this.held, options.dropLeases));
  }

  move(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; dropLeases?: boolean },
  ): Promise<FileEntry> {
    return unwrap(this.stub.move(from, to, options.overwrite, this.held, options.dropLeases));
  }

  copy(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; recursive: boolean },
  ): Promise<FileEntry> {
    return unwrap(this.stub.copy(from, to, options, this.held));
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
