/**
 * The RPC binding as a consumer Worker sees it (docs/rpc.md): import the
 * type and declare it on your Env,
 *
 *   import type { EdgefsBinding } from "edgefs/rpc";
 *   interface Env { EDGEFS: EdgefsBinding }
 *
 * and every call and result is typed. Runtime-free: it names no Workers
 * types, so it needs no particular version of @cloudflare/workers-types.
 * The entrypoint (entrypoint.ts) and the handle (share-handle.ts) are
 * checked against these interfaces, so the two cannot drift apart.
 */
import type { ChangePage } from "../core/changes.js";
import type { ErrorCode } from "../core/errors.js";
import type { Lease } from "../core/leases.js";
import type {
  FileEntry,
  HistoryPage,
  ShareDetail,
  ShareInfo,
  SnapshotInfo,
} from "../core/types.js";

export type { ChangeEvent, ChangePage } from "../core/changes.js";
export type { ErrorCode } from "../core/errors.js";
export type { Lease } from "../core/leases.js";
export type {
  FileEntry,
  HistoryPage,
  ShareDetail,
  ShareInfo,
  SnapshotInfo,
} from "../core/types.js";

/** Who calls, and where: every call names its token and environment (default "main"). */
export interface CallerOptions {
  token: string;
  env?: string;
}

/** Which version a read sees: a version number, or a named snapshot. */
export type ReadAt = { version: number } | { snapshot: string };

/** The leases a change holds: one id or several (at most 16). */
export type HeldLeases = string | string[];

