import type { Config } from "../config";
import type {
  Backend,
  ListQuery,
  ReadOptions,
  ReadResult,
  WriteBody,
  WriteResult,
} from "../core/backend";
import { invalid, notFound } from "../core/errors";
import type { FsPath } from "../core/paths";
import { evaluateReadConditions, type WriteConditions } from "../core/preconditions";
import { parseRange } from "../core/range";
import type { FileEntry, ListPage } from "../core/types";
import { unwrap } from "../durable/rpc";
import type { ShareDO } from "../durable/share-do";
import { getBlob, putChunked, putKnownLength } from "../r2/blob-store";
import { bodyError, concat, readUpTo } from "../r2/body";

/** R2's single-put ceiling; larger bodies of known length go multipart too. */
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
    const reader = stream.getReader();
    let head: Uint8Array[] = [];
    if (body.length === undefined) {
      // Unknown length: a body that ends within the inline limit is small.
      const start = await readUpTo(reader, inlineMax);
      if (start.done) {
        return unwrap(
          this.stub.writeInline(
            path,
            concat(start.chunks, start.size).buffer,
            conditions,
            this.held,
          ),
        );
      }
      head = start.chunks;
    }
    const { blobId, key } = await unwrap(this.stub.reserveWrite(path, conditions, this.held));
    try {
      let size: number;
      if (body.length !== undefined && body.length <= R2_SINGLE_PUT_MAX) {
        reader.releaseLock();
        await putKnownLength(this.bucket, key, stream, body.length);
        size = body.length;
      } else {
        size = await putChunked(this.bucket, key, head, reader, (uploadId) =>
          unwrap(this.stub.attachUpload(blobId, uploadId)),
        );
        if (body.length !== undefined && size !== body.length) throw bodyError("length mismatch");
      }
      return await unwrap(this.stub.commitWrite(path, blobId, size, conditions, this.held));
    } catch (e) {
      // Nothing became visible; let GC reclaim the blob now rather than at expiry.
      this.waitUntil(unwrap(this.stub.abortWrite(blobId)).catch(() => undefined));
      throw e;
    }
  }

  mkdir(path: FsPath): Promise<WriteResult> {
    return unwrap(this.stub.mkdir(path, this.held));
  }

  remove(path: FsPath, options: { recursive: boolean }): Promise<void> {
    return unwrap(this.stub.remove(path, options.recursive, this.held));
  }

  move(from: FsPath, to: FsPath, options: { overwrite: boolean }): Promise<FileEntry> {
    return unwrap(this.stub.move(from, to, options.overwrite, this.held));
  }

  copy(
    from: FsPath,
    to: FsPath,
    options: { overwrite: boolean; recursive: boolean },
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
