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
  /** The upload API (createUpload … abortUpload, listUploads). Without: each throws ENOTSUP. */
  multipart: boolean;
  /** Reads at an older version or a snapshot: `versions` is present. Without: it is absent. */
  versions: boolean;
  /** What the storage holds and may still hold (WebDAV quota properties): `space` is present. */
  space: boolean;
}

/** What a file keeps besides its bytes: S3's Content-Type and x-amz-meta-* (bounded: core/attributes.ts). */
export interface FileAttributes {
  contentType?: string;
  /** User metadata: lower-case names without the x-amz-meta- prefix → values. */
  metadata?: Record<string, string>;
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
   * S3's ListObjectsV2 over the storage's latest version: keys (share
   * paths without the leading "/") in UTF-8 byte order of the whole key
   * (core/key-order.ts), resuming strictly after `startAfter`. Share
   * storage meets a bucket mount point as a "mount" item (without
   * delimiter): the caller lists inside it through the mount's backend.
   * EINVAL for a prefix or startAfter over 1024 bytes or with control
   * characters, or a limit outside 1…1000; ENOTSUP where the storage
   * cannot list keys (a version view).
   */
  listKeys(query: KeyQuery): Promise<KeyPage>;

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
   * `features.conditionalWrites`, ETOOLARGE over the storage's size limit
   * or attributes over their bounds (core/attributes.ts, which also gives
   * EINVAL for bad ones). `attributes` replace the file's: a write without
   * them leaves the file none.
   */
  write(
    path: FsPath,
    body: WriteBody,
    conditions: WriteConditions,
    attributes?: FileAttributes,
  ): Promise<WriteResult>;

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
   * storage. A file's copy keeps the source's attributes; `attributes`,
   * when given, replace them (S3's metadata directive REPLACE; EINVAL for
   * a directory).
   */
  copy(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; recursive: boolean; attributes?: FileAttributes },
  ): Promise<Moved>;

  /**
   * Starts a multipart upload of a file too big for one request. The same
   * checks as write() fail fast here and are repeated at completion.
   *
   * With `partSize` (the native API), the server fixed the parts' size:
   * every part but the last must be exactly that when it arrives. Without
   * it (S3), the client picks: parts of any size up to MAX_PART_SIZE are
   * taken as they come, and only completion judges their shape
   * (completeUpload).
   *
   * `size`, when given, is the file's size: with a partSize every part must
   * then be the size it implies, and completion needs them all
   * (core/uploads.ts); without one, completion checks the parts add up to
   * it. ETOOLARGE over R2's object limit, EINVAL when it needs more than
   * 10,000 parts of partSize. ENOTSUP without `features.multipart`, for
   * this and every upload method. `attributes` are checked now, kept with
   * the upload and given to the file at completion.
   */
  createUpload(
    path: FsPath,
    options: {
      partSize?: number;
      conditions: WriteConditions;
      size?: number;
      attributes?: FileAttributes;
    },
  ): Promise<UploadInfo>;

  /**
   * Stores part `n` (1-based), replacing a part sent before with the same
   * number. EINVAL for a number outside 1 to 10,000, or during completion.
   * With a partSize, every part but the last is exactly partSize bytes
   * (EINVAL naming the size otherwise); with a declared size, the last part
   * is exactly the rest and no part lies past it (EINVAL naming the
   * numbers). Without a partSize, any size up to MAX_PART_SIZE is taken,
   * in any order, small ones too. ENOENT for an unknown, finished, aborted
   * or expired upload.
   *
   * `body` is `length` bytes: a request body, bytes in memory, or any
   * stream of exactly that many bytes — e.g. the body of a ranged read()
   * of another file (S3's UploadPartCopy). A body shorter or longer than
   * `length` is EINVAL and stores nothing. The answer's `etag` is the
   * quoted MD5 hex of the part's bytes, as S3 gives it.
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
   * Commits the upload atomically, like write() (and with its codes);
   * conditions and leases are judged now. The file's ETag is S3's
   * multipart ETag: the MD5 hex of the parts' binary MD5s, a dash and the
   * number of parts (`"…-3"`).
   *
   * Without `parts`, every part is used: EINVAL if one is missing from 1
   * to the last, the parts do not tile the file, they do not add up to the
   * declared size, or it is already being completed (the upload then stays
   * open, to finish or abort).
   *
   * With `parts` (S3's CompleteMultipartUpload), exactly those are used, in
   * that order, and the others are discarded. EINVAL with `reason`:
   * "InvalidPartOrder" unless the numbers are strictly ascending;
   * "InvalidPart" for a part never uploaded or whose ETag (quoted or not)
   * is not its current one.
   *
   * With a partSize, every part used but the last is that size (EINVAL;
   * with `parts`, reason "InvalidPart"). Without one, the parts used must be what
   * R2 stores — all the same size, at least MIN_PART_SIZE (5 MiB), but the
   * last, which is no bigger: EINVAL with `reason` "EntityTooSmall" for a
   * smaller part that is not the last, "InvalidPart" for unequal ones.
   * Nothing is committed on any of these, and the upload stays open.
   */
  completeUpload(
    uploadId: string,
    parts?: { partNumber: number; etag: string }[],
  ): Promise<WriteResult>;

  /**
   * Open uploads (not completed, aborted or expired) whose key — the path
   * without its leading "/", as S3 names objects — starts with `prefix`,
   * ordered by key, then upload id; staged uploads (batch commits) are not
   * listed. Each upload's `path` is its share path ("/a/b"); `after` and
   * `next` speak keys ("a/b"). At most `limit` of them; `next`, when more follow, is the
   * `after` of the next page. `after` is a key and optionally an upload id
   * (S3's key-marker and upload-id-marker): the page starts after that
   * upload, or after every upload of that key when `uploadId` is absent.
   */
  listUploads(query: {
    prefix: string;
    after?: { path: string; uploadId?: string };
    limit: number;
  }): Promise<{ uploads: ListedUpload[]; next?: { path: string; uploadId: string } }>;

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
  /** Every part's size but the last's; absent when the client picks part sizes (S3). */
  partSize?: number;
  /** The file's size as declared on create; absent when none was. */
  size?: number;
  expiresAt: number;
}

