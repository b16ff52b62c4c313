import { RpcTarget } from "cloudflare:workers";
import { keysFrom } from "../auth/keys";
import { PARAM, PRESIGN_MAX_SECONDS, presign } from "../auth/presign";
import { principalOfToken } from "../auth/principal";
import { type Permission, type Principal, requireAllowed } from "../auth/scope";
import {
  backendAt,
  backendForBothAt,
  type Runtime,
  shareStorageAt,
  shareTarget,
} from "../backends/resolve";
import { checkFeedQuery, type FeedQuery, ShareFeed } from "../backends/share-feed";
import { configFrom } from "../config";
import type { ListQuery, ReadAt, VersionView } from "../core/backend";
import { RESERVED_SUBREQUESTS, SubrequestBudget } from "../core/budget";
import type { ChangeEvent, ChangePage } from "../core/changes";
import { FsError, invalid } from "../core/errors";
import { compileGlob, isGlob } from "../core/glob";
import { MAX_LEASE_TTL_SECONDS } from "../core/leases";
import { type FsPath, parsePath, ROOT } from "../core/paths";
import { writeConditionsFrom } from "../core/preconditions";
import type { FileEntry, HistoryPage, ShareDetail, SnapshotInfo } from "../core/types";
import { rpcCall } from "./errors";
import type {
  HeldLeases,
  LeaseRequestOptions,
  ListdirOptions,
  OpenedFile,
  PresignRequest,
  ReadFileOptions,
  ShareHandleApi,
  WriteFileOptions,
} from "./types";

/** What a handle is bound to: the Worker's bindings and context, the share, and the caller's token. */
export interface HandleBinding {
  env: Env;
  ctx: ExecutionContext;
  environment: string;
  share: string;
  token: string;
}

const LIST_DEFAULT = 1000;
const LIST_MAX = 10_000;
const LEASE_ID = /^[0-9a-f]{32}$/;

const utf8 = new TextEncoder();

/**
 * A share as another Worker holds it through the RPC binding
 * (`env.EDGEFS.share(name, {token})`): the SDK's methods, over the same
 * Backend seam and the same checks as the HTTP API. The token is checked
 * on every call — signature, expiry, revocation, scope — exactly as each
 * HTTP request's is, so a token revoked after `share()` is refused at the
 * next call. Bytes are streams both ways, never buffered here.
 */
export class ShareHandle extends RpcTarget implements ShareHandleApi {
  constructor(private readonly b: HandleBinding) {
    super();
  }

  // ── Checks and plumbing ──────────────────────────────────────────────

  private async allow(permission: Permission): Promise<Principal> {
    const principal = await principalOfToken(this.b.env, this.b.token);
    requireAllowed(principal, permission, this.b.environment, this.b.share);
    return principal;
  }

  private runtime(): Runtime {
    return {
      env: this.b.env,
      waitUntil: (p) => this.b.ctx.waitUntil(p),
      caller: { host: "rpc.edgefs.internal", viaMount: false },
      subrequests: new SubrequestBudget(
        configFrom(this.b.env).subrequestBudget,
        RESERVED_SUBREQUESTS,
      ),
    };
  }

  private target() {
    return shareTarget(this.b.env, this.b.environment, this.b.share);
  }

  private backend(path: FsPath, lease?: HeldLeases) {
    return backendAt(this.runtime(), this.target(), path, held(lease));
  }

  /** One backend for both paths of a move or copy (ENOTSUP across a mount boundary). */
  private backendForBoth(a: FsPath, b: FsPath, lease?: HeldLeases) {
    return backendForBothAt(this.runtime(), this.target(), a, b, held(lease));
  }

  /** The latest tree, or the tree at a version or snapshot. */
  private async reader(path: FsPath, at?: ReadAt): Promise<VersionView> {
    const backend = await this.backend(path);
    if (at === undefined) return backend;
    if (!backend.versions) {
      throw new FsError("ENOTSUP", "this storage keeps no versions (a bucket mount)", path);
    }
    return backend.versions.view(await backend.versions.resolve(at));
  }

