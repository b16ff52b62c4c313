import type { FsError } from "./errors.js";
import type { LeaseOps } from "./leases.js";
import type { FsPath } from "./paths.js";
import type { WriteConditions } from "./preconditions.js";
import type { PropertyOps } from "./properties.js";
import type { ByteRange } from "./range.js";
import type { FileEntry, ListPage } from "./types.js";

/**
 * Optional abilities, declared as data (rclone's fs/features.go): a
 * front-end asks these before it relies on one, and never asks which
 * implementation it holds. Each says what a backend without it does.
 */
export interface BackendFeatures {
  /** move() renames without copying bytes. Without: move() throws ENOTSUP. */
  rename: boolean;
  /** Path leases (WebDAV locks): `leases` is present. Without: it is absent. */
  leases: boolean;
  /** Dead properties (WebDAV PROPPATCH): `properties` is present. Without: it is absent. */
  deadProperties: boolean;
  /** write() honours If-Match / If-None-Match. Without: a write that carries one throws ENOTSUP. */
  conditionalWrites: boolean;
  /** The upload API (createUpload … abortUpload). Without: each throws ENOTSUP. */
  multipart: boolean;
  /** Reads at an older version or a snapshot: `versions` is present. Without: it is absent. */
  versions: boolean;
  /** What the storage holds and may still hold (WebDAV quota properties): `space` is present. */
  space: boolean;
}

/** Which version a read sees: a version number, or a named snapshot. */
export type ReadAt = { version: number } | { snapshot: string };

/** The storage as it was at one version: reads only. */
export type VersionView = Pick<Backend, "stat" | "list" | "read">;

/** Reads at older versions (features.versions). */
export interface VersionOps {
  /**
   * The version `at` names. ENOENT for an unknown snapshot; EEXPIRED (410)
   * for a version older than the retention window that no snapshot keeps,
   * newer than the latest, or of an earlier share of the same name.
   */
  resolve(at: ReadAt): Promise<number>;
  /** The storage as it was at `version` (one `resolve` answered). */
  view(version: number): VersionView;
}

/** Bytes stored, and bytes left under a quota (null: no quota limits it). */
export interface SpaceUsage {
  usedBytes: number;
  availableBytes: number | null;
}

/** The storage's space: a share's usage and quota. */
export interface SpaceOps {
  /** ENOENT when the share is gone. */
  usage(): Promise<SpaceUsage>;
}

/**
 * The storage contract every front-end (the native API in src/routes,
 * WebDAV in src/dav, and later S3 and RPC) talks to. ShareBackend
 * implements it over ShareDO + R2, MountBackend over a bucket's S3 API.
 *
 * Methods throw FsError only, with the codes their docs name; anything else
 * is a bug and becomes EINTERNAL. Codes every method may throw, not
 * repeated below:
 * - ENOENT: the share does not exist (or an ephemeral share expired);
 * - EUPSTREAM (502): a bucket answered with an error or was unreachable
 *   (the message names the mount and the bucket's code);
 * - EINVAL: a path outside the storage the backend serves.
 * Codes of changes (write, mkdir, remove, move, copy, completeUpload):
 * - ELOCKED (423): a lease the caller does not hold protects the target;
 * - EACCES (403): the storage is read-only (a readOnly mount);
 * - EEXIST: share storage refuses to change what a bucket mount shows
 *   ("a bucket is mounted at …": an isolate's mount list was stale).
 */
export interface Backend {
  readonly features: BackendFeatures;
  /** Present exactly when `features.leases`. */
  readonly leases?: LeaseOps;
  /** Present exactly when `features.deadProperties`. */
  readonly properties?: PropertyOps;
  /** Present exactly when `features.space`. */
  readonly space?: SpaceOps;
  /** Present exactly when `features.versions`. */
  readonly versions?: VersionOps;

  /** ENOENT if missing (ENOTDIR where a parent is a file, on share storage). */
  stat(path: FsPath): Promise<FileEntry>;

  /**
   * Lists with Modal's rules: a directory lists its children (relative
   * names), a file lists itself (absolute path), a glob lists matches
   * (absolute paths). ENOENT if a non-glob path is missing; EINVAL for a bad
   * cursor or glob.
   */
  list(query: ListQuery): Promise<ListPage<FileEntry>>;

  /**
   * Opens a file for reading. ENOENT if missing, EISDIR for a directory,
   * EPRECONDITION if If-Match fails, ERANGE for an unsatisfiable range
   * (Content-Range in its headers), EINVAL for a malformed Range or
   * validator header.
   */
  read(path: FsPath, options: ReadOptions): Promise<ReadResult>;

  /**
   * Writes a whole file atomically, creating parents. EISDIR if the path is
   * a directory, ENOTDIR if a parent is a file, EPRECONDITION if a condition
   * fails at commit time, EINVAL if the body is shorter or longer than its
   * declared length or breaks off, ENOTSUP for conditions without
   * `features.conditionalWrites`, ETOOLARGE over the storage's size limit.
   */
  write(path: FsPath, body: WriteBody, conditions: WriteConditions): Promise<WriteResult>;

  /** `mkdir -p`. ENOTDIR if the path or a parent is a file. */
  mkdir(path: FsPath): Promise<WriteResult>;

  /**
   * ENOENT if missing; ENOTEMPTY for a non-empty directory without
   * recursive (the root too; with recursive, the root is emptied). `dropLeases`
   * releases the leases on what is removed, in the same step (WebDAV: the
   * locks of a deleted resource die with it).
   */
  remove(path: FsPath, options: { recursive: boolean; dropLeases?: boolean }): Promise<Committed>;

