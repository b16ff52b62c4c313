/// <reference lib="esnext.disposable" />
// NetworkFileSystem: Modal's API of the same name over the edgefs HTTP API.
// Runtime-agnostic (fetch, streams, Blob, timers): Node, browsers, Workers.

// The wire types are the server's own: one definition of the contract.
import type { HookInfo } from "../core/changes.js";
import type { Mount } from "../core/mount.js";
import type { FileEntry, ShareDetail, ShareInfo, ShareQuota, SnapshotInfo } from "../core/types.js";
import {
  CHANGES_KEYS,
  type ChangePage,
  type ChangesOptions,
  type ChangeWatch,
  changePages,
  checkFeedOptions,
  checkPage,
  checkTimeout,
  DEFAULT_WATCH_WAIT_SECONDS,
  feedPath,
  isSignal,
  mayCreate,
  WAIT_FOR_KEYS,
  WATCH_KEYS,
  type WaitForOptions,
  type WatchOptions,
  watchChanges,
} from "./changes.js";
import {
  InvalidRequestError,
  IsADirectoryError,
  NetworkError,
  NotADirectoryError,
  NotFoundError,
  ServerError,
  TimeoutError,
} from "./errors.js";
import { absolute, type ClientOptions, encodePath, HttpClient, jsonBody } from "./http.js";
import {
  checkLeaseOptions,
  LEASE_KEYS,
  type Lease,
  type LeaseOptions,
  type LeaseRef,
  leaseHeader,
  leaseIdOf,
  WITH_LEASE_KEYS,
  type WithLeaseOptions,
} from "./leases.js";
import { CLIENT_KEYS, checkOptions, checkValue, type KeysOf } from "./options.js";
import {
  checkRange,
  type FileReader,
  type ReadOptions,
  RemoteFile,
  rangeHeader,
} from "./remote-file.js";
import {
  checkWriteOptions,
  targetPath,
  upload,
  WRITE_KEYS,
  type WriteData,
  type WriteOptions,
  writeHeaders,
} from "./uploads.js";

export type {
  ChangePage,
  ChangesOptions,
  ChangeWatch,
  FileEntry,
  Lease,
  Mount,
  ShareDetail,
  ShareInfo,
  ShareQuota,
  SnapshotInfo,
  WaitForOptions,
  WatchOptions,
};

/** Options of fromName() and the constructor. */
export type FromNameOptions = ClientOptions & { createIfMissing?: boolean };
/** Options of ephemeral(). */
export type EphemeralOptions = ClientOptions & { ttlSeconds?: number };

/** What every change (mkdir, removeFile, move, copy) may say: the leases it holds. */
export interface LeaseHolding {
  /** The lease (or leases, up to 16) the change holds: needed where someone leased the path. */
  lease?: LeaseRef | readonly LeaseRef[];
}
export type MkdirOptions = LeaseHolding;
export type RemoveOptions = LeaseHolding & { recursive?: boolean };
export type MoveOptions = LeaseHolding & { overwrite?: boolean };
export type CopyOptions = LeaseHolding & { recursive?: boolean; overwrite?: boolean };
export interface ListOptions {
  recursive?: boolean;
}

/** Options of presign(). */
export interface PresignOptions {
  /** What the URL allows: "GET" (default, needs read) or "PUT" (needs write). */
  method?: "GET" | "PUT";
  /** Seconds it works: 1 to 7 days, default one hour (never past the signing token's expiry). */
  expiresIn?: number;
}