  // ── Files ────────────────────────────────────────────────────────────

  /** Writes a whole file atomically (parents are created). */
  writeFile(
    path: string,
    data: ReadableStream<Uint8Array> | string | ArrayBuffer | ArrayBufferView,
    options: WriteFileOptions = {},
  ): Promise<{ entry: FileEntry; created: boolean; version?: number }> {
    return rpcCall(async () => {
      await this.allow("write");
      const p = parsePath(path);
      const body = bodyOf(data, options.size);
      const conditions = writeConditionsFrom({
        ifMatch: etagList(options.ifMatch),
        ifNoneMatch: etagList(options.ifNoneMatch),
      });
      const attributes =
        options.contentType === undefined && options.metadata === undefined
          ? undefined
          : {
              ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
              ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
            };
      const backend = await this.backend(p, options.lease);
      const { entry, created, version } = await backend.write(p, body, conditions, attributes);
      return {
        entry: { ...entry, path: p },
        created,
        ...(version === undefined ? {} : { version }),
      };
    });
  }

  /** Opens a file: its entry and a stream of its bytes (or of a range of them). */
  readFile(path: string, options: ReadFileOptions = {}): Promise<OpenedFile> {
    return rpcCall(async () => {
      await this.allow("read");
      const p = parsePath(path);
      const reader = await this.reader(p, options.at);
      const result = await reader.read(p, {
        headOnly: false,
        range: rangeHeader(options.range),
        ifMatch: options.ifMatch,
        ifNoneMatch: options.ifNoneMatch,
      });
      if (result.status === 304) return { entry: result.entry, body: null, notModified: true };
      if (result.status === 206) {
        const { offset, length } = result.range;
        return { entry: result.entry, body: result.body, range: { offset, length } };
      }
      return { entry: result.entry, body: result.body };
    });
  }

  stat(path: string, options: { at?: ReadAt } = {}): Promise<FileEntry> {
    return rpcCall(async () => {
      await this.allow("read");
      const p = parsePath(path);
      return (await this.reader(p, options.at)).stat(p);
    });
  }

  exists(path: string): Promise<boolean> {
    return rpcCall(async () => {
      await this.allow("read");
      const p = parsePath(path);
      try {
        await (await this.backend(p)).stat(p);
        return true;
      } catch (e) {
        if (e instanceof FsError && (e.code === "ENOENT" || e.code === "ENOTDIR")) return false;
        throw e;
      }
    });
  }