export interface UploadPart {
  partNumber: number;
  size: number;
  /** The quoted MD5 hex of the part's bytes (S3's part ETag). */
  etag: string;
}

/** An open upload, as listUploads answers. */
export interface ListedUpload extends UploadInfo {
  createdAt: number;
}

export interface UploadStatus extends ListedUpload {
  /** Bytes received so far, in all parts. */
  received: number;
  parts: UploadPart[];
}

/**
 * S3's listing: keys are share paths without the leading "/", in UTF-8
 * byte order of the whole key; a directory's key ends in "/".
 *
 * The order is that of the whole key, not of names depth first: a file
 * `a.txt` comes before `a/b`, since "." (0x2E) sorts below "/" (0x2F).
 * Clients merge sorted listings (`aws s3 sync --delete`), so it is exact.
 */
export interface KeyQuery {
  /** Only keys that start with it ("" for all); any string, not only a directory ("photos/2024-" is fine). */
  prefix: string;
  /**
   * Only keys strictly after it in key order ("" from the start); any
   * string, not only a key. With delimiter, a prefix item counts as its
   * own key ("dir/"): a startAfter at or inside it resumes past it.
   */
  startAfter: string;
  /**
   * S3's delimiter "/": what lies below the next "/" after the prefix is
   * rolled up into one `prefix` item. Every directory at the prefix's level
   * is one, empty or not; a prefix that ends exactly at a directory's key
   * ("a/") lists what is inside it, or the object "a/" if it is empty.
   */
  delimiter: boolean;
  /** 1 to 1000 items (objects and prefixes together). */
  limit: number;
}

/**
 * One item of a key listing.
 * - "object": a file, or an empty directory as the object `dir/` (size 0,
 *   type "directory"); a directory that holds anything is never an object,
 *   its contents imply it. `entry` is what stat gives for it.
 * - "prefix": a rolled-up directory `dir/` (with delimiter only).
 * - "mount": share storage only, without delimiter: a bucket mount point
 *   `dir/`. Its keys are the mount's: list them there with the same query,
 *   then resume here with startAfter past them.
 */
export type KeyItem =
  | { kind: "object"; key: string; entry: FileEntry }
  | { kind: "prefix"; key: string }
  | { kind: "mount"; key: string };

export interface KeyPage {
  /** In key order. */
  items: KeyItem[];
  /** Present when more may follow: the key to resume after (it may name something scanned but not returned). */
  next?: string;
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