/** A presigned URL: plain curl or a browser reads (GET) or writes (PUT) one file with it. */
export interface PresignedUrl {
  url: string;
  method: "GET" | "PUT";
  path: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** A bucket to mount (Modal's CloudBucketMount): S3, R2, GCS (HMAC keys), MinIO … */
export interface CloudBucketMount {
  bucket: string;
  /** S3-compatible endpoint URL; default AWS S3 of the region. */
  endpoint?: string;
  /** Default: the secret's AWS_REGION, else us-east-1; "auto" for R2. */
  region?: string;
  /** Only keys below this prefix (ends with "/"). */
  keyPrefix?: string;
  /** Name of a secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; omit for public buckets. */
  secret?: string;
  readOnly?: boolean;
  requesterPays?: boolean;
  /** Path-style URLs (MinIO and most non-AWS endpoints). */
  forcePathStyle?: boolean;
}

const FROM_NAME_KEYS = {
  ...CLIENT_KEYS,
  createIfMissing: true,
} as const satisfies KeysOf<FromNameOptions>;
const EPHEMERAL_KEYS = {
  ...CLIENT_KEYS,
  ttlSeconds: true,
} as const satisfies KeysOf<EphemeralOptions>;
const QUOTA_KEYS = { bytes: true, files: true } as const;
const MKDIR_KEYS = { lease: true } as const satisfies KeysOf<MkdirOptions>;
const REMOVE_KEYS = { lease: true, recursive: true } as const satisfies KeysOf<RemoveOptions>;
const MOVE_KEYS = { lease: true, overwrite: true } as const satisfies KeysOf<MoveOptions>;
const COPY_KEYS = {
  lease: true,
  recursive: true,
  overwrite: true,
} as const satisfies KeysOf<CopyOptions>;
const LIST_KEYS = { recursive: true } as const satisfies KeysOf<ListOptions>;
const SNAPSHOT_KEYS = { version: true } as const satisfies KeysOf<{ version?: number }>;
const isVersion = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** Which version at() reads: a version number, or a named snapshot. */
export type VersionRef = { version: number } | { snapshot: string };

function checkVersionRef(at: VersionRef): void {
  const keys = at && typeof at === "object" ? Object.keys(at) : [];
  const ok =
    keys.length === 1 &&
    (("version" in at && isVersion(at.version)) ||
      ("snapshot" in at && typeof at.snapshot === "string" && at.snapshot !== ""));
  if (!ok) {
    throw new InvalidRequestError(
      'at: give { version: N } (a version number) or { snapshot: "name" }',
      { status: 0 },
    );
  }
}
const READ_KEYS = { offset: true, length: true } as const satisfies KeysOf<ReadOptions>;
const PRESIGN_KEYS = { method: true, expiresIn: true } as const satisfies KeysOf<PresignOptions>;
/** What addHook() takes: where to deliver, which changes, and the signing secret (16–256 characters). */
export interface HookRequest {
  url: string;
  path?: string;
  secret: string;
}
const HOOK_KEYS = { url: true, path: true, secret: true } as const satisfies KeysOf<HookRequest>;

const MOUNT_KEYS = {
  bucket: true,
  endpoint: true,
  region: true,
  keyPrefix: true,
  secret: true,
  readOnly: true,
  requesterPays: true,
  forcePathStyle: true,
} as const satisfies KeysOf<CloudBucketMount>;
const isBoolean = (v: unknown) => typeof v === "boolean";

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
  readonly #options: FromNameOptions;
  #created: Promise<void> | undefined;
  /** Leases every change of this handle holds (see holding()). */
  #held: readonly string[] = [];
  /** The handle this one is a view of (holding(), at()): it creates the share, once. */
  #parent: NetworkFileSystem | undefined;
  /** at(): the version or snapshot every read of this handle sees; it makes no changes. */
  #at: VersionRef | undefined;

  /** Same as fromName(): lazy, no request until the first use. */
  constructor(name: string, options?: FromNameOptions) {
    const checked = checkOptions("NetworkFileSystem", options, FROM_NAME_KEYS);
    checkValue(
      "NetworkFileSystem",
      "createIfMissing",
      checked.createIfMissing,
      isBoolean,
      "a boolean",
    );
    const { createIfMissing: _, ...client } = checked;
    this.http = new HttpClient(client);
    this.name = name;
    this.environment = this.http.environment;
    this.#createIfMissing = checked.createIfMissing ?? false;
    this.#options = { ...checked };
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
    options?: EphemeralOptions,
  ): Promise<T & AsyncDisposable> {
    const { ttlSeconds, ...clientOptions } = checkOptions("ephemeral", options, EPHEMERAL_KEYS);
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
    const client = checkOptions("NetworkFileSystem.delete", options, CLIENT_KEYS);
    await new HttpClient(client).send("DELETE", `/v1/shares/${encodeURIComponent(name)}`);
  }

  /** Every share of the environment (pages through cursors). */
  static async list(options?: ClientOptions): Promise<ShareInfo[]> {
    const http = new HttpClient(checkOptions("NetworkFileSystem.list", options, CLIENT_KEYS));
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
    checkOptions("setQuota", quota, QUOTA_KEYS);
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
  async writeFile(remotePath: string, data: WriteData, options?: WriteOptions): Promise<number> {
    const checked = checkOptions("writeFile", options, WRITE_KEYS);
    checkWriteOptions(checked);
    const path = targetPath(remotePath, data, checked.name);
    const headers = writeHeaders(checked);
    headers.lease = this.#leaseHeader("writeFile", checked.lease);
    await this.#ready();
    return upload(this.http, { shareRoute: this.#shareRoute(), path }, data, checked, headers);
  }

  /** mkdir -p. */
  async mkdir(path: string, options?: MkdirOptions): Promise<void> {
    const { lease } = checkOptions("mkdir", options, MKDIR_KEYS);
    const headers = this.#leaseHeader("mkdir", lease);
    await this.#ready();
    const encoded = encodePath(path).replace(/\/*$/, "/");
    await this.http.send("PUT", `${this.#shareRoute()}/files/${encoded}`, {
      body: new Uint8Array(0),
      headers,
    });
  }

  /** Deletes a file, or a directory (a non-empty one only with recursive). */
  async removeFile(path: string, options?: RemoveOptions): Promise<void> {
    const { lease, recursive } = checkOptions("removeFile", options, REMOVE_KEYS);
    checkValue("removeFile", "recursive", recursive, isBoolean, "a boolean");
    const headers = this.#leaseHeader("removeFile", lease);
    await this.#ready();
    await this.http.send("DELETE", this.#fileRoute("files", path), {
      query: { recursive: recursive ? "true" : undefined },
      headers,
    });
  }

  /** Renames a file or a directory tree (metadata only). */
  async move(from: string, to: string, options?: MoveOptions): Promise<FileEntry> {
    const { lease, overwrite } = checkOptions("move", options, MOVE_KEYS);
    checkValue("move", "overwrite", overwrite, isBoolean, "a boolean");
    const headers = this.#leaseHeader("move", lease);
    await this.#ready();
    const body = { from: absolute(from), to: absolute(to), overwrite: overwrite ?? false };
    return this.http.json<FileEntry>("POST", `${this.#shareRoute()}/move`, {
      ...jsonBody(body),
      headers: { "content-type": "application/json", ...headers },
    });
  }

  /** Copies a file, or a directory tree with recursive (blobs are shared by reference). */
  async copy(from: string, to: string, options?: CopyOptions): Promise<FileEntry> {
    const { lease, recursive, overwrite } = checkOptions("copy", options, COPY_KEYS);
    checkValue("copy", "recursive", recursive, isBoolean, "a boolean");
    checkValue("copy", "overwrite", overwrite, isBoolean, "a boolean");
    const headers = this.#leaseHeader("copy", lease);
    await this.#ready();
    const body = {
      from: absolute(from),
      to: absolute(to),
      recursive: recursive ?? false,
      overwrite: overwrite ?? false,
    };
    return this.http.json<FileEntry>("POST", `${this.#shareRoute()}/copy`, {
      ...jsonBody(body),
      headers: { "content-type": "application/json", ...headers },
    });
  }

  // ── Reading ─────────────────────────────────────────────────────────

  /** A file's bytes, streamed when consumed; offset/length read a range. */
  readFile(path: string, options?: ReadOptions): FileReader {
    const checked = checkOptions("readFile", options, READ_KEYS);
    checkRange(checked);
    return new RemoteFile(async () => (await this.openRead(path, checked)).stream);
  }

  /**
   * Entries of a directory (names relative to it), a file (itself) or a glob
   * (absolute paths), page by page: constant memory for any size.
   */
  async *iterdir(path = "/", options?: ListOptions): AsyncGenerator<FileEntry> {
    const { recursive } = checkOptions("iterdir", options, LIST_KEYS);
    checkValue("iterdir", "recursive", recursive, isBoolean, "a boolean");
    await this.#ready();
    const route = this.#fileRoute("list", path);
    let cursor: string | undefined;
    do {
      const page: { entries: FileEntry[]; cursor?: string } = await this.http.json("GET", route, {
        query: {
          recursive: recursive ? "true" : undefined,
          limit: LIST_PAGE,
          cursor,
          ...this.#atQuery(),
        },
      });
      yield* page.entries;
      cursor = nextCursor(cursor, page.cursor);
    } while (cursor !== undefined);
  }

  /** iterdir() into an array. */
  async listdir(path = "/", options?: ListOptions): Promise<FileEntry[]> {
    checkOptions("listdir", options, LIST_KEYS);
    const entries: FileEntry[] = [];
    for await (const entry of this.iterdir(path, options)) entries.push(entry);
    return entries;
  }

  /** One entry: a file or a directory. */
  async stat(path: string): Promise<FileEntry> {
    await this.#ready();
    return this.http.json<FileEntry>("GET", this.#fileRoute("stat", path), {
      query: this.#atQuery(),
    });
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

  // ── Change feed ─────────────────────────────────────────────────────

  /**
   * One page of the share's change feed: the events after `since` (a version
   * number, or a previous page's `next`; omitted: from the latest version), in
   * version order, those whose path or destination match the glob `path`.
   * With `wait` the answer waits up to that many seconds for a change. Resume
   * from the page's `next`, not from the last event's version: a page may end
   * inside a batch commit's version.
   */
  async changes(options?: ChangesOptions): Promise<ChangePage> {
    const { signal, ...query } = checkOptions("changes", options, CHANGES_KEYS);
    checkFeedOptions("changes", { ...query, signal }, 0);
    await this.#ready();
    return this.#changePage(query, signal, true);
  }

  /**
   * The share's changes as they are committed, for as long as the loop runs:
   * long polls, each resuming from the previous answer's `next`, so events
   * come in order with no gap and no repeat — also across a lost connection
   * or a 5xx, after which it reconnects by itself (backoff with jitter, up
   * to 30 s apart). Ends when `signal` aborts or the loop breaks; throws
   * ExpiredError (410: `since` is older than the feed keeps), auth errors
   * and any other 4xx. `glob` (the listing's rules) keeps the events whose
   * path or destination match it.
   *
   * ```ts
   * for await (const change of nfs.watch("/inbox/**")) console.log(change.version, change.op, change.path);
   * ```
   */
  watch(glob?: string, options?: WatchOptions): ChangeWatch {
    const checked = checkOptions("watch", options, WATCH_KEYS);
    const { since, wait = DEFAULT_WATCH_WAIT_SECONDS, signal } = checked;
    checkFeedOptions("watch", { since, path: glob, wait, signal }, 1);
    const fetchPage = async (cursor: string | undefined) => {
      await this.#ready();
      // No retries inside a page: the watch's own loop reconnects, from the same cursor.
      return this.#changePage({ since: cursor, path: glob, wait }, signal, false);
    };
    return watchChanges(fetchPage, since === undefined ? undefined : String(since), signal);
  }

  /**
   * Resolves with the entry of `path` once it exists: at once if it does,
   * else at the first change that brings it (written, made, copied, moved or
   * restored there, or a tree holding it). It checks first and then watches
   * from the version it saw before checking, so a change between the two is
   * not missed. Rejects with TimeoutError (ETIMEDOUT) after `timeout`
   * seconds, or with the signal's reason when it aborts.
   */
  async waitFor(path: string, options?: WaitForOptions): Promise<FileEntry> {
    const { timeout, signal } = checkOptions("waitFor", options, WAIT_FOR_KEYS);
    checkTimeout(timeout);
    checkValue("waitFor", "signal", signal, isSignal, "an AbortSignal");
    const target = feedPath(path);
    encodePath(target); // "." and ".." are refused before any request
    signal?.throwIfAborted();
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const deadline = timeout === undefined ? undefined : Date.now() + timeout * 1000;
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(
            () =>
              stop.abort(
                new TimeoutError(`waitFor: ${target} did not appear within ${timeout} s`, {
                  path: target,
                }),
              ),
            timeout * 1000,
          );
    // Each poll waits no longer than the time left, so none outlives the timeout by much.
    const wait = () =>
      deadline === undefined
        ? DEFAULT_WATCH_WAIT_SECONDS
        : Math.max(
            1,
            Math.min(DEFAULT_WATCH_WAIT_SECONDS, Math.ceil((deadline - Date.now()) / 1000)),
          );
    try {
      await this.#ready();
      const { version } = await this.http.json<ShareDetail>("GET", this.#shareRoute(), {
        signal: stop.signal,
      });
      const found = await this.#entryOrNothing(target, stop.signal);
      if (found) return found;
      // A plain path asks the server for the events at or below it and the
      // trees above it: all that can bring it. A name with glob characters
      // would be read as a glob, so that one watches the whole share.
      const near = /[*?[{]/.test(target) ? undefined : target;
      const fetchPage = (cursor: string | undefined) =>
        this.#changePage({ since: cursor, path: near, wait: wait() }, stop.signal, false);
      for await (const page of changePages(fetchPage, String(version), stop.signal)) {
        if (!page.changes.some((event) => mayCreate(event, target))) continue;
        // The event says what changed; the entry (and whether a later change
        // of the same page removed it again) is the server's to tell.
        const entry = await this.#entryOrNothing(target, stop.signal);
        if (entry) return entry;
      }
      throw stop.signal.reason;
    } catch (e) {
      if (stop.signal.aborted) throw stop.signal.reason;
      throw e;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
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
      query: this.#atQuery(),
    });
    const length = res.headers.get("content-length");
    return {
      stream: res.body ?? new Blob([]).stream(),
      size: length === null ? undefined : Number(length),
    };
  }

  // ── Presigned URLs ──────────────────────────────────────────────────

  /**
   * A URL that lets plain curl or a browser read (GET) or write (PUT) one
   * file, with no header, until it expires (default one hour, at most 7 days).
   */
  async presign(path: string, options?: PresignOptions): Promise<PresignedUrl> {
    const { method = "GET", expiresIn } = checkOptions("presign", options, PRESIGN_KEYS);
    checkValue("presign", "method", method, (v) => v === "GET" || v === "PUT", '"GET" or "PUT"');
    checkValue(
      "presign",
      "expiresIn",
      expiresIn,
      (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 1,
      "a whole number of seconds",
    );
    await this.#ready();
    const body =
      expiresIn === undefined
        ? { path: absolute(path), method }
        : { path: absolute(path), method, expiresIn };
    return this.http.json<PresignedUrl>("POST", `${this.#shareRoute()}/presign`, jsonBody(body));
  }

  // ── Leases ──────────────────────────────────────────────────────────

  /**
   * Takes a lease on a path (which need not exist yet): until it is released
   * or expires, changes at or below it by anyone not holding it fail with
   * LockedError (423). Overlapping exclusive leases conflict (LockedError).
   */
  async acquireLease(path: string, options?: LeaseOptions): Promise<Lease> {
    const checked = checkOptions("acquireLease", options, LEASE_KEYS);
    checkLeaseOptions("acquireLease", checked);
    await this.#ready();
    return this.http.json<Lease>("POST", `${this.#shareRoute()}/leases`, {
      ...jsonBody({ path: absolute(path), ...checked }),
      retry: false,
    });
  }

  /** Extends a lease by its ttl (or by ttlSeconds) from now. */
  async renewLease(lease: LeaseRef, options?: { ttlSeconds?: number }): Promise<Lease> {
    const id = leaseIdOf("renewLease", lease);
    const { ttlSeconds } = checkOptions("renewLease", options, { ttlSeconds: true });
    checkLeaseOptions("renewLease", { ttlSeconds });
    await this.#ready();
    const route = `${this.#shareRoute()}/leases/${id}/renew`;
    // Renewing twice is renewing: safe to retry.
    return this.http.json<Lease>("POST", route, {
      ...(ttlSeconds === undefined ? {} : jsonBody({ ttlSeconds })),
      retry: true,
    });
  }

  /** Releases a lease at once (it would expire by itself). */
  async releaseLease(lease: LeaseRef): Promise<void> {
    const id = leaseIdOf("releaseLease", lease);
    await this.#ready();
    await this.http.send("DELETE", `${this.#shareRoute()}/leases/${id}`);
  }

  /** The share's active leases, or those on, above or below `path`. */
  async listLeases(options?: { path?: string }): Promise<Lease[]> {
    const { path } = checkOptions("listLeases", options, { path: true });
    checkValue("listLeases", "path", path, (v) => typeof v === "string", "a string");
    await this.#ready();
    const { leases } = await this.http.json<{ leases: Lease[] }>(
      "GET",
      `${this.#shareRoute()}/leases`,
      { query: { path: path === undefined ? undefined : absolute(path) } },
    );
    return leases;
  }

  /**
   * A handle on the same share whose every change holds these leases (as the
   * `lease` option of each call does). Reads need no lease.
   */
  holding(...leases: LeaseRef[]): this {
    const ids = leases.map((l) => leaseIdOf("holding", l));
    const Class = this.constructor as NetworkFileSystemClass<this>;
    const view = new Class(this.name, { ...this.#options, createIfMissing: false });
    view.#held = [...new Set([...this.#held, ...ids])];
    view.#parent = this.#parent ?? this;
    return view;
  }

  /**
   * A read-only handle on the share as it was at a version or a snapshot:
   * readFile, stat, exists, listdir and iterdir see exactly that tree (410
   * ExpiredError once the version left the retention window and no
   * snapshot keeps it). Its changes throw before any request.
   */
  at(at: VersionRef): this {
    checkVersionRef(at);
    const Class = this.constructor as NetworkFileSystemClass<this>;
    const view = new Class(this.name, { ...this.#options, createIfMissing: false });
    view.#at = { ...at };
    view.#parent = this.#parent ?? this;
    return view;
  }

  /** Names the share's current version (or `version`, inside the retention window). */
  async snapshot(name: string, options?: { version?: number }): Promise<SnapshotInfo> {
    const { version } = checkOptions("snapshot", options, SNAPSHOT_KEYS);
    checkValue("snapshot", "version", version, isVersion, "a version number");
    await this.#ready();
    const body = version === undefined ? { name } : { name, version };
    return this.http.json<SnapshotInfo>("POST", `${this.#shareRoute()}/snapshots`, jsonBody(body));
  }

  async listSnapshots(): Promise<SnapshotInfo[]> {
    await this.#ready();
    const page = await this.http.json<{ snapshots: SnapshotInfo[] }>(
      "GET",
      `${this.#shareRoute()}/snapshots`,
    );
    return page.snapshots;
  }

  /** Deletes a snapshot; what only it kept is reclaimed. */
  async deleteSnapshot(name: string): Promise<void> {
    await this.#ready();
    await this.http.send("DELETE", `${this.#shareRoute()}/snapshots/${encodeURIComponent(name)}`);
  }

  /**
   * Runs `fn` holding a lease on `path`, and releases it when fn ends, also
   * when it throws. fn gets a handle whose changes hold the lease, and the
   * lease. The lease is renewed every ttl/3 while fn runs (autoRenew: false
   * to let it expire on time).
   *
   * ```ts
   * await nfs.withLease("/reports", async (fs) => fs.writeFile("/reports/q3.txt", text), { ttlSeconds: 30 });
   * ```
   */
  async withLease<T>(
    path: string,
    fn: (fs: this, lease: Lease) => T | Promise<T>,
    options?: WithLeaseOptions,
  ): Promise<T> {
    const { autoRenew = true, ...leaseOptions } = checkOptions(
      "withLease",
      options,
      WITH_LEASE_KEYS,
    );
    checkValue("withLease", "autoRenew", autoRenew, isBoolean, "a boolean");
    checkValue("withLease", "fn", fn, (v) => typeof v === "function", "a function");
    const lease = await this.acquireLease(path, leaseOptions);
    let timer: ReturnType<typeof setInterval> | undefined;
    if (autoRenew) {
      // A failed renewal is tried again a ttl/3 later, before the lease runs out.
      timer = setInterval(
        () => void this.renewLease(lease).catch(() => undefined),
        (lease.ttlSeconds * 1000) / 3,
      );
      (timer as unknown as { unref?: () => void }).unref?.();
    }
    const release = async () => {
      if (timer !== undefined) clearInterval(timer);
      await this.releaseLease(lease).catch((e: unknown) => {
        if (!(e instanceof NotFoundError)) throw e; // expired already: nothing to release
      });
    };
    let result: T;
    try {
      result = await fn(this.holding(lease), lease);
    } catch (e) {
      // fn's error is the one to see, whatever the release says.
      await release().catch(() => undefined);
      throw e;
    }
    await release();
    return result;
  }

  // ── Bucket mounts ───────────────────────────────────────────────────

  /** Mounts a bucket at `path` of this share (admin), as Modal's CloudBucketMount does. */
  async addMount(path: string, mount: CloudBucketMount): Promise<Mount> {
    const checked = checkOptions("addMount", mount, MOUNT_KEYS);
    checkValue(
      "addMount",
      "bucket",
      checked.bucket ?? null,
      (v) => typeof v === "string",
      "a bucket name",
    );
    await this.#ready();
    return this.http.json<Mount>("PUT", this.#mountRoute(path), jsonBody(checked));
  }

  /** The share's bucket mounts. */
  async listMounts(): Promise<Mount[]> {
    await this.#ready();
    const { mounts } = await this.http.json<{ mounts: Mount[] }>(
      "GET",
      `${this.#shareRoute()}/mounts`,
    );
    return mounts;
  }

  /** Unmounts the bucket at `path` (the bucket's objects are untouched). */
  async removeMount(path: string): Promise<void> {
    await this.#ready();
    await this.http.send("DELETE", this.#mountRoute(path));
  }

  // ── Webhooks (admin; docs/api.md "Webhooks") ─────────────────────────

  /** A webhook: the share's changes (those `path` keeps) POSTed to `url`, signed with `secret`. */
  async addHook(hook: HookRequest): Promise<HookInfo> {
    const checked = checkOptions("addHook", hook, HOOK_KEYS);
    checkValue("addHook", "url", checked.url ?? null, (v) => typeof v === "string", "a URL");
    checkValue(
      "addHook",
      "secret",
      checked.secret ?? null,
      (v) => typeof v === "string",
      "a string",
    );
    await this.#ready();
    return this.http.json<HookInfo>("POST", `${this.#shareRoute()}/hooks`, jsonBody(checked));
  }

  async listHooks(): Promise<HookInfo[]> {
    await this.#ready();
    const { hooks } = await this.http.json<{ hooks: HookInfo[] }>(
      "GET",
      `${this.#shareRoute()}/hooks`,
    );
    return hooks;
  }

  async removeHook(id: string): Promise<void> {
    await this.#ready();
    await this.http.send("DELETE", `${this.#shareRoute()}/hooks/${encodeURIComponent(id)}`);
  }

  // ── Internals ───────────────────────────────────────────────────────

  /** Edgefs-Lease for a change: the handle's leases and the call's. Every change asks for it. */
  #leaseHeader(what: string, lease: LeaseRef | readonly LeaseRef[] | undefined) {
    if (this.#at !== undefined) {
      throw new InvalidRequestError(
        `${what}: this handle reads ${"snapshot" in this.#at ? `snapshot ${this.#at.snapshot}` : `version ${this.#at.version}`} and cannot change the share`,
        { status: 0 },
      );
    }
    const own: readonly LeaseRef[] =
      lease === undefined ? [] : Array.isArray(lease) ? lease : [lease as LeaseRef];
    return leaseHeader(what, [...this.#held, ...own]);
  }

  /** ?version= or ?snapshot= of an at() handle; nothing for the latest. */
  #atQuery(): { version?: number; snapshot?: string } {
    return this.#at === undefined ? {} : { ...this.#at };
  }

  /** GET …/changes: one page, its body checked (a cut-off body is a NetworkError, as no answer is). */
  async #changePage(
    query: {
      since?: number | string | undefined;
      path?: string | undefined;
      limit?: number;
      wait?: number;
    },
    signal: AbortSignal | undefined,
    retry: boolean,
  ): Promise<ChangePage> {
    const route = `${this.#shareRoute()}/changes`;
    const what = `GET ${route}`;
    const res = await this.http.request("GET", route, {
      query: { since: query.since, path: query.path, limit: query.limit, wait: query.wait },
      headers: { accept: "application/json" },
      retry,
      what,
      ...(signal === undefined ? {} : { signal }),
    });
    let text: string;
    try {
      text = await res.text();
    } catch (cause) {
      signal?.throwIfAborted();
      throw new NetworkError(`${what}: the answer broke off`, { cause });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return checkPage(body, what);
  }

  /** stat at the latest version, or nothing where there is no such entry. */
  async #entryOrNothing(path: string, signal: AbortSignal): Promise<FileEntry | undefined> {
    try {
      return await this.http.json<FileEntry>("GET", this.#fileRoute("stat", path), { signal });
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof NotADirectoryError) return undefined;
      throw e;
    }
  }

  #mountRoute(path: string): string {
    return `${this.#shareRoute()}/mounts/${encodePath(path)}`;
  }

  #ready(): Promise<void> {
    if (this.#parent) return this.#parent.#ready();
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
export function nextCursor(
  previous: string | undefined,
  next: string | undefined,
): string | undefined {
  if (next === undefined || next === "") return undefined;
  if (next === previous) throw new ServerError(`the server repeated cursor ${next}`);
  return next;
}