  /**
   * S3's DeleteObject(s): each key's file, or a directory's key (`dir/`)
   * when that directory is empty; a missing key is no error, a file's key
   * never removes a directory, and on share storage directories left empty
   * above a removed entry go too (prefixes vanish with their last object).
   * One change (one version) for up to 1,000 keys; a key refused (a lease,
   * a read-only mount) is reported in its result and the others go on.
   */
  deleteKeys(keys: readonly KeyTarget[]): Promise<KeyDeletions>;

  /**
   * Renames without copying bytes. ENOENT (source), EEXIST (target exists,
   * no overwrite), EINVAL (into itself, or the root), EISDIR / ENOTDIR /
   * ENOTEMPTY as rename(2) has them with overwrite. ENOTSUP without
   * `features.rename`, and across storage (a mount boundary).
   */
  move(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; dropLeases?: boolean },
  ): Promise<Moved>;

  /**
   * Like move, but the source stays; a directory needs recursive (EISDIR
   * otherwise). EINVAL for a copy onto itself; ETOOLARGE for a file over
   * the storage's single-copy limit (5 GiB on buckets); ENOTSUP across
   * storage.
   */
  copy(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; recursive: boolean },
  ): Promise<Moved>;

  /**
   * Starts a multipart upload of a file too big for one request. The same
   * checks as write() fail fast here and are repeated at completion.
   * `size`, when given, is the file's size: every part must then be the
   * size it implies, and completion needs them all (core/uploads.ts);
   * ETOOLARGE over R2's object limit, EINVAL when it needs more than
   * 10,000 parts of partSize. ENOTSUP without `features.multipart`, for
   * this and every upload method.
   */
  createUpload(
    path: FsPath,
    options: { partSize: number; conditions: WriteConditions; size?: number },
  ): Promise<UploadInfo>;

  /**
   * Stores part `n` (1-based). Every part but the last is exactly partSize
   * bytes (EINVAL naming the size otherwise, or for a number outside 1 to
   * 10,000, or during completion); with a declared size, the last part is
   * exactly the rest and no part lies past it (EINVAL naming the numbers).
   * Re-sending a part replaces it. ENOENT for
   * an unknown, finished, aborted or expired upload.
   */
  uploadPart(
    uploadId: string,
    n: number,
    body: ReadableStream<Uint8Array> | Uint8Array,
    length: number,
  ): Promise<UploadPart>;

  /** The parts received so far, to resume after a failure. ENOENT as for uploadPart. */
  uploadStatus(uploadId: string): Promise<UploadStatus>;

  /**
   * Commits the upload atomically, like write() (and with its codes).
   * EINVAL if a part is missing, the parts do not tile the file, they do
   * not add up to the declared size, or it is already being completed (the
   * upload then stays open, to finish or abort); conditions and leases are
   * judged now.
   */
  completeUpload(uploadId: string): Promise<WriteResult>;

  /** Abandons the upload and everything it stored. ENOENT as for uploadPart. */
  abortUpload(uploadId: string): Promise<void>;
}

/** One key of S3's DeleteObject(s): a file's path, or a directory's (the key `dir/`). */
export interface KeyTarget {
  path: FsPath;
  directory: boolean;
}

/** What became of one key: removed or not there (`removed: false`: no error in S3), or refused. */
export type KeyDeletion = { removed: boolean } | { error: FsError };

export interface KeyDeletions extends Committed {
  /** One per key, in the order asked. */
  results: KeyDeletion[];
}

/**
 * What happens to an existing destination of a move or copy: `false`, it
 * stays (EEXIST); `true`, rename(2)'s rules (a file replaces a file, a
 * directory an empty directory); `"any"`, whatever is there is deleted in
 * the same step (WebDAV's Overwrite: T, RFC 4918 §9.9.3).
 */
export type Overwrite = boolean | "any";

export interface UploadInfo {
  uploadId: string;
  path: string;
  partSize: number;
  /** The file's size as declared on create; absent when none was. */
  size?: number;
  expiresAt: number;
}

export interface UploadPart {
  partNumber: number;
  size: number;
  etag: string;
}

export interface UploadStatus extends UploadInfo {
  createdAt: number;
  /** Bytes received so far, in all parts. */
  received: number;
  parts: UploadPart[];
}

export type ListQuery =
  | { kind: "path"; path: FsPath; recursive: boolean; limit: number; cursor?: string }
  | { kind: "glob"; pattern: string; limit: number; cursor?: string };

export interface ReadOptions {
  /** HEAD: resolve and validate, but open no body. */
  headOnly: boolean;
  range?: string;
  ifRange?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

export type ReadResult =
  | { status: 304; entry: FileEntry }
  | { status: 200; entry: FileEntry; body: ReadableStream | null }
  | { status: 206; entry: FileEntry; range: ByteRange; body: ReadableStream | null };

export interface WriteBody {
  stream: ReadableStream<Uint8Array> | null;
  /** The declared Content-Length, or undefined for a chunked body. */
  length: number | undefined;
}

/**
 * What every change answers besides its own result: on storage that keeps
 * versions, the share's version once the change committed (answers say
 * it in `Edgefs-Version`); absent on a bucket mount.
 */
export interface Committed {
  version?: number;
}

export interface WriteResult extends Committed {
  entry: FileEntry;
  created: boolean;
}

/** A move's or copy's answer: what now stands at the destination. */
export interface Moved extends Committed {
  entry: FileEntry;
}
