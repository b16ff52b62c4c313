/// <reference lib="esnext.disposable" />
// NetworkFileSystem: Modal's API of the same name over the edgefs HTTP API.
// Runtime-agnostic (fetch, streams, Blob, timers): Node, browsers, Workers.

// The wire types are the server's own: one definition of the contract.
import type { FileEntry, ShareInfo } from "../core/types.js";
import {
  InvalidRequestError,
  IsADirectoryError,
  NotADirectoryError,
  NotFoundError,
  ServerError,
} from "./errors.js";
import { type ClientOptions, encodePath, HttpClient } from "./http.js";

export type { FileEntry, ShareInfo };

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
}

/** A remote file, read lazily: each consumption is one streamed GET. */
export interface FileReader extends AsyncIterable<Uint8Array> {
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  stream(): Promise<ReadableStream<Uint8Array>>;
}

/** Options of fromName() and the constructor. */
export type FromNameOptions = ClientOptions & { createIfMissing?: boolean };
/** Options of ephemeral(). */
export type EphemeralOptions = ClientOptions & { ttlSeconds?: number };
/** Options of readFile(): a byte range. */
export interface ReadOptions {
  offset?: number;
  length?: number;
}

/** The constructor shape the static factories build with, so subclasses get themselves back. */
export type NetworkFileSystemClass<T extends NetworkFileSystem> = new (
  name: string,
  options?: FromNameOptions,
) => T;

const MiB = 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * MiB;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_MULTIPART_THRESHOLD = 64 * MiB;
const MAX_PARTS = 10_000;
const DEFAULT_EPHEMERAL_TTL_SECONDS = 600;
const LIST_PAGE = 1000;

const encoder = new TextEncoder();

/**
 * A named, shared, writable file system on edgefs.
 *
 * ```ts
 * const nfs = NetworkFileSystem.fromName("demo", { createIfMissing: true });
 * await nfs.writeFile("/docs/hello.txt", "hello\n");
 * for await (const chunk of nfs.readFile("/docs/hello.txt")) console.log(chunk);
 * ```
 */
export class NetworkFileSystem {
  readonly name: string;
  readonly environment: string;
  /** The transport (configuration, retries, error mapping), for subclasses. */
  protected readonly http: HttpClient;
  readonly #createIfMissing: boolean;
  #created: Promise<void> | undefined;

  /** Same as fromName(): lazy, no request until the first use. */
  constructor(name: string, options: FromNameOptions = {}) {
    this.http = new HttpClient(options);
    this.name = name;
    this.environment = this.http.environment;
    this.#createIfMissing = options.createIfMissing ?? false;
  }

  // ── Shares ──────────────────────────────────────────────────────────

  /** A share by name. Lazy; with createIfMissing the first use creates it (idempotent PUT). */
  static fromName<T extends NetworkFileSystem>(
    this: NetworkFileSystemClass<T>,
    name: string,
    options?: FromNameOptions,
  ): T {
    return new this(name, options);
  }

  /**
   * A new share with a generated name that lives while this process sends
   * heartbeats (every ttl/3). `await using nfs = await NetworkFileSystem.ephemeral()`
   * deletes it at the end of the block.
   */
  static async ephemeral<T extends NetworkFileSystem>(
    this: NetworkFileSystemClass<T>,
    options: EphemeralOptions = {},
  ): Promise<T & AsyncDisposable> {
    const { ttlSeconds, ...clientOptions } = options;
    const http = new HttpClient(clientOptions);
    const body = ttlSeconds === undefined ? { ephemeral: true } : { ephemeral: true, ttlSeconds };
    const info = await http.json<ShareInfo>("POST", "/v1/shares", jsonBody(body));
    const nfs = new this(info.name, clientOptions);
    const route = `/v1/shares/${encodeURIComponent(info.name)}`;
    const ttlMs = (ttlSeconds ?? DEFAULT_EPHEMERAL_TTL_SECONDS) * 1000;
    let timer: ReturnType<typeof setInterval> | undefined = setInterval(() => {
      // A missed heartbeat is made up by the next one, a ttl/3 later.
      http.send("POST", `${route}/heartbeat`).catch(() => undefined);
    }, ttlMs / 3);
    // Let a Node process exit while the timer runs (no-op elsewhere).
    (timer as unknown as { unref?: () => void }).unref?.();
    let disposed: Promise<void> | undefined;
    const dispose = (): Promise<void> => {
      disposed ??= (async () => {
        if (timer !== undefined) clearInterval(timer);
        timer = undefined;
        try {
          await http.send("DELETE", route);
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e; // already expired: nothing to delete
        }
      })();
      return disposed;
    };
    return Object.assign(nfs, { [Symbol.asyncDispose]: dispose });
  }

