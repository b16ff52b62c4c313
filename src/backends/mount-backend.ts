import type {
  Backend,
  BackendFeatures,
  ListQuery,
  Overwrite,
  ReadOptions,
  ReadResult,
  UploadInfo,
  UploadPart,
  UploadStatus,
  WriteBody,
  WriteResult,
} from "../core/backend";
import { FsError, invalid, notFound } from "../core/errors";
import { compileGlob } from "../core/glob";
import { decodeCursor, encodeCursor } from "../core/ids";
import type { Mount } from "../core/mount";
import { type ObjectStore, ObjectStoreError } from "../core/object-store";
import { type FsPath, isWithin, parentOf } from "../core/paths";
import type { WriteConditions } from "../core/preconditions";
import { parseRange } from "../core/range";
import { bodyError, countedBody, fixedSizeParts } from "../core/streams";
import type { FileEntry, ListPage } from "../core/types";
import { MountKeys } from "./mount-keys";

/** S3's single PutObject and CopyObject limit. */
const SINGLE_OBJECT_MAX = 5 * 1024 ** 3;
/** Parts for bodies of unknown length (S3 allows 10,000 of them: ~97 GiB). */
const PART_SIZE = 10 * 1024 * 1024;
/** S3 answers at most 1,000 keys per ListObjectsV2 call. */
const S3_PAGE = 1000;

/**
 * What a bucket mount can do. No rename (S3 has none), no leases or dead
 * properties (others write to the bucket without passing through edgefs,
 * so neither could hold), no conditional writes, and no upload API
 * (large bodies go multipart inside write()).
 */
export const MOUNT_FEATURES: Readonly<BackendFeatures> = Object.freeze({
  rename: false,
  leases: false,
  deadProperties: false,
  conditionalWrites: false,
  multipart: false,
  versions: false,
});

/**
 * (Longer than the house's ~400 lines on purpose: one method per Backend
 * method, each a few S3 calls that share the checks below; the key layout
 * is in mount-keys.ts and the byte counting in core/streams.ts.)
 *
 * A bucket mounted at a path of a share, with the semantics of S3 (and of
 * Mountpoint for S3): directories are implied by "/" in keys; `mkdir` writes
 * a zero-byte "dir/" marker, which listings hide but which makes an empty
 * directory exist; rename is not emulated (501); every call is one or a few
 * S3 requests, never one per key, except recursive copies.
 */
export class MountBackend implements Backend {
  private readonly keys: MountKeys;

  constructor(
    private readonly mount: Mount,
    private readonly s3: ObjectStore,
  ) {
    this.keys = new MountKeys(mount);
  }

  readonly features = MOUNT_FEATURES;

  private get root(): FsPath {
    return this.keys.root;
  }

  /** Where the bucket is mounted in the share. */
  get mountPath(): string {
    return this.mount.path;
  }

  private key(path: FsPath): string {
    return this.keys.key(path);
  }

  private writable(path: FsPath): void {
    if (this.mount.readOnly)
      throw new FsError("EACCES", `the bucket mount at ${this.root} is read-only`, path);
  }

  /** S3's answer, in our words: missing → ENOENT, conditions → 412/416, the rest → 502 naming the mount. */
  private upstream(e: unknown, path: FsPath): never {
    if (e instanceof FsError) throw e;
    if (e instanceof ObjectStoreError) {
      if (e.code === "NoSuchKey") throw notFound(path);
      if (e.status === 412)
        throw new FsError("EPRECONDITION", "precondition failed on the bucket", path);
      if (e.status === 416) throw new FsError("ERANGE", "range not satisfiable", path);
      throw new FsError(
        "EUPSTREAM",
        `bucket mount ${this.root} (${this.mount.bucket}): ${e.code}: ${e.message}`,
        path,
      );
    }
    throw new FsError(
      "EUPSTREAM",
      `bucket mount ${this.root} (${this.mount.bucket}) unreachable: ${String(e)}`,
      path,
    );
  }