export interface WriteFileOptions {
  /** Write only if the file is at one of these ETags ("*": it exists). */
  ifMatch?: string | string[];
  /** Write only if the file is at none of these ("*": create only). */
  ifNoneMatch?: string | string[];
  lease?: HeldLeases;
  /** A stream's length when known: stored in one piece instead of in parts. */
  size?: number;
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface ReadFileOptions {
  /** Bytes from `offset`, `length` of them (default: to the end). */
  range?: { offset: number; length?: number };
  ifMatch?: string;
  ifNoneMatch?: string;
  at?: ReadAt;
}

/** A file opened for reading: its entry and its bytes (null when `notModified`). */
export interface OpenedFile {
  entry: FileEntry;
  body: ReadableStream<Uint8Array> | null;
  range?: { offset: number; length: number };
  notModified?: boolean;
}

export interface ListdirOptions {
  recursive?: boolean;
  /** Entries per page, 1 to 10,000 (default 1,000). */
  limit?: number;
  cursor?: string;
  at?: ReadAt;
}

export interface LeaseRequestOptions {
  ttlSeconds?: number;
  exclusive?: boolean;
  depth?: "0" | "infinity";
  owner?: string;
}

export interface PresignRequest {
  method?: "GET" | "PUT";
  /** Seconds the URL works: 1 to 7 days, default an hour (never past the token's expiry). */
  expiresIn?: number;
  /** The gateway's public URL, which the presigned URL starts with. */
  baseUrl: string;
}

export interface PresignedUrl {
  url: string;
  method: "GET" | "PUT";
  path: string;
  expiresAt: number;
}

/** A page query of the change feed (docs/api.md "Change feed"). */
export interface ChangesQuery {
  /** A version, or an earlier page's `next`; absent: from now. */
  since?: string;
  /** A path (events at or below it) or a glob. */
  path?: string;
  /** 1 to 1,000 events (default 100). */
  limit?: number;
  /** Long-poll: seconds (up to 60) an empty page waits for the first matching change. */
  wait?: number;
}

/** A share, held through the binding: the SDK's methods. */
export interface ShareHandleApi {
  writeFile(
    path: string,
    data: ReadableStream<Uint8Array> | string | ArrayBuffer | ArrayBufferView,
    options?: WriteFileOptions,
  ): Promise<{ entry: FileEntry; created: boolean; version?: number }>;
  readFile(path: string, options?: ReadFileOptions): Promise<OpenedFile>;
  stat(path: string, options?: { at?: ReadAt }): Promise<FileEntry>;
  exists(path: string): Promise<boolean>;
  listdir(
    path?: string,
    options?: ListdirOptions,
  ): Promise<{ entries: FileEntry[]; cursor?: string }>;
  mkdir(path: string, options?: { lease?: HeldLeases }): Promise<FileEntry>;
  removeFile(path: string, options?: { recursive?: boolean; lease?: HeldLeases }): Promise<void>;
  move(
    from: string,
    to: string,
    options?: { overwrite?: boolean; lease?: HeldLeases },
  ): Promise<FileEntry>;
  copy(
    from: string,
    to: string,
    options?: { recursive?: boolean; overwrite?: boolean; lease?: HeldLeases },
  ): Promise<FileEntry>;
  presign(path: string, options: PresignRequest): Promise<PresignedUrl>;
  acquireLease(path: string, options?: LeaseRequestOptions): Promise<Lease>;
  renewLease(leaseId: string, options?: { ttlSeconds?: number }): Promise<Lease>;
  releaseLease(leaseId: string): Promise<void>;
  listLeases(options?: { path?: string }): Promise<Lease[]>;
  info(): Promise<ShareDetail>;
  setQuota(quota: { bytes?: number | null; files?: number | null }): Promise<ShareDetail>;
  heartbeat(): Promise<{ expiresAt: number }>;
  snapshot(name: string, options?: { version?: number }): Promise<SnapshotInfo>;
  listSnapshots(): Promise<SnapshotInfo[]>;
  deleteSnapshot(name: string): Promise<void>;
  history(path: string, options?: { limit?: number; cursor?: string }): Promise<HistoryPage>;
  restore(
    path: string,
    options: ReadAt & { to?: string; lease?: HeldLeases },
  ): Promise<{ entry: FileEntry; version: number }>;
  changes(query?: ChangesQuery): Promise<ChangePage>;
  waitFor(path: string, options?: { timeout?: number }): Promise<FileEntry>;
}

/** The entrypoint's methods, over the handle type it gives out. */
export interface EdgefsMethods<Handle> {
  /** A handle on share `name`; its calls check the token each time. */
  share(name: string, options: CallerOptions): Handle;
  fromName(name: string, options: CallerOptions & { createIfMissing?: boolean }): Promise<Handle>;
  ephemeral(
    options: CallerOptions & { ttlSeconds?: number },
  ): Promise<{ name: string; expiresAt: number; share: Handle }>;
  createShare(name: string, options: CallerOptions): Promise<boolean>;
  deleteShare(name: string, options: CallerOptions): Promise<void>;
  listShares(
    options: CallerOptions & { limit?: number; after?: string },
  ): Promise<{ shares: ShareInfo[]; last?: string }>;
}

/**
 * What `env.EDGEFS` holds once the service binding names the entrypoint
 * `Edgefs`: handles come back as RPC stubs, which `using` disposes.
 */
export type EdgefsBinding = EdgefsMethods<ShareHandleApi & Disposable>;

/**
 * An error a call threw: named "EdgefsError", with the HTTP API's code in
 * front of its message. Within one Worker its `code` and `path` properties
 * travel too; across Workers the runtime keeps only the message (which then
 * begins "EdgefsError: "), so read the code with `errorCodeOf`.
 */
export interface EdgefsRpcError extends Error {
  code: ErrorCode;
  path?: string;
}

/** The contract's error code an RPC call threw, or undefined for any other error. */
export function errorCodeOf(e: unknown): ErrorCode | undefined {
  const code =
    (e as { code?: unknown } | null)?.code ??
    /^(?:EdgefsError: )?(E[A-Z]+): /.exec(e instanceof Error ? e.message : "")?.[1];
  return typeof code === "string" && /^E[A-Z]+$/.test(code) ? (code as ErrorCode) : undefined;
}