  /** Deletes a share with all its data. */
  static async delete(name: string, options?: ClientOptions): Promise<void> {
    await new HttpClient(options).send("DELETE", `/v1/shares/${encodeURIComponent(name)}`);
  }

  /** Every share of the environment (pages through cursors). */
  static async list(options?: ClientOptions): Promise<ShareInfo[]> {
    const http = new HttpClient(options);
    const shares: ShareInfo[] = [];
    let cursor: string | undefined;
    do {
      const page: { shares: ShareInfo[]; cursor?: string } = await http.json("GET", "/v1/shares", {
        query: { cursor },
      });
      shares.push(...page.shares);
      cursor = nextCursor(cursor, page.cursor);
    } while (cursor !== undefined);
    return shares;
  }

  /** This share's description. */
  async info(): Promise<ShareInfo> {
    await this.#ready();
    return this.http.json<ShareInfo>("GET", this.#shareRoute());
  }

  // ── Writing ─────────────────────────────────────────────────────────

  /**
   * Writes a file atomically (parents are created) and answers the number of
   * bytes written. A remotePath ending in "/" writes into that directory under
   * options.name, else a File's own name. Big bodies go through the multipart
   * upload API, in parallel parts that are each retried.
   */
  async writeFile(
    remotePath: string,
    data: WriteData,
    options: WriteOptions = {},
  ): Promise<number> {
    const path = targetPath(remotePath, data, options.name);
    await this.#ready();
    const threshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    const source = typeof data === "string" ? encoder.encode(data) : data;
    if (source instanceof ReadableStream) {
      if (threshold === Number.POSITIVE_INFINITY) return this.#putStream(path, source, options);
      return this.#writeStream(path, source, threshold, options);
    }
    const body = source instanceof ArrayBuffer ? new Uint8Array(source) : source;
    const size = body instanceof Blob ? body.size : body.byteLength;
    if (size > threshold) return this.#multipart(path, sliceParts(body, size, options), options);
    return this.#putBytes(path, body, options);
  }

  /** mkdir -p. */
  async mkdir(path: string): Promise<void> {
    await this.#ready();
    const encoded = encodePath(path).replace(/\/*$/, "/");
    await this.http.send("PUT", `${this.#shareRoute()}/files/${encoded}`, {
      body: new Uint8Array(0),
    });
  }

  /** Deletes a file, or a directory (a non-empty one only with recursive). */
  async removeFile(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    await this.#ready();
    await this.http.send("DELETE", this.#fileRoute("files", path), {
      query: { recursive: options.recursive ? "true" : undefined },
    });
  }

  /** Renames a file or a directory tree (metadata only). */
  async move(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<FileEntry> {
    await this.#ready();
    const body = { from: absolute(from), to: absolute(to), overwrite: options.overwrite ?? false };
    return this.http.json<FileEntry>("POST", `${this.#shareRoute()}/move`, jsonBody(body));
  }

  /** Copies a file, or a directory tree with recursive (blobs are shared by reference). */
  async copy(
    from: string,
    to: string,
    options: { recursive?: boolean; overwrite?: boolean } = {},
  ): Promise<FileEntry> {
    await this.#ready();
    const body = {
      from: absolute(from),
      to: absolute(to),
      recursive: options.recursive ?? false,
      overwrite: options.overwrite ?? false,
    };
    return this.http.json<FileEntry>("POST", `${this.#shareRoute()}/copy`, jsonBody(body));
  }

  // ── Reading ─────────────────────────────────────────────────────────

  /** A file's bytes, streamed when consumed; offset/length read a range. */
  readFile(path: string, options: ReadOptions = {}): FileReader {
    checkRange(options);
    return new RemoteFile(async () => (await this.openRead(path, options)).stream);
  }

  /**
   * Entries of a directory (names relative to it), a file (itself) or a glob
   * (absolute paths), page by page: constant memory for any size.
   */
  async *iterdir(path = "/", options: { recursive?: boolean } = {}): AsyncGenerator<FileEntry> {
    await this.#ready();
    const route = this.#fileRoute("list", path);
    let cursor: string | undefined;
    do {
      const page: { entries: FileEntry[]; cursor?: string } = await this.http.json("GET", route, {
        query: { recursive: options.recursive ? "true" : undefined, limit: LIST_PAGE, cursor },
      });
      yield* page.entries;
      cursor = nextCursor(cursor, page.cursor);
    } while (cursor !== undefined);
  }

  /** iterdir() into an array. */
  async listdir(path = "/", options: { recursive?: boolean } = {}): Promise<FileEntry[]> {
    const entries: FileEntry[] = [];
    for await (const entry of this.iterdir(path, options)) entries.push(entry);
    return entries;
  }

  /** One entry: a file or a directory. */
  async stat(path: string): Promise<FileEntry> {
    await this.#ready();
    return this.http.json<FileEntry>("GET", this.#fileRoute("stat", path));
  }

  /** Whether a file or directory exists at path. */
  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof NotADirectoryError) return false;
      throw e;
    }
  }

  /**
   * Opens a streamed GET of a file (or its range): the body and its length
   * when the server said. For subclasses (Node's readFileTo).
   */
  protected async openRead(
    path: string,
    options: ReadOptions = {},
  ): Promise<{ stream: ReadableStream<Uint8Array>; size: number | undefined }> {
    await this.#ready();
    if (options.length === 0) {
      // An empty range has no Range header: check the file, read nothing.
      const entry = await this.stat(path);
      if (entry.type === "directory") {
        throw new IsADirectoryError(`is a directory: ${entry.path}`, { status: 0, path });
      }
      return { stream: new Blob([]).stream(), size: 0 };
    }
    const range = rangeHeader(options);
    const res = await this.http.request("GET", this.#fileRoute("files", path), {
      headers: range === undefined ? {} : { range },
    });
    const length = res.headers.get("content-length");
    return {
      stream: res.body ?? new Blob([]).stream(),
      size: length === null ? undefined : Number(length),
    };
  }

