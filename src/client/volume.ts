/// <reference lib="esnext.disposable" />
// Volume: Modal's API of the same name over the edgefs HTTP API. A Volume is
// a share seen through a pinned version: reads see the share as it was when
// the handle took its pin, until reload(); changes are published as whole
// batch commits (one version each). The same share is also reachable as a
// NetworkFileSystem (immediate visibility). Runtime-agnostic.

import type {
  FileEntry,
  HistoryPage,
  PathVersion,
  ShareDetail,
  ShareInfo,
  SnapshotInfo,
} from "../core/types.js";
import type {
  ChangePage,
  ChangesOptions,
  ChangeWatch,
  WaitForOptions,
  WatchOptions,
} from "./changes.js";
import { InvalidRequestError, NotADirectoryError, NotFoundError, TooLargeError } from "./errors.js";
import { absolute, type ClientOptions, encodePath, HttpClient, jsonBody } from "./http.js";
import {
  type EphemeralOptions,
  type FromNameOptions,
  type ListOptions,
  NetworkFileSystem,
  nextCursor,
  type VersionRef,
} from "./nfs.js";
import { CLIENT_KEYS, checkOptions, checkValue, type KeysOf } from "./options.js";
import { checkRange, type FileReader, type ReadOptions, RemoteFile } from "./remote-file.js";
import { type Progress, stageUpload, type WriteData } from "./uploads.js";

const MiB = 1024 * 1024;
/** The documented limits of one batch commit (docs/api.md "Batch commits"). */
export const BATCH_LIMITS = { bodyBytes: 16 * MiB, ops: 10_000, contentBytes: MiB } as const;
/** Room left in the body for the envelope, so the estimate never lands on the limit. */
const BODY_MARGIN = 4096;
/** Staged uploads sent at once. */
const STAGE_CONCURRENCY = 4;
const HISTORY_PAGE = 1000;

/** What a batch (or a staged write) puts: bytes, a Blob (a local file in Node), or a stream. */
export type PutData = Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>;

/** Options of batchUpload(). */
export interface BatchUploadOptions {
  /** Replace existing files (default false: an existing target is ExistsError, 409, and nothing is committed). */
  force?: boolean;
  /** Progress of the staged (big) files' uploads and of the commit. */
  onProgress?: (p: BatchProgress) => void;
}

/** Bytes of staged uploads sent so far; `files` counts every put once the commit landed. */
export interface BatchProgress {
  bytes: number;
  totalBytes: number | undefined;
  files: number;
  totalFiles: number;
  /** The remote path that just progressed. */
  path: string;
}

/** One version of a path, newest first (GET …/history/{path}): the server's own type. */
export type HistoryEntry = PathVersion;

export interface HistoryOptions {
  /** At most this many versions (default: all of them, page by page). */
  limit?: number;
}

/** Where restore() takes a path from, and where it puts it (default: the same path). */
export type RestoreOptions = VersionRef & { to?: string };

/** What restore() answers: the new version it made, and what now stands at `to`. */
export interface RestoreResult {
  version: number;
  entry: FileEntry;
}

export interface RemoveFileOptions {
  recursive?: boolean;
}
export interface CopyFilesOptions {
  recursive?: boolean;
}

/** The constructor shape the static factories build with, so subclasses get themselves back. */
export type VolumeClass<T extends Volume> = new (name: string, options?: FromNameOptions) => T;

const FROM_NAME_KEYS = {
  ...CLIENT_KEYS,
  createIfMissing: true,
} as const satisfies KeysOf<FromNameOptions>;
const BATCH_KEYS = { force: true, onProgress: true } as const satisfies KeysOf<BatchUploadOptions>;
const LIST_KEYS = { recursive: true } as const satisfies KeysOf<ListOptions>;
const READ_KEYS = { offset: true, length: true } as const satisfies KeysOf<ReadOptions>;
const REMOVE_KEYS = { recursive: true } as const satisfies KeysOf<RemoveFileOptions>;
const COPY_KEYS = { recursive: true } as const satisfies KeysOf<CopyFilesOptions>;
const HISTORY_KEYS = { limit: true } as const satisfies KeysOf<HistoryOptions>;
const isBoolean = (v: unknown) => typeof v === "boolean";
const local = (message: string) => new InvalidRequestError(message, { status: 0 });