  /** One page of a directory (or a glob's matches), with the cursor of the next. */
  listdir(
    path = "/",
    options: ListdirOptions = {},
  ): Promise<{ entries: FileEntry[]; cursor?: string }> {
    return rpcCall(async () => {
      await this.allow("read");
      const limit = options.limit ?? LIST_DEFAULT;
      if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX) {
        throw invalid(`limit must be 1..${LIST_MAX}`);
      }
      const glob = isGlob(path);
      const p = glob ? compileGlob(path).baseDir : parsePath(path);
      const query: ListQuery = glob
        ? { kind: "glob", pattern: path, limit, cursor: options.cursor }
        : {
            kind: "path",
            path: p,
            recursive: options.recursive ?? false,
            limit,
            cursor: options.cursor,
          };
      const page = await (await this.reader(p, options.at)).list(query);
      return page.cursor
        ? { entries: page.entries, cursor: page.cursor }
        : { entries: page.entries };
    });
  }

  mkdir(path: string, options: { lease?: HeldLeases } = {}): Promise<FileEntry> {
    return rpcCall(async () => {
      await this.allow("write");
      const p = parsePath(path);
      return (await (await this.backend(p, options.lease)).mkdir(p)).entry;
    });
  }

  removeFile(
    path: string,
    options: { recursive?: boolean; lease?: HeldLeases } = {},
  ): Promise<void> {
    return rpcCall(async () => {
      await this.allow("write");
      const p = parsePath(path);
      await (await this.backend(p, options.lease)).remove(p, {
        recursive: options.recursive ?? false,
      });
    });
  }

  move(
    from: string,
    to: string,
    options: { overwrite?: boolean; lease?: HeldLeases } = {},
  ): Promise<FileEntry> {
    return rpcCall(async () => {
      await this.allow("write");
      const [a, b] = [parsePath(from), parsePath(to)];
      const backend = await this.backendForBoth(a, b, options.lease);
      const { entry } = await backend.move(a, b, { overwrite: options.overwrite ?? false });
      return entry;
    });
  }

  copy(
    from: string,
    to: string,
    options: { recursive?: boolean; overwrite?: boolean; lease?: HeldLeases } = {},
  ): Promise<FileEntry> {
    return rpcCall(async () => {
      await this.allow("write");
      const [a, b] = [parsePath(from), parsePath(to)];
      const backend = await this.backendForBoth(a, b, options.lease);
      const { entry } = await backend.copy(a, b, {
        overwrite: options.overwrite ?? false,
        recursive: options.recursive ?? false,
      });
      return entry;
    });
  }

  /** A URL plain curl or a browser can read (GET) or write (PUT) one file with, until it expires. */
  presign(
    path: string,
    options: PresignRequest,
  ): Promise<{ url: string; method: "GET" | "PUT"; path: string; expiresAt: number }> {
    return rpcCall(async () => {
      const method = options.method ?? "GET";
      if (method !== "GET" && method !== "PUT") throw invalid("method must be GET or PUT");
      const principal = await this.allow(method === "PUT" ? "write" : "read");
      const p = parsePath(path);
      if (p === ROOT || path.endsWith("/")) {
        throw invalid("a presigned URL is for one file: name it, without a trailing '/'", p);
      }
      const expiresIn = options.expiresIn ?? 3600;
      if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > PRESIGN_MAX_SECONDS) {
        throw invalid(`expiresIn must be 1..${PRESIGN_MAX_SECONDS} seconds`);
      }
      let base: URL;
      try {
        base = new URL(options.baseUrl);
      } catch {
        throw invalid("presign over RPC needs baseUrl: the gateway's public URL");
      }
      let expiresAt = Date.now() + expiresIn * 1000;
      if (principal.kind === "token") expiresAt = Math.min(expiresAt, principal.expiresAt);
      const expires = Math.floor(expiresAt / 1000);
      const credential = principal.kind === "root" ? "root" : principal.tokenId;
      const { environment: env, share } = this.b;
      const signature = await presign(keysFrom(this.b.env), {
        method,
        env,
        share,
        path: p,
        credential,
        expires,
      });
      const url = new URL(
        `/v1/shares/${share}/files${p.split("/").map(encodeURIComponent).join("/")}`,
        base,
      );
      url.searchParams.set("env", env);
      url.searchParams.set(PARAM.credential, credential);
      url.searchParams.set(PARAM.expires, String(expires));
      url.searchParams.set(PARAM.signature, signature);
      return { url: url.toString(), method, path: p, expiresAt: expires * 1000 };
    });
  }

  // ── Leases ───────────────────────────────────────────────────────────

  acquireLease(path: string, options: LeaseRequestOptions = {}) {
    return rpcCall(async () => {
      await this.allow("write");
      const ttl = options.ttlSeconds ?? 60;
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_TTL_SECONDS) {
        throw invalid(`ttlSeconds must be 1..${MAX_LEASE_TTL_SECONDS}`);
      }
      return this.target().api.acquireLease({
        path: parsePath(path),
        exclusive: options.exclusive ?? true,
        depth: options.depth ?? "infinity",
        owner: options.owner ?? null,
        ttlMs: ttl * 1000,
      });
    });
  }

  renewLease(leaseId: string, options: { ttlSeconds?: number } = {}) {
    return rpcCall(async () => {
      await this.allow("write");
      const ttl = options.ttlSeconds;
      if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_TTL_SECONDS)) {
        throw invalid(`ttlSeconds must be 1..${MAX_LEASE_TTL_SECONDS}`);
      }
      return this.target().api.renewLease(
        leaseIdOf(leaseId),
        ttl === undefined ? undefined : ttl * 1000,
      );
    });
  }

  releaseLease(leaseId: string): Promise<void> {
    return rpcCall(async () => {
      await this.allow("write");
      await this.target().api.releaseLease(leaseIdOf(leaseId));
    });
  }

  listLeases(options: { path?: string } = {}) {
    return rpcCall(async () => {
      await this.allow("read");
      return this.target().api.listLeases(
        options.path === undefined ? undefined : parsePath(options.path),
      );
    });
  }

  // ── The share ────────────────────────────────────────────────────────

  info(): Promise<ShareDetail> {
    return rpcCall(async () => {
      await this.allow("read");
      return this.target().api.info();
    });
  }

  setQuota(quota: { bytes?: number | null; files?: number | null }): Promise<ShareDetail> {
    return rpcCall(async () => {
      await this.allow("admin");
      for (const v of [quota.bytes, quota.files]) {
        if (v !== undefined && v !== null && (!Number.isSafeInteger(v) || v < 0)) {
          throw invalid("a quota is a non-negative integer, or null to clear it");
        }
      }
      if (quota.bytes === undefined && quota.files === undefined)
        throw invalid("give bytes, files or both");
      return this.target().api.setQuota(quota);
    });
  }

  /** Keeps an ephemeral share alive for another ttl. */
  heartbeat(): Promise<{ expiresAt: number }> {
    return rpcCall(async () => {
      await this.allow("write");
      return this.target().api.heartbeat();
    });
  }

  // ── Versions: snapshots, history, restore ────────────────────────────

  /** Names a version (default: the latest), keeping it readable until deleted. */
  snapshot(name: string, options: { version?: number } = {}): Promise<SnapshotInfo> {
    return rpcCall(async () => {
      await this.allow("write");
      if (typeof name !== "string" || name === "" || name.length > 64) {
        throw invalid("a snapshot name is 1..64 characters");
      }
      const v = options.version;
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0))
        throw invalid("version must be a version number");
      return this.target().api.createSnapshot(name, v);
    });
  }

  listSnapshots(): Promise<SnapshotInfo[]> {
    return rpcCall(async () => {
      await this.allow("read");
      return this.target().api.listSnapshots();
    });
  }

  deleteSnapshot(name: string): Promise<void> {
    return rpcCall(async () => {
      await this.allow("write");
      await this.target().api.deleteSnapshot(name);
    });
  }

  /** The versions of what stood at `path`, newest first, a page at a time (`cursor`: the previous page's). */
  history(path: string, options: { limit?: number; cursor?: string } = {}): Promise<HistoryPage> {
    return rpcCall(async () => {
      await this.allow("read");
      const p = parsePath(path);
      const limit = options.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw invalid("limit must be 1..1000");
      const storage = await shareStorageAt(
        this.runtime(),
        this.target(),
        [{ path: p, label: "history" }],
        [],
      );
      const cursor = options.cursor;
      if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) {
        throw invalid("the cursor is the one an earlier page gave");
      }
      return storage.history(p, limit, cursor === undefined ? undefined : Number(cursor));
    });
  }

  /** Brings back a file or subtree as it was at a version or snapshot (at `to`, default where it was), as one new version. */
  restore(
    path: string,
    options: ReadAt & { to?: string; lease?: HeldLeases },
  ): Promise<{ entry: FileEntry; version: number }> {
    return rpcCall(async () => {
      await this.allow("write");
      const from = parsePath(path);
      const to = options.to === undefined ? from : parsePath(options.to);
      const at: ReadAt =
        "version" in options && options.version !== undefined
          ? { version: options.version }
          : "snapshot" in options && options.snapshot !== undefined
            ? { snapshot: options.snapshot }
            : (() => {
                throw invalid('a restore names exactly one of "version" or "snapshot"');
              })();
      const storage = await shareStorageAt(
        this.runtime(),
        this.target(),
        [
          { path: from, label: "restore source" },
          { path: to, label: "restore destination" },
        ],
        held(options.lease),
      );
      const result = await storage.restore(from, at, to);
      return { entry: { ...result.entry, path: to }, version: result.version };
    });
  }

  // ── Change feed ──────────────────────────────────────────────────────

  /**
   * One page of the change feed (docs/api.md "Change feed"): after `since`
   * (a version or an earlier page's `next`; absent: from now), filtered by
   * `path`, long-polling up to `wait` seconds when nothing is there yet.
   */
  changes(query: FeedQuery = {}): Promise<ChangePage> {
    return rpcCall(async () => {
      await this.allow("read");
      const page = await new ShareFeed(this.b.env, this.target()).page(checkFeedQuery(query));
      return {
        changes: page.events.map((e) => JSON.parse(e) as ChangeEvent),
        version: page.version,
        next: page.next,
        more: page.more,
      };
    });
  }

  /**
   * Resolves with the entry once `path` exists: looked up first, then
   * watched from the version seen before the lookup, so a file that lands
   * in between is not missed. Past `timeout` (seconds, default 60) it is
   * ENOENT: the path still does not exist.
   */
  waitFor(path: string, options: { timeout?: number } = {}): Promise<FileEntry> {
    return rpcCall(async () => {
      await this.allow("read");
      const p = parsePath(path);
      const timeoutMs = (options.timeout ?? 60) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > 3_600_000) {
        throw invalid("timeout must be 0..3600 seconds");
      }
      const feed = new ShareFeed(this.b.env, this.target());
      const deadline = Date.now() + timeoutMs;
      let since = (await feed.page(checkFeedQuery({ limit: 1 }))).next;
      for (;;) {
        try {
          return await (await this.backend(p)).stat(p);
        } catch (e) {
          if (!(e instanceof FsError) || (e.code !== "ENOENT" && e.code !== "ENOTDIR")) throw e;
        }
        const left = deadline - Date.now();
        if (left <= 0)
          throw new FsError("ENOENT", `${p} did not appear within ${options.timeout ?? 60} s`, p);
        const page = await feed.page(
          checkFeedQuery({ since, path: p, limit: 1, wait: Math.min(60, Math.ceil(left / 1000)) }),
        );
        since = page.next;
      }
    });
  }
}

