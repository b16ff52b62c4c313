// The SDK's upload engine: a body goes up as one PUT, or as a multipart
// upload with N parts in flight, each part retried, progress reported.
// Runtime-agnostic (fetch, streams, Blob).
import type { FileEntry } from "../core/types.js";
import { InvalidRequestError } from "./errors.js";
import { absolute, encodePath, type HttpClient, jsonBody } from "./http.js";
import { type LeaseRef, leaseHeader } from "./leases.js";
import { checkValue, type KeysOf } from "./options.js";

/** Bytes sent (or received) so far, and the total when it is known. */
export interface Progress {
  bytes: number;
  total?: number;
}

/** What writeFile accepts. Strings are written as UTF-8. */
export type WriteData = Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | string;

export interface WriteOptions {
  /** Called as bytes are sent: at least once per multipart part, and at the end. */
  onProgress?: (p: Progress) => void;
  /** The file name when remotePath ends with "/" (default: a File's own name). */
  name?: string;
  /** Part size of multipart uploads, default 16 MiB (the server accepts 5 MiB to 5 GiB). */
  partSize?: number;
  /** Parts sent at once, default 4. */
  concurrency?: number;
  /**
   * Bodies bigger than this go through the multipart upload API, default 64 MiB.
   * A ReadableStream is buffered up to this size to learn which way it goes;
   * `Infinity` streams it in one PUT without buffering (such a PUT is never retried).
   */
  multipartThreshold?: number;
  /**
   * Compare-and-swap: write only if the file is still at this ETag (as stat()
   * or a write answered it); `"*"`: only if the file exists. Else
   * PreconditionError (412) and nothing is written.
   */
  ifMatch?: string;
  /**
   * `"*"`: create only — PreconditionError (412) if the file exists. An ETag:
   * write unless the file is at that version.
   */
  ifNoneMatch?: string;
  /** The lease (or leases, up to 16) this write holds: needed where someone leased the path. */
  lease?: LeaseRef | readonly LeaseRef[];
}

/** Every key of WriteOptions: anything else is refused (InvalidRequestError, status 0). */
export const WRITE_KEYS = {
  onProgress: true,
  name: true,
  partSize: true,
  concurrency: true,
  multipartThreshold: true,
  ifMatch: true,
  ifNoneMatch: true,
  lease: true,
} as const satisfies KeysOf<WriteOptions>;

/** Refuses, before any request, option values of the wrong type. */
export function checkWriteOptions(options: WriteOptions): void {
  const what = "writeFile";
  const isFunction = (v: unknown) => typeof v === "function";
  const isString = (v: unknown) => typeof v === "string";
  const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
  checkValue(what, "onProgress", options.onProgress, isFunction, "a function");
  checkValue(what, "name", options.name, isString, "a string");
  checkValue(what, "partSize", options.partSize, isCount, "a positive integer");
  checkValue(what, "concurrency", options.concurrency, isCount, "a positive integer");
  checkValue(
    what,
    "multipartThreshold",
    options.multipartThreshold,
    (v) => typeof v === "number" && v >= 0,
    "a non-negative number",
  );
  const isCondition = (v: unknown) => typeof v === "string" && v.trim() !== "";
  checkValue(what, "ifMatch", options.ifMatch, isCondition, 'an ETag or "*"');
  checkValue(what, "ifNoneMatch", options.ifNoneMatch, isCondition, '"*" or an ETag');
}

/** The headers of a write: its conditions and the leases it holds. */
export interface WriteHeaders {
  /** If-Match / If-None-Match: on the PUT, or on the multipart upload's create. */
  conditions: Record<string, string>;
  /** Edgefs-Lease: on every request that changes something. */
  lease: Record<string, string>;
}

export function writeHeaders(options: WriteOptions): WriteHeaders {
  const conditions: Record<string, string> = {};
  if (options.ifMatch !== undefined) conditions["if-match"] = options.ifMatch;
  if (options.ifNoneMatch !== undefined) conditions["if-none-match"] = options.ifNoneMatch;
  return { conditions, lease: leaseHeader("writeFile", options.lease) };
}

const MiB = 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * MiB;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_MULTIPART_THRESHOLD = 64 * MiB;
const MAX_PARTS = 10_000;