  // ── Internals ───────────────────────────────────────────────────────

  #ready(): Promise<void> {
    if (!this.#createIfMissing) return Promise.resolve();
    this.#created ??= this.http.send("PUT", this.#shareRoute()).catch((e: unknown) => {
      this.#created = undefined; // try again on the next use
      throw e;
    });
    return this.#created;
  }

  #shareRoute(): string {
    return `/v1/shares/${encodeURIComponent(this.name)}`;
  }

  #fileRoute(kind: "files" | "stat" | "list", path: string): string {
    return `${this.#shareRoute()}/${kind}/${encodePath(path)}`;
  }

  /** One PUT of a replayable body (retried on network errors and 5xx). */
  async #putBytes(path: string, body: Uint8Array | Blob, options: WriteOptions): Promise<number> {
    const size = body instanceof Blob ? body.size : body.byteLength;
    const written = await this.http.json<FileEntry>("PUT", this.#fileRoute("files", path), {
      body: body as Uint8Array<ArrayBuffer> | Blob,
    });
    options.onProgress?.({ bytes: size, total: size });
    return written.size ?? size;
  }

  /** One PUT of a stream of unknown length, counted as fetch pulls it. Never retried. */
  async #putStream(
    path: string,
    stream: ReadableStream<Uint8Array>,
    options: WriteOptions,
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
    const written = await this.http.json<FileEntry>("PUT", this.#fileRoute("files", path), {
      body: counted,
    });
    onProgress?.({ bytes, total: bytes });
    return written.size ?? bytes;
  }

  /** A stream: buffered up to the threshold, then one PUT or a multipart upload. */
  async #writeStream(
    path: string,
    stream: ReadableStream<Uint8Array>,
    threshold: number,
    options: WriteOptions,
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
      return this.#putBytes(path, only ?? new Blob(head), options);
    }
    const parts: PartSource = {
      total: undefined,
      partSize: chunker.partSize,
      next: async () => head.shift() ?? (await chunker.next()),
      cancel: (reason) => reader.cancel(reason).catch(() => undefined),
    };
    return this.#multipart(path, parts, options);
  }

  /**
   * The multipart upload API: create, parts with bounded parallelism (each
   * retried by the transport), complete; abort when anything fails.
   */
  async #multipart(path: string, parts: PartSource, options: WriteOptions): Promise<number> {
    const created = await this.http
      .json<{ uploadId: string; partSize: number }>(
        "POST",
        `${this.#shareRoute()}/uploads`,
        jsonBody({ path: absolute(path), partSize: parts.partSize }),
      )
      .catch(async (e: unknown) => {
        await parts.cancel(e);
        throw e;
      });
    const uploadRoute = `${this.#shareRoute()}/uploads/${encodeURIComponent(created.uploadId)}`;
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
          await this.http.send("PUT", `${uploadRoute}/parts/${part.n}`, {
            body: part.body as Uint8Array<ArrayBuffer> | Blob,
            retry: true,
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
          await this.http.send("PUT", `${uploadRoute}/parts/1`, { body: new Uint8Array(0) });
        }
        const written = await this.http.json<FileEntry>("POST", `${uploadRoute}/complete`);
        options.onProgress?.({ bytes, total: bytes });
        return written.size ?? bytes;
      } catch (error) {
        failure = { error };
      }
    }
    await parts.cancel(failure.error);
    await this.http.send("DELETE", uploadRoute).catch(() => undefined);
    throw failure.error;
  }
}