  private async call<T>(path: FsPath, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      this.upstream(e, path);
    }
  }

  /** Whether any key lies under the directory `path` (a marker counts). */
  private async isDirectory(path: FsPath): Promise<boolean> {
    if (path === this.root) return true;
    const page = await this.call(path, () =>
      this.s3.list({ prefix: `${this.key(path)}/`, maxKeys: 1 }),
    );
    return page.objects.length > 0 || page.prefixes.length > 0;
  }

  async stat(path: FsPath): Promise<FileEntry> {
    if (path !== this.root) {
      const head = await this.call(path, () => this.s3.head(this.key(path)));
      if (head) return this.keys.fileEntry(head, path);
    }
    if (await this.isDirectory(path)) return this.keys.dirEntry(path);
    throw notFound(path);
  }

  async list(query: ListQuery): Promise<ListPage<FileEntry>> {
    const limit = Math.min(query.limit, S3_PAGE);
    const token = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.cursor !== undefined && token === undefined) throw invalid("malformed cursor");
    if (query.kind === "glob") return this.listGlob(query.pattern, limit, token);
    const { path, recursive } = query;
    if (path !== this.root && token === undefined) {
      const head = await this.call(path, () => this.s3.head(this.key(path)));
      if (head) return { entries: [this.keys.fileEntry(head, path)] };
    }
    const prefix = path === this.root ? this.mount.keyPrefix : `${this.key(path)}/`;
    const page = await this.call(path, () =>
      this.s3.list({
        prefix,
        delimiter: recursive ? undefined : "/",
        continuationToken: token,
        maxKeys: limit,
      }),
    );
    if (
      token === undefined &&
      path !== this.root &&
      page.objects.length === 0 &&
      page.prefixes.length === 0
    ) {
      throw notFound(path);
    }
    const entries: FileEntry[] = [];
    for (const p of page.prefixes) {
      const name = this.keys.nameOf(p, prefix);
      if (name !== null) entries.push(this.keys.dirEntry(name));
    }
    for (const o of page.objects) {
      if (o.key === prefix) continue; // the directory's own marker
      const name = this.keys.nameOf(o.key, prefix);
      if (name === null) continue;
      entries.push(o.key.endsWith("/") ? this.keys.dirEntry(name) : this.keys.fileEntry(o, name));
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return page.nextToken ? { entries, cursor: encodeCursor(page.nextToken) } : { entries };
  }

  /** One S3 page per call: the glob's literal prefix is pushed into S3's prefix. */
  private async listGlob(
    pattern: string,
    limit: number,
    token: string | undefined,
  ): Promise<ListPage<FileEntry>> {
    const glob = compileGlob(pattern);
    const literal = glob.literalPrefix as FsPath;
    const within = isWithin(literal, this.root) || literal.startsWith(`${this.root}/`);
    const prefix = within
      ? this.mount.keyPrefix +
        (literal.length > this.root.length ? literal.slice(this.root.length + 1) : "")
      : this.mount.keyPrefix;
    const page = await this.call(this.root, () =>
      this.s3.list({ prefix, continuationToken: token, maxKeys: limit }),
    );
    const entries: FileEntry[] = [];
    for (const o of page.objects) {
      const path = o.key.endsWith("/") ? null : this.keys.pathOf(o.key);
      if (path !== null && glob.matches(path)) entries.push(this.keys.fileEntry(o, path));
    }
    return page.nextToken ? { entries, cursor: encodeCursor(page.nextToken) } : { entries };
  }

  async read(path: FsPath, options: ReadOptions): Promise<ReadResult> {
    // S3 ignores a malformed Range; the contract refuses it, so check the syntax here.
    if (options.range !== undefined) parseRange(options.range, Number.MAX_SAFE_INTEGER);
    const got = await this.call(path, () =>
      this.s3.get(this.key(path), {
        range: options.range,
        ifMatch: options.ifMatch,
        ifNoneMatch: options.ifNoneMatch,
        ifModifiedSince: options.ifModifiedSince,
        ifRange: options.ifRange,
        headOnly: options.headOnly,
      }),
    );
    if (!got) {
      if (await this.isDirectory(path))
        throw new FsError("EISDIR", `is a directory: ${path}`, path);
      throw notFound(path);
    }
    const entry = this.keys.fileEntry(got.object, path);
    if (got.status === 304) return { status: 304, entry };
    if (got.status === 206 && got.range)
      return { status: 206, entry, range: got.range, body: got.body };
    return { status: 200, entry, body: got.body };
  }

  async write(path: FsPath, body: WriteBody, conditions: WriteConditions): Promise<WriteResult> {
    this.writable(path);
    if (conditions.ifMatch || conditions.ifNoneMatch) {
      throw new FsError("ENOTSUP", "conditional writes are not supported on bucket mounts", path);
    }
    if (path === this.root) throw new FsError("EISDIR", "the mount point is a directory", path);
    const key = this.key(path);
    // S3 would store "a" next to "a/…" keys, or "a/b" below a file "a", and
    // the tree edgefs shows would hold a file and a directory of one name.
    // The checks are one round trip of parallel requests, not one per key.
    const [existing] = await Promise.all([
      this.call(path, () => this.s3.head(key)),
      this.refuseDirectory(path),
      this.refuseFileAbove(path),
    ]);
    const declared = body.length;
    const counted = countedBody(body.stream ?? new Blob([]).stream(), declared);
    let etag: string;
    let size: number;
    try {
      if (declared !== undefined && declared <= SINGLE_OBJECT_MAX) {
        size = declared;
        etag = (await this.call(path, () => this.s3.put(key, counted.stream, declared))).etag;
      } else {
        ({ etag, size } = await this.putMultipart(path, key, counted.stream));
      }
    } catch (e) {
      // A body shorter or longer than its Content-Length is the client's fault,
      // whatever the store made of the broken upload.
      if (counted.mismatch()) throw bodyError(`${counted.seen()} bytes, not ${declared}`);
      throw e;
    }
    if (declared !== undefined && size !== declared) throw bodyError("length mismatch");
    return { entry: { path, type: "file", size, mtime: Date.now(), etag }, created: !existing };
  }

  /** EISDIR when keys lie below `path` (it is a directory, a marker counts). */
  private async refuseDirectory(path: FsPath): Promise<void> {
    if (await this.isDirectory(path)) {
      throw new FsError("EISDIR", `is a directory: ${path}`, path);
    }
  }

  /** ENOTDIR when a parent of `path` inside the mount is a file: one HEAD per level, in parallel. */
  private async refuseFileAbove(path: FsPath): Promise<void> {
    const parents: FsPath[] = [];
    for (let p = parentOf(path); p !== this.root && p !== "/" && isWithin(p, this.root); ) {
      parents.push(p);
      p = parentOf(p);
    }
    const heads = await Promise.all(
      parents.map((p) => this.call(p, () => this.s3.head(this.key(p)))),
    );
    const file = parents.find((_, i) => heads[i]);
    if (file !== undefined) throw new FsError("ENOTDIR", `not a directory: ${file}`, path);
  }

  /** S3 multipart for unknown-length or huge bodies; aborted on any failure, so no parts are left. */
  private async putMultipart(path: FsPath, key: string, stream: ReadableStream<Uint8Array>) {
    const uploadId = await this.call(path, () => this.s3.createMultipart(key));
    try {
      const parts: { partNumber: number; etag: string }[] = [];
      let size = 0;
      for await (const part of fixedSizeParts([], stream.getReader(), PART_SIZE)) {
        const partNumber = parts.length + 1;
        size += part.byteLength;
        parts.push({
          partNumber,
          etag: await this.s3.uploadPart(key, uploadId, partNumber, part, part.byteLength),
        });
      }
      if (parts.length === 0) {
        parts.push({
          partNumber: 1,
          etag: await this.s3.uploadPart(key, uploadId, 1, new Uint8Array(0), 0),
        });
      }
      const { etag } = await this.s3.completeMultipart(key, uploadId, parts);
      return { etag, size };
    } catch (e) {
      await this.s3.abortMultipart(key, uploadId).catch(() => undefined);
      this.upstream(e, path);
    }
  }

  /** A zero-byte "dir/" marker: an empty directory exists, and listings hide the marker. */
  async mkdir(path: FsPath): Promise<WriteResult> {
    const entry = this.keys.dirEntry(path);
    if (path === this.root) return { entry, created: false };
    this.writable(path);
    const key = this.key(path);
    const [file, existed] = await Promise.all([
      this.call(path, () => this.s3.head(key)),
      this.isDirectory(path),
      this.refuseFileAbove(path),
    ]);
    if (file) throw new FsError("ENOTDIR", `a file exists at ${path}`, path);
    if (!existed) await this.call(path, () => this.s3.put(`${key}/`, new Uint8Array(0), 0));
    return { entry, created: !existed };
  }

  async remove(path: FsPath, options: { recursive: boolean }): Promise<void> {
    this.writable(path);
    if (path !== this.root && (await this.call(path, () => this.s3.head(this.key(path))))) {
      await this.call(path, () => this.s3.delete(this.key(path)));
      return;
    }
    const prefix = path === this.root ? this.mount.keyPrefix : `${this.key(path)}/`;
    let token: string | undefined;
    let first = true;
    do {
      const page = await this.call(path, () =>
        this.s3.list({ prefix, continuationToken: token, maxKeys: S3_PAGE }),
      );
      if (first) {
        if (page.objects.length === 0 && path !== this.root) throw notFound(path);
        const children = page.objects.filter((o) => o.key !== prefix);
        if (!options.recursive && children.length > 0) {
          throw new FsError("ENOTEMPTY", `directory not empty: ${path}`, path);
        }
        first = false;
      }
      const keys = page.objects.map((o) => o.key);
      if (keys.length > 0) {
        const errors = await this.call(path, () => this.s3.deleteMany(keys));
        if (errors.length > 0) {
          const e = errors[0] as { key: string; code: string; message: string };
          throw new FsError(
            "EUPSTREAM",
            `bucket mount ${this.root}: ${e.code} deleting ${e.key}: ${e.message}`,
            path,
          );
        }
      }
      token = page.nextToken;
    } while (token);
  }

  async move(from: FsPath): Promise<FileEntry> {
    throw new FsError(
      "ENOTSUP",
      "rename is not supported on bucket mounts (S3 has none): copy, then delete",
      from,
    );
  }

  async copy(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; recursive: boolean },
  ): Promise<FileEntry> {
    this.writable(to);
    if (from === to) throw invalid(`cannot copy ${from} onto itself`, to);
    const source = await this.call(from, () => this.s3.head(this.key(from)));
    if (source) {
      if (source.size > SINGLE_OBJECT_MAX) {
        throw new FsError(
          "ETOOLARGE",
          "copies on bucket mounts are limited to 5 GiB (one CopyObject)",
          from,
        );
      }
      await this.checkDestination(to, options.overwrite, "file");
      const { etag } = await this.call(to, () => this.s3.copy(this.key(from), this.key(to)));
      return { path: to, type: "file", size: source.size, mtime: Date.now(), etag };
    }
    if (!(await this.isDirectory(from))) throw notFound(from);
    if (!options.recursive)
      throw new FsError("EISDIR", `${from} is a directory: copy it with recursive`, from);
    if (isWithin(to, from))
      throw invalid(`cannot copy a directory into itself: ${from} -> ${to}`, to);
    await this.checkDestination(to, options.overwrite, "directory");
    const prefix = from === this.root ? this.mount.keyPrefix : `${this.key(from)}/`;
    const target = `${this.key(to)}/`;
    let token: string | undefined;
    do {
      const page = await this.call(from, () =>
        this.s3.list({ prefix, continuationToken: token, maxKeys: S3_PAGE }),
      );
      for (const o of page.objects) {
        // Keys that name no valid path are not part of the directory edgefs shows.
        if (this.keys.nameOf(o.key, prefix) === null) continue;
        await this.call(to, () => this.s3.copy(o.key, target + o.key.slice(prefix.length)));
      }
      token = page.nextToken;
    } while (token);
    return this.keys.dirEntry(to);
  }

  /**
   * The destination judged as move() judges it on share storage (the
   * contract's Overwrite): false, anything there is EEXIST; true,
   * rename(2)'s rules (a file replaces a file, a directory an empty
   * directory); "any", whatever is there is deleted first — S3 has no
   * transactions, so that deletion and the copy are two steps.
   */
  private async checkDestination(
    to: FsPath,
    overwrite: Overwrite,
    source: "file" | "directory",
  ): Promise<void> {
    if (to === this.root) throw invalid("cannot copy onto the mount point", to);
    const [file, directory] = await Promise.all([
      this.call(to, () => this.s3.head(this.key(to))),
      this.isDirectory(to),
      this.refuseFileAbove(to),
    ]);
    if (!file && !directory) return;
    if (overwrite === "any") return this.remove(to, { recursive: true });
    if (!overwrite) throw new FsError("EEXIST", `destination exists: ${to}`, to);
    if (source === "file" && directory) {
      throw new FsError("EISDIR", `cannot replace the directory ${to} with a file`, to);
    }
    if (source === "directory" && file) {
      throw new FsError("ENOTDIR", `cannot replace the file ${to} with a directory`, to);
    }
    if (source === "directory" && !(await this.isEmptyDirectory(to))) {
      throw new FsError("ENOTEMPTY", `directory not empty: ${to}`, to);
    }
  }

  /** Whether the directory `path` holds nothing but its own marker. */
  private async isEmptyDirectory(path: FsPath): Promise<boolean> {
    const prefix = `${this.key(path)}/`;
    const page = await this.call(path, () => this.s3.list({ prefix, maxKeys: 2 }));
    return page.objects.every((o) => o.key === prefix) && page.prefixes.length === 0;
  }

  private unsupported(what: string): never {
    throw new FsError(
      "ENOTSUP",
      `${what} is not supported on bucket mounts: PUT the file, without Content-Length for large ones`,
    );
  }

  createUpload(
    _path: FsPath,
    _options: { partSize: number; conditions: WriteConditions },
  ): Promise<UploadInfo> {
    this.unsupported("the multipart upload API");
  }
  uploadPart(): Promise<UploadPart> {
    this.unsupported("the multipart upload API");
  }
  uploadStatus(): Promise<UploadStatus> {
    this.unsupported("the multipart upload API");
  }
  completeUpload(): Promise<WriteResult> {
    this.unsupported("the multipart upload API");
  }
  abortUpload(): Promise<void> {
    this.unsupported("the multipart upload API");
  }
}