/** A put or mkdir of a batch, as planned before anything is sent. */
export type PlannedOp =
  | { op: "put"; path: string; data: PutData; size?: number }
  | { op: "mkdir"; path: string };

/** A put whose contents were read, or a staged upload's id. */
type WireOp =
  | { op: "put"; path: string; content: string }
  | { op: "put"; path: string; uploadId: string }
  | { op: "mkdir"; path: string }
  | { op: "delete"; path: string; recursive: boolean }
  | { op: "copy"; from: string; to: string; recursive: boolean }
  | { op: "move"; from: string; to: string };

/**
 * The files one batchUpload() collects. Nothing is read or sent until it is
 * committed: at the end of the callback (`volume.batchUpload(async (b) => …)`),
 * when an `await using` block ends, or by `await batch.commit()`.
 */
export class VolumeBatch implements AsyncDisposable {
  readonly #volume: Volume;
  readonly #options: BatchUploadOptions;
  /** Each item plans its ops when the batch commits (a local directory is walked then). */
  protected readonly items: (() => Promise<PlannedOp[]>)[] = [];
  #state: "open" | "committed" | "discarded" = "open";
  #version: number | undefined;

  constructor(volume: Volume, options: BatchUploadOptions) {
    this.#volume = volume;
    this.#options = options;
  }

  /** Adds a file: bytes, a Blob, or a stream (read when the batch commits). */
  putFile(data: PutData, remotePath: string): this {
    this.#open("putFile");
    checkData("putFile", data);
    const path = absolute(remotePath);
    this.items.push(async () => [{ op: "put", path, data }]);
    return this;
  }

  /** Adds ops planned later (the Node batch's local files and directories). */
  protected add(plan: () => Promise<PlannedOp[]>): this {
    this.#open("putFile");
    this.items.push(plan);
    return this;
  }