// ── Helpers ───────────────────────────────────────────────────────────

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

/** A lazily opened remote file: every consumption is its own GET. */
class RemoteFile implements FileReader {
  readonly #open: () => Promise<ReadableStream<Uint8Array>>;

  constructor(open: () => Promise<ReadableStream<Uint8Array>>) {
    this.#open = open;
  }

  stream(): Promise<ReadableStream<Uint8Array>> {
    return this.#open();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const reader = (await this.#open()).getReader();
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          finished = true;
          return;
        }
        yield value;
      }
    } finally {
      // Stopped early (break, throw): tell the server we are done.
      if (!finished) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  }

  async bytes(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this) {
      chunks.push(chunk);
      size += chunk.byteLength;
    }
    if (chunks.length === 1) return chunks[0] as Uint8Array;
    const out = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }
}

/** The path to write: a trailing "/" means "into that directory, under the source's name". */
function targetPath(remotePath: string, data: WriteData, name: string | undefined): string {
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

/** A path as JSON bodies take it: absolute. */
function absolute(path: string): string {
  return path.startsWith("/") ? path : `/${path}`;
}

function jsonBody(body: unknown) {
  return { body: JSON.stringify(body), headers: { "content-type": "application/json" } };
}

/** The next cursor, refusing one that would loop forever. */
function nextCursor(previous: string | undefined, next: string | undefined): string | undefined {
  if (next === undefined || next === "") return undefined;
  if (next === previous) throw new ServerError(`the server repeated cursor ${next}`);
  return next;
}

function checkRange(options: ReadOptions): void {
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new InvalidRequestError(`${key} must be a non-negative integer, not ${value}`, {
        status: 0,
      });
    }
  }
}

function rangeHeader({ offset = 0, length }: ReadOptions): string | undefined {
  if (length === undefined) return offset === 0 ? undefined : `bytes=${offset}-`;
  return `bytes=${offset}-${offset + length - 1}`;
}