/** A body of known length goes to storage as is; a stream of unknown length in parts. */
function bodyOf(
  data: ReadableStream<Uint8Array> | string | ArrayBuffer | ArrayBufferView,
  size?: number,
): { stream: ReadableStream<Uint8Array> | null; length: number | undefined } {
  if (data instanceof ReadableStream) {
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
      throw invalid("size must be a byte count");
    }
    return { stream: data, length: size };
  }
  const bytes =
    typeof data === "string"
      ? utf8.encode(data)
      : data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : null;
  if (bytes === null) throw invalid("data must be a ReadableStream, a string or bytes");
  return { stream: new Response(bytes).body, length: bytes.byteLength };
}

function rangeHeader(range: ReadFileOptions["range"]): string | undefined {
  if (range === undefined) return undefined;
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw invalid("range.offset must be a byte offset");
  if (length === undefined) return `bytes=${offset}-`;
  if (!Number.isSafeInteger(length) || length < 1) throw invalid("range.length must be at least 1");
  return `bytes=${offset}-${offset + length - 1}`;
}

function etagList(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(", ") : value;
}

function held(lease: HeldLeases | undefined): string[] {
  if (lease === undefined) return [];
  const ids = [...new Set(Array.isArray(lease) ? lease : [lease])];
  if (ids.length > 16) throw invalid("a change holds at most 16 leases");
  return ids.map(leaseIdOf);
}

function leaseIdOf(id: string): string {
  if (typeof id !== "string" || !LEASE_ID.test(id)) throw invalid("malformed lease id");
  return id;
}