const encoder = new TextEncoder();

/** Where a file goes: the route of its share and its path in there. */
export interface UploadTarget {
  shareRoute: string;
  path: string;
  /** A staged upload (for a batch commit): complete stores it and commits nothing. */
  stage?: boolean;
}

/**
 * Writes `data` to the target and answers the number of bytes written: one
 * PUT up to the threshold, the multipart upload API above it.
 */
export async function upload(
  http: HttpClient,
  target: UploadTarget,
  data: WriteData,
  options: WriteOptions,
  headers: WriteHeaders = writeHeaders(options),
): Promise<number> {
  const threshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
  const source = typeof data === "string" ? encoder.encode(data) : data;
  if (source instanceof ReadableStream) {
    if (threshold === Number.POSITIVE_INFINITY)
      return putStream(http, target, source, options, headers);
    return writeStream(http, target, source, threshold, options, headers);
  }
  const body = source instanceof ArrayBuffer ? new Uint8Array(source) : source;
  const size = body instanceof Blob ? body.size : body.byteLength;
  if (size > threshold) {
    return (await multipart(http, target, sliceParts(body, size, options), options, headers)).bytes;
  }
  return putBytes(http, target, body, options, headers);
}

/**
 * Sends `data` as a staged upload (always the multipart API: a batch commit's
 * put op names its uploadId) and answers that id and the bytes sent. Nothing
 * is visible until the commit.
 */
export async function stageUpload(
  http: HttpClient,
  target: UploadTarget,
  data: Uint8Array | Blob | ReadableStream<Uint8Array>,
  options: Pick<WriteOptions, "onProgress" | "partSize" | "concurrency">,
): Promise<{ uploadId: string; bytes: number }> {
  const staged = { ...target, stage: true };
  const headers = writeHeaders({});
  if (data instanceof ReadableStream) {
    const reader = data.getReader();
    const chunker = new Chunker(reader, options.partSize ?? DEFAULT_PART_SIZE);
    const parts: PartSource = {
      total: undefined,
      partSize: chunker.partSize,
      next: () => chunker.next(),
      cancel: (reason) => reader.cancel(reason).catch(() => undefined),
    };
    return multipart(http, staged, parts, options, headers);
  }
  const size = data instanceof Blob ? data.size : data.byteLength;
  return multipart(http, staged, sliceParts(data, size, options), options, headers);
}

/** The path to write: a trailing "/" means "into that directory, under the source's name". */
export function targetPath(remotePath: string, data: WriteData, name: string | undefined): string {
  if (!remotePath.endsWith("/")) return remotePath;
  const own =
    name ??
    (typeof Blob !== "undefined" && data instanceof Blob && "name" in data
      ? (data as Blob & { name: unknown }).name
      : undefined);
  if (typeof own !== "string" || own === "") {
    throw new InvalidRequestError(
      `${remotePath} is a directory: name the file (options.name) or pass a File`,
      { status: 0, path: remotePath },
    );
  }
  if (own.includes("/") || own === "." || own === "..") {
    throw new InvalidRequestError(`not a file name: ${own}`, { status: 0, path: remotePath });
  }
  return `${remotePath}${own}`;
}

/** The file's own route. Built only when used: a multipart upload names the path in JSON. */
function fileRoute({ shareRoute, path }: UploadTarget): string {
  return `${shareRoute}/files/${encodePath(path)}`;
}

/**
 * One PUT of a replayable body, retried on network errors and 5xx — unless
 * it is conditional: a retry of a write that did land would fail its own
 * condition (412) and report a success as a failure.
 */
async function putBytes(
  http: HttpClient,
  target: UploadTarget,
  body: Uint8Array | Blob,
  options: WriteOptions,
  headers: WriteHeaders,
): Promise<number> {
  const size = body instanceof Blob ? body.size : body.byteLength;
  const conditional = Object.keys(headers.conditions).length > 0;
  const written = await http.json<FileEntry>("PUT", fileRoute(target), {
    body: body as Uint8Array<ArrayBuffer> | Blob,
    headers: { ...headers.conditions, ...headers.lease },
    ...(conditional ? { retry: false } : {}),
  });
  options.onProgress?.({ bytes: size, total: size });
  return written.size ?? size;
}

