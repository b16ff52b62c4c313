/// <reference lib="esnext.disposable" />
// NetworkFileSystem: Modal's API of the same name over the edgefs HTTP API.
// Runtime-agnostic (fetch, streams, Blob, timers): Node, browsers, Workers.

// The wire types are the server's own: one definition of the contract.
import type { FileEntry, ShareDetail, ShareInfo, ShareQuota } from "../core/types.js";
import { IsADirectoryError, NotADirectoryError, NotFoundError, ServerError } from "./errors.js";
import { absolute, type ClientOptions, encodePath, HttpClient, jsonBody } from "./http.js";
import {
  checkRange,
  type FileReader,
  type ReadOptions,
  RemoteFile,
  rangeHeader,
} from "./remote-file.js";
import { targetPath, upload, type WriteData, type WriteOptions } from "./uploads.js";

export type { FileEntry, ShareDetail, ShareInfo, ShareQuota };

/** Options of fromName() and the constructor. */
export type FromNameOptions = ClientOptions & { createIfMissing?: boolean };
/** Options of ephemeral(). */
export type EphemeralOptions = ClientOptions & { ttlSeconds?: number };

/** The constructor shape the static factories build with, so subclasses get themselves back. */
export type NetworkFileSystemClass<T extends NetworkFileSystem> = new (
  name: string,
  options?: FromNameOptions,
) => T;

const DEFAULT_EPHEMERAL_TTL_SECONDS = 600;
const LIST_PAGE = 1000;

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

  /** This share's description, with its version, usage (files, directories, bytes) and quota. */
  async info(): Promise<ShareDetail> {
    await this.#ready();
    return this.http.json<ShareDetail>("GET", this.#shareRoute());
  }

  /**
   * Sets the share's quota (admin): a number sets a limit, null clears it,
   * an absent field stays. Writes past it fail with NoSpaceError (507
   * ENOSPC); deletes and moves always work.
   */
  async setQuota(quota: { bytes?: number | null; files?: number | null }): Promise<ShareDetail> {
    await this.#ready();
    return this.http.json<ShareDetail>("PUT", `${this.#shareRoute()}/quota`, jsonBody(quota));
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
    return upload(this.http, { shareRoute: this.#shareRoute(), path }, data, options);
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
}

// ── Helpers ───────────────────────────────────────────────────────────

/** The next cursor, refusing one that would loop forever. */
function nextCursor(previous: string | undefined, next: string | undefined): string | undefined {
  if (next === undefined || next === "") return undefined;
  if (next === previous) throw new ServerError(`the server repeated cursor ${next}`);
  return next;
}
