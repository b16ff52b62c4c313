import type { FsPath } from "./paths.js";
import type { WriteConditions } from "./preconditions.js";
import type { ByteRange } from "./range.js";
import type { FileEntry, ListPage } from "./types.js";

/**
 * The storage contract every front-end (the native HTTP API today; WebDAV
 * and others later) talks to. ShareBackend implements it over ShareDO + R2;
 * MountBackend will implement it over S3. Methods throw FsError only, with
 * the codes named here; anything else is a bug and becomes EINTERNAL.
 */
export interface Backend {
  /** ENOENT if missing. */
  stat(path: FsPath): Promise<FileEntry>;

  /**
   * Lists with Modal's rules: a directory lists its children (relative
   * names), a file lists itself (absolute path), a glob lists matches
   * (absolute paths). ENOENT if a non-glob path is missing; EINVAL for a bad
   * cursor.
   */
  list(query: ListQuery): Promise<ListPage<FileEntry>>;

  /**
   * Opens a file for reading. ENOENT if missing, EISDIR for a directory,
   * EPRECONDITION if If-Match fails, ERANGE for an unsatisfiable range,
   * EINVAL for a malformed Range or validator header.
   */
  read(path: FsPath, options: ReadOptions): Promise<ReadResult>;

  /**
   * Writes a whole file atomically, creating parents. EISDIR if the path is
   * a directory, ENOTDIR if a parent is a file, EPRECONDITION if a condition
   * fails at commit time, EINVAL if the body is shorter or longer than its
   * declared length.
   */
  write(path: FsPath, body: WriteBody, conditions: WriteConditions): Promise<WriteResult>;

  /** `mkdir -p`. ENOTDIR if the path or a parent is a file. */
  mkdir(path: FsPath): Promise<WriteResult>;

  /**
   * ENOENT if missing; ENOTEMPTY for a non-empty directory without recursive.
   * `dropLeases` releases the leases on what is removed, in the same step
   * (WebDAV: the locks of a deleted resource die with it).
   */
  remove(path: FsPath, options: { recursive: boolean; dropLeases?: boolean }): Promise<void>;

  /**
   * Renames without copying bytes. ENOENT (source), EEXIST (target exists,
   * no overwrite), EINVAL (into itself), EISDIR / ENOTDIR / ENOTEMPTY as
   * rename(2) has them with overwrite.
   */
  move(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; dropLeases?: boolean },
  ): Promise<FileEntry>;

  /** Like move, but the source stays; a directory needs recursive (EISDIR otherwise). */
  copy(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; recursive: boolean },
  ): Promise<FileEntry>;

  /**
   * Starts a multipart upload of a file too big for one request. The same
   * checks as write() fail fast here and are repeated at completion.
   */
  createUpload(
    path: FsPath,
    options: { partSize: number; conditions: WriteConditions },
  ): Promise<UploadInfo>;

  /**
   * Stores part `n` (1-based). Every part but the last is exactly partSize
   * bytes (EINVAL naming the size otherwise); re-sending a part replaces it.
   * ENOENT for an unknown, finished, aborted or expired upload.
   */
  uploadPart(
    uploadId: string,
    n: number,
    body: ReadableStream<Uint8Array> | Uint8Array,
    length: number,
  ): Promise<UploadPart>;

  /** The parts received so far, to resume after a failure. */
  uploadStatus(uploadId: string): Promise<UploadStatus>;

  /**
   * Commits the upload atomically, like write(). EINVAL if a part is missing
   * or the parts do not tile the file; conditions and leases are judged now.
   */
  completeUpload(uploadId: string): Promise<WriteResult>;

  /** Abandons the upload and everything it stored. */
  abortUpload(uploadId: string): Promise<void>;
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

export interface WriteResult {
  entry: FileEntry;
  created: boolean;
}