/** One PUT of a stream of unknown length, counted as fetch pulls it. Never retried. */
async function putStream(
  http: HttpClient,
  target: UploadTarget,
  stream: ReadableStream<Uint8Array>,
  options: WriteOptions,
  headers: WriteHeaders,
): Promise<number> {
  let bytes = 0;
  const onProgress = options.onProgress;
  const counted = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        onProgress?.({ bytes });
        controller.enqueue(chunk);
      },
    }),
  );
  const written = await http.json<FileEntry>("PUT", fileRoute(target), {
    body: counted,
    headers: { ...headers.conditions, ...headers.lease },
  });
  onProgress?.({ bytes, total: bytes });
  return written.size ?? bytes;
}

/** A stream: buffered up to the threshold, then one PUT or a multipart upload. */
async function writeStream(
  http: HttpClient,
  target: UploadTarget,
  stream: ReadableStream<Uint8Array>,
  threshold: number,
  options: WriteOptions,
  headers: WriteHeaders,
): Promise<number> {
  const reader = stream.getReader();
  const chunker = new Chunker(reader, options.partSize ?? DEFAULT_PART_SIZE);
  const head: Uint8Array<ArrayBuffer>[] = [];
  let headBytes = 0;
  try {
    while (headBytes <= threshold) {
      const part = await chunker.next();
      if (part === undefined) break;
      head.push(part);
      headBytes += part.byteLength;
    }
  } catch (e) {
    await reader.cancel(e).catch(() => undefined);
    throw e;
  }
  if (headBytes <= threshold) {
    const only = head.length === 1 ? head[0] : undefined;
    return putBytes(http, target, only ?? new Blob(head), options, headers);
  }
  const parts: PartSource = {
    total: undefined,
    partSize: chunker.partSize,
    next: async () => head.shift() ?? (await chunker.next()),
    cancel: (reason) => reader.cancel(reason).catch(() => undefined),
  };
  return (await multipart(http, target, parts, options, headers)).bytes;
}

/**
 * The multipart upload API: create, parts with bounded parallelism (each
 * retried by the transport), complete; abort when anything fails.
 */