  /**
   * Publishes everything collected as ONE version and moves the volume's
   * pin to it. Limits are checked before anything is uploaded.
   */
  async commit(): Promise<number> {
    if (this.#state === "committed") return this.#version as number;
    this.#open("commit");
    this.#state = "committed";
    const planned = (await Promise.all(this.items.map((plan) => plan()))).flat();
    this.#version = await this.#volume.commitPlanned(planned, this.#options);
    return this.#version;
  }

  /** Drops what was collected; nothing is committed. */
  discard(): void {
    if (this.#state === "open") this.#state = "discarded";
  }

  /** `await using batch = volume.batchUpload()`: commits at the end of the block (see docs). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === "open") await this.commit();
  }

  #open(what: string): void {
    if (this.#state !== "open") {
      throw local(`${what}: this batch was already ${this.#state}`);
    }
  }
}

/**
 * A named share seen as Modal's Volume: a pinned, committed view.
 *
 * ```ts
 * const vol = Volume.fromName("models", { createIfMissing: true });
 * await vol.batchUpload(async (b) => { b.putFile(bytes, "/weights.bin"); });
 * console.log(await vol.readFile("/weights.bin").bytes());
 * ```
 */
export class Volume {
  readonly name: string;
  readonly environment: string;
  /** The transport, for subclasses. */
  protected readonly http: HttpClient;
  /** The share at its latest (creates it if asked to, once). */
  readonly #nfs: NetworkFileSystem;
  readonly #clientOptions: ClientOptions;
  #pin: number | undefined;
  #pinning: Promise<number> | undefined;
  #view: { version: number; nfs: NetworkFileSystem } | undefined;
  /** Writes made with writeFile(), published by commit(): by path, the last one wins. */
  readonly #staged = new Map<string, PlannedOp>();

  /** Same as fromName(): lazy, no request until the first use. */
  constructor(name: string, options?: FromNameOptions) {
    const checked = checkOptions("Volume", options, FROM_NAME_KEYS);
    const { createIfMissing: _, ...client } = checked;
    this.#nfs = NetworkFileSystem.fromName(name, checked);
    this.http = new HttpClient(client);
    this.#clientOptions = client;
    this.name = name;
    this.environment = this.http.environment;
  }

  // ── Volumes ─────────────────────────────────────────────────────────

  /** A volume by name. Lazy; with createIfMissing the first use creates it. */
  static fromName<T extends Volume>(
    this: VolumeClass<T>,
    name: string,
    options?: FromNameOptions,
  ): T {
    return new this(name, options);
  }

  /**
   * A new volume with a generated name that lives while this process sends
   * heartbeats; `await using vol = await Volume.ephemeral()` deletes it at
   * the end of the block (as NetworkFileSystem.ephemeral does: the same share).
   */
  static async ephemeral<T extends Volume>(
    this: VolumeClass<T>,
    options?: EphemeralOptions,
  ): Promise<T & AsyncDisposable> {
    const share = await NetworkFileSystem.ephemeral(options);
    const { ttlSeconds: _, ...client } = options ?? {};
    const volume = new this(share.name, client);
    return Object.assign(volume, { [Symbol.asyncDispose]: () => share[Symbol.asyncDispose]() });
  }

  /** Deletes a volume with all its data (and its versions and snapshots). */
  static delete(name: string, options?: ClientOptions): Promise<void> {
    return NetworkFileSystem.delete(name, options);
  }

  /** Every volume (share) of the environment. */
  static list(options?: ClientOptions): Promise<ShareInfo[]> {
    return NetworkFileSystem.list(options);
  }

  /** The share's description: its latest version, usage and quota. */
  info(): Promise<ShareDetail> {
    return this.#nfs.info();
  }

  /** The same share as a NetworkFileSystem: its reads see the latest, its writes land at once. */
  asNetworkFileSystem(): NetworkFileSystem {
    return NetworkFileSystem.fromName(this.name, this.#clientOptions);
  }

  // ── Change feed (the share's, whatever this handle's pin) ──────────

  /** One page of the share's change feed, as NetworkFileSystem.changes(). */
  changes(options?: ChangesOptions): Promise<ChangePage> {
    return this.#nfs.changes(options);
  }

  /**
   * The share's commits as they happen, as NetworkFileSystem.watch(): each
   * event's version is one this handle can reload() to or read with at().
   */
  watch(glob?: string, options?: WatchOptions): ChangeWatch {
    return this.#nfs.watch(glob, options);
  }

  /**
   * Resolves once `path` exists at the share's latest version, as
   * NetworkFileSystem.waitFor(); the pin stays where it is (reload() to read it).
   */
  waitFor(path: string, options?: WaitForOptions): Promise<FileEntry> {
    return this.#nfs.waitFor(path, options);
  }

  // ── Consistency: the pin ────────────────────────────────────────────

  /**
   * The version this handle reads. Taken at the handle's first use (the
   * share's version then), moved only by reload(), commit() and the
   * handle's own changes.
   */
  version(): Promise<number> {
    if (this.#pin !== undefined) return Promise.resolve(this.#pin);
    this.#pinning ??= this.#nfs.info().then(
      (info) => {
        this.#pin ??= info.version;
        return this.#pin;
      },
      (e: unknown) => {
        this.#pinning = undefined; // try again on the next use
        throw e;
      },
    );
    return this.#pinning;
  }

  /**
   * Moves the pin to the share's latest version: others' commits become
   * visible. Refused while writeFile() writes are staged (commit() or
   * discard() them first), as Modal's reload() is refused with open files.
   */
  async reload(): Promise<number> {
    if (this.#staged.size > 0) {
      throw local(
        `reload: ${this.#staged.size} staged write${this.#staged.size === 1 ? "" : "s"} not committed: commit() or discard() first`,
      );
    }
    return this.#toLatest();
  }

  /** Moves the pin to the share's latest version. */
  async #toLatest(): Promise<number> {
    const info = await this.#nfs.info();
    this.#setPin(info.version);
    return info.version;
  }

  /**
   * Publishes the writes staged with writeFile() as one version (overwriting,
   * as writes do), then moves the pin to the latest version. With nothing
   * staged it is reload().
   */
  async commit(options?: Pick<BatchUploadOptions, "onProgress">): Promise<number> {
    const { onProgress } = checkOptions("commit", options, { onProgress: true });
    if (this.#staged.size === 0) return this.reload();
    const ops = [...this.#staged.values()];
    this.#staged.clear();
    try {
      await this.commitPlanned(ops, onProgress ? { force: true, onProgress } : { force: true });
    } catch (e) {
      // Nothing was committed: the writes stay staged (unless newer ones replaced them).
      for (const op of ops) if (!this.#staged.has(op.path)) this.#staged.set(op.path, op);
      throw e;
    }
    // Writes staged while the commit ran stay staged, for the next commit().
    return this.#toLatest();
  }

  /** Drops the staged writes. */
  discard(): void {
    this.#staged.clear();
  }

  /** How many writes are staged on this handle, waiting for commit(). */
  get stagedCount(): number {
    return this.#staged.size;
  }

  // ── Reading (at the pin) ────────────────────────────────────────────

  /** A file's bytes as of the pinned version, streamed when consumed. */
  readFile(path: string, options?: ReadOptions): FileReader {
    const checked = checkOptions("readFile", options, READ_KEYS);
    checkRange(checked);
    return new RemoteFile(async () => (await this.#pinned()).readFile(path, checked).stream());
  }

  /** Streams a file (as of the pin) into a WritableStream; answers the bytes written. */
  async readFileInto(path: string, writable: WritableStream<Uint8Array>): Promise<number> {
    const stream = await this.readFile(path).stream();
    let bytes = 0;
    await stream
      .pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            bytes += chunk.byteLength;
            controller.enqueue(chunk);
          },
        }),
      )
      .pipeTo(writable);
    return bytes;
  }

  /** Entries as of the pin (names relative to a listed directory), page by page. */
  async *iterdir(path = "/", options?: ListOptions): AsyncGenerator<FileEntry> {
    const checked = checkOptions("iterdir", options, LIST_KEYS);
    checkValue("iterdir", "recursive", checked.recursive, isBoolean, "a boolean");
    yield* (await this.#pinned()).iterdir(path, checked);
  }

  /** iterdir() into an array. Modal's listdir is not recursive unless asked. */
  async listdir(path = "/", options?: ListOptions): Promise<FileEntry[]> {
    checkOptions("listdir", options, LIST_KEYS);
    const entries: FileEntry[] = [];
    for await (const entry of this.iterdir(path, options)) entries.push(entry);
    return entries;
  }

  /** One entry as of the pin. */
  async stat(path: string): Promise<FileEntry> {
    return (await this.#pinned()).stat(path);
  }

  /** Whether path exists as of the pin. */
  async exists(path: string): Promise<boolean> {
    return (await this.#pinned()).exists(path);
  }

  /** A read-only handle on a version or a snapshot (as NetworkFileSystem.at()). */
  at(at: VersionRef): NetworkFileSystem {
    return this.#nfs.at(at);
  }

  // ── Writing ─────────────────────────────────────────────────────────

  /**
   * Stages a write on this handle: nothing is sent until commit() publishes
   * every staged write as one version. The data is read at commit time
   * (keep a stream open until then). A later write to the same path replaces it.
   */
  writeFile(remotePath: string, data: WriteData): void {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    checkData("writeFile", bytes);
    const path = absolute(remotePath);
    this.#staged.delete(path); // re-insert: staged writes commit in the order last written
    this.#staged.set(path, { op: "put", path, data: bytes });
  }

  /**
   * Collects files and publishes them as one version at the end (force:
   * false by default: an existing target refuses the whole batch with
   * ExistsError). Callback form: committed when `fn` resolves, nothing
   * when it throws. Without `fn`: a VolumeBatch to `await using` or commit().
   */
  batchUpload(options?: BatchUploadOptions): VolumeBatch;
  batchUpload(fn: (batch: VolumeBatch) => unknown, options?: BatchUploadOptions): Promise<number>;
  batchUpload(
    fnOrOptions?: ((batch: VolumeBatch) => unknown) | BatchUploadOptions,
    maybeOptions?: BatchUploadOptions,
  ): VolumeBatch | Promise<number> {
    const fn = typeof fnOrOptions === "function" ? fnOrOptions : undefined;
    const options = checkOptions(
      "batchUpload",
      fn ? maybeOptions : (fnOrOptions as BatchUploadOptions | undefined),
      BATCH_KEYS,
    );
    checkValue("batchUpload", "force", options.force, isBoolean, "a boolean");
    const batch = this.newBatch(options);
    if (!fn) return batch;
    return (async () => {
      try {
        await fn(batch);
      } catch (e) {
        batch.discard();
        throw e;
      }
      return batch.commit();
    })();
  }

  /** The batch batchUpload() answers: the Node volume's adds local files. */
  protected newBatch(options: BatchUploadOptions): VolumeBatch {
    return new VolumeBatch(this, options);
  }

  /** Deletes a file, or a directory (a non-empty one only with recursive): one version at once. */
  async removeFile(path: string, options?: RemoveFileOptions): Promise<number> {
    const { recursive } = checkOptions("removeFile", options, REMOVE_KEYS);
    checkValue("removeFile", "recursive", recursive, isBoolean, "a boolean");
    return this.#commitOps([{ op: "delete", path: absolute(path), recursive: recursive ?? false }]);
  }

  /**
   * Copies files (Modal's copy_files): into dstPath when it is an existing
   * directory, ends with "/" or several sources are given (each under its
   * own name), else to dstPath itself. Directories need recursive. One version.
   */
  async copyFiles(
    srcPaths: string[],
    dstPath: string,
    options?: CopyFilesOptions,
  ): Promise<number> {
    const { recursive } = checkOptions("copyFiles", options, COPY_KEYS);
    checkValue("copyFiles", "recursive", recursive, isBoolean, "a boolean");
    if (!Array.isArray(srcPaths) || srcPaths.length === 0) {
      throw local("copyFiles: give at least one source path");
    }
    const dst = absolute(dstPath);
    let into = dst.endsWith("/") || srcPaths.length > 1;
    if (!into) {
      // The target as it is now (the commit applies to the latest version).
      into = await this.#nfs.stat(dst).then(
        (e) => e.type === "directory",
        (e: unknown) => {
          if (e instanceof NotFoundError || e instanceof NotADirectoryError) return false;
          throw e;
        },
      );
    }
    const ops: WireOp[] = srcPaths.map((src) => {
      const from = absolute(src).replace(/\/+$/, "") || "/";
      const leaf = from.slice(from.lastIndexOf("/") + 1);
      const to = into ? `${dst.replace(/\/+$/, "")}/${leaf}` : dst;
      return { op: "copy", from, to, recursive: recursive ?? false };
    });
    await this.version(); // the share exists (createIfMissing) before the commit
    return this.#commitOps(ops);
  }

  // ── Versions, snapshots, history ────────────────────────────────────

  /** Names the version this handle reads (its pin) as a snapshot: kept until deleted. */
  async snapshot(name: string): Promise<SnapshotInfo> {
    return this.#nfs.snapshot(name, { version: await this.version() });
  }

  listSnapshots(): Promise<SnapshotInfo[]> {
    return this.#nfs.listSnapshots();
  }

  deleteSnapshot(name: string): Promise<void> {
    return this.#nfs.deleteSnapshot(name);
  }

  /** The versions of a path, newest first: what it was, and when it was deleted. */
  async history(path: string, options?: HistoryOptions): Promise<HistoryEntry[]> {
    const { limit } = checkOptions("history", options, HISTORY_KEYS);
    checkValue(
      "history",
      "limit",
      limit,
      (v) => Number.isSafeInteger(v) && (v as number) > 0,
      "a positive integer",
    );
    await this.version();
    const route = `${this.#route()}/history/${encodePath(path)}`;
    const versions: HistoryEntry[] = [];
    let cursor: string | undefined;
    do {
      const want = Math.min(HISTORY_PAGE, (limit ?? Number.POSITIVE_INFINITY) - versions.length);
      const page: HistoryPage = await this.http.json("GET", route, {
        query: { limit: want, cursor },
      });
      versions.push(...page.versions);
      cursor = nextCursor(cursor, page.cursor);
    } while (cursor !== undefined && (limit === undefined || versions.length < limit));
    return limit === undefined ? versions : versions.slice(0, limit);
  }

  /**
   * Brings a file or a subtree back as it was at a version or a snapshot
   * (to `to`, default the same path) as one new version; the pin moves to it.
   */
  async restore(path: string, options: RestoreOptions): Promise<RestoreResult> {
    const { to, ...at } = checkOptions("restore", options, {
      version: true,
      snapshot: true,
      to: true,
    });
    const keys = Object.keys(at);
    const ok =
      keys.length === 1 &&
      (("version" in at && Number.isSafeInteger(at.version) && (at.version as number) >= 0) ||
        ("snapshot" in at && typeof at.snapshot === "string" && at.snapshot !== ""));
    if (!ok) throw local('restore: give { version: N } or { snapshot: "name" }');
    checkValue("restore", "to", to, (v) => typeof v === "string", "a path");
    await this.version();
    const body = { path: absolute(path), ...at, ...(to === undefined ? {} : { to: absolute(to) }) };
    const result = await this.http.json<RestoreResult>("POST", `${this.#route()}/restore`, {
      ...jsonBody(body),
      retry: false,
    });
    this.#setPin(result.version);
    return result;
  }

  // ── Internals ───────────────────────────────────────────────────────

  /**
   * Commits planned puts and mkdirs as one version: limits checked first,
   * contents ≤ 1 MiB inline (as long as the body stays under 16 MiB), the
   * rest staged, then one POST …/commit. Moves the pin to its version.
   */
  async commitPlanned(planned: PlannedOp[], options: BatchUploadOptions): Promise<number> {
    if (planned.length === 0) return this.version(); // nothing to commit: no new version
    if (planned.length > BATCH_LIMITS.ops) {
      throw new TooLargeError(
        `a batch commits at most ${BATCH_LIMITS.ops} files and directories, not ${planned.length}: split it; nothing was uploaded`,
        { status: 0 },
      );
    }
    const puts = await Promise.all(planned.map(async (op) => (op.op === "put" ? sized(op) : op)));
    // Which contents go inline: the smallest first, while the body stays in bounds.
    const encoder = new TextEncoder();
    const opBytes = (op: object) => encoder.encode(JSON.stringify(op)).byteLength + 1;
    let body = 64 + BODY_MARGIN;
    for (const op of puts) {
      body +=
        op.op === "put"
          ? opBytes({ op: "put", path: op.path, uploadId: "0".repeat(32) })
          : opBytes(op);
    }
    if (body > BATCH_LIMITS.bodyBytes) {
      throw new TooLargeError(
        `this batch's paths alone are over the ${BATCH_LIMITS.bodyBytes}-byte (16 MiB) body of a commit: split it; nothing was uploaded`,
        { status: 0 },
      );
    }
    const inline = new Set<SizedPut>();
    const candidates = puts
      .filter(
        (op): op is SizedPut & { size: number } =>
          op.op === "put" && op.size !== undefined && op.size <= BATCH_LIMITS.contentBytes,
      )
      .sort((a, b) => a.size - b.size);
    for (const op of candidates) {
      const extra = Math.ceil(op.size / 3) * 4 + 16; // base64, and `"content":""` over `"uploadId":…`
      if (body + extra > BATCH_LIMITS.bodyBytes) break;
      body += extra;
      inline.add(op);
    }
    const staged = puts.filter((op): op is SizedPut => op.op === "put" && !inline.has(op));
    const totalFiles = puts.filter((op) => op.op === "put").length;
    const known = staged.every((op) => op.size !== undefined);
    const totalBytes = known ? staged.reduce((n, op) => n + (op.size ?? 0), 0) : undefined;
    await this.version(); // the share exists (createIfMissing) before anything is staged
    const ids = new Map<SizedPut, string>();
    let sent = 0;
    try {
      let next = 0;
      const worker = async () => {
        for (let op = staged[next++]; op !== undefined; op = staged[next++]) {
          let mine = 0;
          const { uploadId } = await stageUpload(
            this.http,
            { shareRoute: this.#route(), path: op.path },
            op.data,
            {
              onProgress: (p: Progress) => {
                sent += p.bytes - mine;
                mine = p.bytes;
                options.onProgress?.({
                  bytes: sent,
                  totalBytes,
                  files: 0,
                  totalFiles,
                  path: op.path,
                });
              },
            },
          );
          ids.set(op, uploadId);
        }
      };
      await Promise.all(Array.from({ length: Math.min(STAGE_CONCURRENCY, staged.length) }, worker));
      const ops: WireOp[] = [];
      for (const op of puts) {
        if (op.op === "mkdir") ops.push(op);
        else if (inline.has(op))
          ops.push({ op: "put", path: op.path, content: await base64Of(op.data) });
        else ops.push({ op: "put", path: op.path, uploadId: ids.get(op) as string });
      }
      const version = await this.#commitOps(ops, options.force ?? false);
      options.onProgress?.({
        bytes: sent,
        totalBytes: sent,
        files: totalFiles,
        totalFiles,
        path: "/",
      });
      return version;
    } catch (e) {
      // Staged uploads a failed commit leaves behind expire by themselves; this frees them now.
      await Promise.all(
        [...ids.values()].map((id) =>
          this.http.send("DELETE", `${this.#route()}/uploads/${id}`).catch(() => undefined),
        ),
      );
      throw e;
    }
  }

  /** One POST …/commit (never retried: a batch that landed must not land twice); moves the pin. */
  async #commitOps(ops: WireOp[], force = true): Promise<number> {
    await this.version();
    const result = await this.http.json<{ version: number; count: number }>(
      "POST",
      `${this.#route()}/commit`,
      { ...jsonBody({ ops, force }), retry: false },
    );
    this.#setPin(result.version);
    return result.version;
  }

  #setPin(version: number): void {
    this.#pin = version;
    this.#pinning = undefined;
  }

  /** A read-only handle at the pin (ExpiredError, 410, once the pin left the retention window). */
  async #pinned(): Promise<NetworkFileSystem> {
    const version = await this.version();
    if (this.#view?.version !== version) this.#view = { version, nfs: this.#nfs.at({ version }) };
    return this.#view.nfs;
  }

  #route(): string {
    return `/v1/shares/${encodeURIComponent(this.name)}`;
  }
}

/** A put ready to send: its data normalised, its size known unless it is a long stream. */
interface SizedPut {
  op: "put";
  path: string;
  data: Uint8Array | Blob | ReadableStream<Uint8Array>;
  size?: number;
}

function checkData(what: string, data: unknown): void {
  const ok =
    data instanceof Uint8Array ||
    data instanceof ArrayBuffer ||
    (typeof Blob !== "undefined" && data instanceof Blob) ||
    data instanceof ReadableStream;
  if (!ok) throw local(`${what}: data must be bytes, a Blob or a ReadableStream`);
}

/**
 * A put with its size known: bytes and Blobs have one; a stream is read up
 * to 1 MiB + 1 byte to learn whether it goes inline (the rest stays unread
 * and is staged as a stream).
 */
async function sized(op: Extract<PlannedOp, { op: "put" }>): Promise<SizedPut> {
  const { data, path } = op;
  if (data instanceof ArrayBuffer)
    return { op: "put", path, data: new Uint8Array(data), size: data.byteLength };
  if (data instanceof Uint8Array) return { op: "put", path, data, size: data.byteLength };
  if (data instanceof Blob) return { op: "put", path, data, size: data.size };
  const reader = data.getReader();
  const head: Uint8Array[] = [];
  let bytes = 0;
  let done = false;
  while (bytes <= BATCH_LIMITS.contentBytes) {
    const next = await reader.read();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    bytes += next.value.byteLength;
  }
  if (done) {
    const all = new Uint8Array(bytes);
    let at = 0;
    for (const chunk of head) {
      all.set(chunk, at);
      at += chunk.byteLength;
    }
    return { op: "put", path: op.path, data: all, size: bytes };
  }
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of head) controller.enqueue(chunk);
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { op: "put", path: op.path, data: rest };
}

/** Standard base64 of a put's contents (fetch-only runtimes have no Buffer). */
async function base64Of(data: SizedPut["data"]): Promise<string> {
  const bytes =
    data instanceof Uint8Array
      ? data
      : data instanceof Blob
        ? new Uint8Array(await data.arrayBuffer())
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(await new Response(data).arrayBuffer());
  let binary = "";
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.byteLength; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}
