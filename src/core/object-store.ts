import type { FileAttributes } from "./backend.js";

/**
 * What a bucket mount needs of an object store: exactly the S3 calls
 * MountBackend makes, with S3's semantics (ListObjectsV2, conditional GET,
 * multipart). S3Client (src/s3) implements it over HTTP; the contract suite
 * runs MountBackend over an in-memory implementation
 * (test/contract/memory-object-store.ts). It lives in core so that the S3
 * client can implement it without importing the backends above it.
 */
export interface ObjectStore {
  /** Metadata of `key`, or null when there is no such object. */
  head(key: string): Promise<StoredObject | null>;

  /**
   * GET (or HEAD with headOnly) with HTTP's Range and conditional headers,
   * judged as S3 does. null when the key does not exist; a failed If-Match
   * throws ObjectStoreError 412 PreconditionFailed, an unsatisfiable range
   * 416 InvalidRange. A malformed Range is ignored (S3 serves it all).
   */
  get(key: string, options: GetOptions): Promise<GetResult | null>;

  /**
   * PutObject of exactly `length` bytes; a body of another length fails.
   * `attributes` become its Content-Type and x-amz-meta-* headers.
   */
  put(
    key: string,
    body: ObjectBody,
    length: number,
    attributes?: FileAttributes,
  ): Promise<{ etag: string }>;

  /** CreateMultipartUpload (with the object's attributes, as put): the UploadId. */
  createMultipart(key: string, attributes?: FileAttributes): Promise<string>;

  /** UploadPart `n` (1…10000): its ETag, needed by completeMultipart. */
  uploadPart(
    key: string,
    uploadId: string,
    n: number,
    body: ObjectBody,
    length: number,
  ): Promise<string>;

  /**
   * Stitches the parts, in ascending part number, into the object. S3's
   * rules: every part but the last is at least 5 MiB (EntityTooSmall), the
   * ETags must be those uploaded (InvalidPart), in order (InvalidPartOrder).
   */
  completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<{ etag: string }>;

  abortMultipart(key: string, uploadId: string): Promise<void>;

  /** One ListObjectsV2 page: keys in byte order, CommonPrefixes with a delimiter. */
  list(query: ListObjectsQuery): Promise<ListObjectsPage>;

  /** DeleteObject: succeeds whether or not the key existed. */
  delete(key: string): Promise<void>;

  /** DeleteObjects (at most 1000 keys): only the failures come back. */
  deleteMany(keys: string[]): Promise<{ key: string; code: string; message: string }[]>;

  /**
   * CopyObject within the store: the copy keeps the source's attributes,
   * or with `attributes` has those instead (x-amz-metadata-directive: REPLACE).
   */
  copy(fromKey: string, toKey: string, attributes?: FileAttributes): Promise<{ etag: string }>;
}

export type ObjectBody = ReadableStream<Uint8Array> | Uint8Array;

export interface StoredObject {
  key: string;
  /** Bytes; on a 304 S3 sends no length and this is 0. */
  size: number;
  /** With its quotes, as S3 sends it: `"abc"`, or `"abc-2"` after a multipart upload. */
  etag: string;
  /** ms since the epoch. */
  lastModified: number;
  /** HEAD and GET only (a listing has neither): the object's Content-Type … */
  contentType?: string;
  /** … and its x-amz-meta-* headers, names lower-case without the prefix. */
  metadata?: Record<string, string>;
}

export interface GetOptions {
  range?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifRange?: string;
  headOnly?: boolean;
}

export interface GetResult {
  status: 200 | 206 | 304;
  /** size is the FULL object size, also for a 206. */
  object: StoredObject;
  range?: { offset: number; length: number };
  body: ReadableStream | null;
}

export interface ListObjectsQuery {
  prefix: string;
  delimiter?: string;
  continuationToken?: string;
  startAfter?: string;
  maxKeys?: number;
}

export interface ListObjectsPage {
  objects: StoredObject[];
  /** CommonPrefixes: each ends with the delimiter. */
  prefixes: string[];
  nextToken?: string;
}

/**
 * A failure the store reported. `code` is S3's <Code> (AccessDenied,
 * NoSuchKey, SlowDown …), or "HTTP<status>" when the answer has none;
 * `status` the HTTP status S3 sent (200 for an <Error> inside a 200 answer).
 */
export class ObjectStoreError extends Error {
  override readonly name: string = "ObjectStoreError";
  readonly status: number;
  readonly code: string;
  // Plain fields, not parameter properties: the module stays erasable TypeScript.
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