async function multipart(
  http: HttpClient,
  target: UploadTarget,
  parts: PartSource,
  options: WriteOptions,
  headers: WriteHeaders,
): Promise<{ uploadId: string; bytes: number }> {
  const created = await createUpload(http, target, parts, headers).catch(async (e: unknown) => {
    await parts.cancel(e);
    throw e;
  });
  const lease = { headers: headers.lease };
  const uploadRoute = `${target.shareRoute}/uploads/${encodeURIComponent(created.uploadId)}`;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  let bytes = 0;
  let partNumber = 0;
  let failure: { error: unknown } | undefined;
  // Parts are taken one at a time (a stream is read in order) …
  let queue: Promise<unknown> = Promise.resolve();
  const take = (): Promise<{ n: number; body: Uint8Array | Blob } | undefined> => {
    const taken = queue.then(async () => {
      if (failure) return undefined;
      const body = await parts.next();
      return body === undefined ? undefined : { n: ++partNumber, body };
    });
    queue = taken.catch(() => undefined);
    return taken;
  };
  // … and sent by up to `concurrency` workers at once.
  const worker = async () => {
    try {
      for (let part = await take(); part !== undefined; part = await take()) {
        await http.send("PUT", `${uploadRoute}/parts/${part.n}`, {
          body: part.body as Uint8Array<ArrayBuffer> | Blob,
          retry: true,
          ...lease,
        });
        bytes += part.body instanceof Blob ? part.body.size : part.body.byteLength;
        options.onProgress?.({ bytes, total: parts.total });
      }
    } catch (error) {
      failure ??= { error };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (!failure) {
    try {
      if (partNumber === 0) {
        // An empty stream has no part at all; R2 wants at least one.
        await http.send("PUT", `${uploadRoute}/parts/1`, { body: new Uint8Array(0), ...lease });
      }
      // A staged upload answers {uploadId, staged}: no entry, nothing committed yet.
      const written = await http.json<Partial<FileEntry>>("POST", `${uploadRoute}/complete`, lease);
      options.onProgress?.({ bytes, total: bytes });
      return { uploadId: created.uploadId, bytes: written.size ?? bytes };
    } catch (error) {
      failure = { error };
    }
  }
  await parts.cancel(failure.error);
  await http.send("DELETE", uploadRoute, lease).catch(() => undefined);
  throw failure.error;
}

/** Clients whose server refused the declared `size` (a gateway older than the field). */
const sizeRefused = new WeakSet<HttpClient>();

/**
 * POST …/uploads, declaring the total size when it is known, so the server
 * refuses parts and a complete that do not add up to it (a cut-short upload
 * is never committed). A gateway that predates `size` refuses the field by
 * name (400, unrecognized key): then the upload is created without it, and
 * this client stops declaring it.
 */
async function createUpload(
  http: HttpClient,
  target: UploadTarget,
  parts: PartSource,
  headers: WriteHeaders,
): Promise<{ uploadId: string; partSize: number }> {
  const route = `${target.shareRoute}/uploads`;
  const base = {
    path: absolute(target.path),
    partSize: parts.partSize,
    ...(target.stage ? { stage: true } : {}),
  };
  const create = (body: object) => {
    const request = jsonBody(body);
    return http.json<{ uploadId: string; partSize: number }>("POST", route, {
      ...request,
      headers: { ...request.headers, ...headers.conditions, ...headers.lease },
    });
  };
  if (parts.total === undefined || sizeRefused.has(http)) return create(base);
  try {
    return await create({ ...base, size: parts.total });
  } catch (e) {
    if (!(e instanceof InvalidRequestError && refusesSizeField(e.message))) throw e;
    sizeRefused.add(http);
    return create(base);
  }
}

/** zod's message for a strict schema without `size`: `Unrecognized key: "size"`. */
function refusesSizeField(message: string): boolean {
  return /unrecognized key/i.test(message) && message.includes('"size"');
}

/** Where multipart parts come from: slices of a known body, or a stream read in order. */
interface PartSource {
  total: number | undefined;
  partSize: number;
  next(): Promise<Uint8Array | Blob | undefined>;
  cancel(reason: unknown): Promise<unknown>;
}

function sliceParts(body: Uint8Array | Blob, size: number, options: WriteOptions): PartSource {
  // Raise the part size when the file would need more than 10,000 parts.
  const partSize = Math.max(options.partSize ?? DEFAULT_PART_SIZE, Math.ceil(size / MAX_PARTS));
  let at = 0;
  return {
    total: size,
    partSize,
    next: async () => {
      if (at >= size) return undefined;
      const end = Math.min(size, at + partSize);
      const part = body instanceof Blob ? body.slice(at, end) : body.subarray(at, end);
      at = end;
      return part;
    },
    cancel: async () => undefined,
  };
}

/** Cuts a byte stream into parts of exactly partSize bytes (the last may be shorter). */
class Chunker {
  readonly partSize: number;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #done = false;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, partSize: number) {
    if (!Number.isSafeInteger(partSize) || partSize < 1) {
      throw new InvalidRequestError(`partSize must be a positive integer, not ${partSize}`, {
        status: 0,
      });
    }
    this.#reader = reader;
    this.partSize = partSize;
  }

  async next(): Promise<Uint8Array<ArrayBuffer> | undefined> {
    while (!this.#done && this.#pendingBytes < this.partSize) {
      const { done, value } = await this.#reader.read();
      if (done) this.#done = true;
      else if (value.byteLength > 0) {
        this.#pending.push(value);
        this.#pendingBytes += value.byteLength;
      }
    }
    if (this.#pendingBytes === 0) return undefined;
    const size = Math.min(this.partSize, this.#pendingBytes);
    const part = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const chunk = this.#pending[0] as Uint8Array;
      const take = Math.min(chunk.byteLength, size - at);
      part.set(chunk.subarray(0, take), at);
      at += take;
      if (take === chunk.byteLength) this.#pending.shift();
      else this.#pending[0] = chunk.subarray(take);
    }
    this.#pendingBytes -= size;
    return part;
  }
}
