import { checkAttributes } from "../core/attributes";
import type {
  Backend,
  BackendFeatures,
  Committed,
  FileAttributes,
  KeyDeletion,
  KeyDeletions,
  KeyItem,
  KeyPage,
  KeyQuery,
  KeyTarget,
  ListedUpload,
  ListQuery,
  Moved,
  Overwrite,
  ReadOptions,
  ReadResult,
  UploadInfo,
  UploadPart,
  UploadStatus,
  WriteBody,
  WriteResult,
} from "../core/backend";
import { metered, type SubrequestBudget } from "../core/budget";
import { FsError, invalid, notFound } from "../core/errors";
import { compileGlob } from "../core/glob";
import { decodeCursor, encodeCursor } from "../core/ids";
import { checkKeyQuery, compareKeys } from "../core/key-order";
import type { Mount } from "../core/mount";
import { type ObjectStore, ObjectStoreError, type StoredObject } from "../core/object-store";
import { type FsPath, isWithin, parentOf, ROOT } from "../core/paths";
import type { WriteConditions } from "../core/preconditions";
import { parseRange } from "../core/range";
import { bodyError, countedBody, fixedSizeParts } from "../core/streams";
import type { FileEntry, ListPage } from "../core/types";
import { MountKeys } from "./mount-keys";

const MiB = 1024 * 1024;
/** S3's single PutObject and CopyObject limit. */
const SINGLE_OBJECT_MAX = 5 * 1024 ** 3;
/** Parts for bodies of unknown length (S3 allows 10,000 of them: ~97 GiB). */
const PART_SIZE = 10 * MiB;
/** S3 answers at most 1,000 keys per ListObjectsV2 call. */
const S3_PAGE = 1000;
/** DeleteObjects takes at most 1,000 keys. */
const DELETE_BATCH = 1000;
/**
 * Keys a recursive copy or delete holds in memory between counting them and
 * acting on them (under 1 MiB of typical keys); past it they are listed again.
 */
const HELD_KEYS_MAX = 10_000;

/**
 * The objects under a prefix, counted before a recursive copy or delete
 * changes anything, so that one that cannot finish within the request's
 * subrequest budget is refused whole.
 */
interface KeyPlan {
  prefix: string;
  /** The objects the work applies to (those counted so far, if not `complete`). */
  count: number;
  /** ListObjectsV2 pages the count took. */
  pages: number;
  /** Whether every object was counted: false when the budget ran out first. */
  complete: boolean;
  /** The keys, when few enough to hold; otherwise the work lists them again. */
  keys?: string[];
}

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
  // A bucket has no quota edgefs knows, and no cheap way to sum its bytes.
  space: false,
});

/**
 * Why no HTTP answer came, in words a user can act on. Node's fetch puts the
 * system's code on `cause` (ENOTFOUND, ECONNREFUSED …); workerd says only
 * "internal error; reference = …" when a name does not resolve or nothing
 * listens, and "Network connection lost." when a connection is refused or
 * cut, so those are said plainly, with workerd's words kept after them.
 */
function unreachable(e: unknown, host: string): string {
  const message = e instanceof Error ? e.message : String(e);
  const cause = (e as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (cause === "ENOTFOUND" || cause === "EAI_AGAIN") {
    return `the host name ${host} does not resolve (${cause})`;
  }
  if (cause === "ECONNREFUSED") return `${host} refused the connection (ECONNREFUSED)`;
  if (typeof cause === "string") return `could not connect to ${host} (${cause}: ${message})`;
  if (/\bdns\b|getaddrinfo|name resolution|ENOTFOUND/i.test(message)) {
    return `the host name ${host} does not resolve (${message})`;
  }
  if (/internal error; reference =/.test(message)) {
    return `could not connect to ${host}: the name does not resolve, or nothing answers there (${message})`;
  }
  if (/network connection lost/i.test(message)) {
    return `the connection to ${host} was refused or cut off (${message})`;
  }
  return message;
}

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
 *
 * Every S3 call is one Cloudflare subrequest, counted against the
 * request's budget. A recursive copy or delete counts its objects first
 * and is refused (413 ETOOLARGE, nothing changed) when the calls it needs
 * would not fit; a chunked PUT stops (aborted, nothing stored) at the part
 * the budget cannot pay for.
 */
export class MountBackend implements Backend {
  private readonly keys: MountKeys;
  private readonly s3: ObjectStore;

  constructor(
    private readonly mount: Mount,
    store: ObjectStore,
    private readonly budget: SubrequestBudget,
  ) {
    this.keys = new MountKeys(mount);
    this.s3 = metered(store, budget, `bucket mount ${mount.path}`);
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
        `bucket mount ${this.root} (${this.mount.bucket} at ${this.host}): ${e.code}: ${e.message}`,
        path,
      );
    }
    throw new FsError(
      "EUPSTREAM",
      `bucket mount ${this.root} (${this.mount.bucket} at ${this.host}) unreachable: ${unreachable(e, this.host)}`,
      path,
    );
  }

  /** The host edgefs connects to for this mount: the endpoint's, or bucket.endpoint for virtual hosts. */
  private get host(): string {
    let host: string;
    try {
      host = new URL(this.mount.endpoint).host;
    } catch {
      return this.mount.endpoint;
    }
    return this.mount.forcePathStyle ? host : `${this.mount.bucket}.${host}`;
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
      if (head) return withAttributes(this.keys.fileEntry(head, path), head);
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
    const above = path === ROOT ? "/" : `${path}/`;
    for (const p of page.prefixes) {
      const name = this.keys.nameOf(p, prefix);
      if (name !== null) entries.push(this.keys.dirEntry(above + name, name));
    }
    for (const o of page.objects) {
      if (o.key === prefix) continue; // the directory's own marker
      const name = this.keys.nameOf(o.key, prefix);
      if (name === null) continue;
      entries.push(
        o.key.endsWith("/")
          ? this.keys.dirEntry(above + name, name)
          : this.keys.fileEntry(o, above + name, name),
      );
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

  /**
   * One ListObjectsV2 call a page, with the key prefix, delimiter "/" and
   * start-after mapped into the bucket and the keys mapped back below the
   * mount point ("mnt/…"). The bucket's order is the share's: share keys are
   * the mount point's key and the rest of the bucket key. A "dir/" marker
   * is an object only where nothing follows inside it (an empty directory);
   * a marker that ends a truncated page is left for the next one, which
   * can tell. Keys that name no valid path are skipped, as in listings.
   */
  async listKeys(query: KeyQuery): Promise<KeyPage> {
    const q = checkKeyQuery(query);
    const { keyPrefix } = this.mount;
    const mountKey = `${this.root.slice(1)}/`;
    // Every key here starts with the mount point's key.
    if (!q.prefix.startsWith(mountKey) && !mountKey.startsWith(q.prefix)) return { items: [] };
    if (!q.startAfter.startsWith(mountKey) && compareKeys(q.startAfter, mountKey) > 0) {
      return { items: [] };
    }
    const reachesRoot = q.prefix.length <= mountKey.length;
    if (q.delimiter && q.prefix.length < mountKey.length) {
      // The prefix stops above the mount point: it all rolls up into the mount point's path.
      const key = mountKey.slice(0, mountKey.indexOf("/", q.prefix.length) + 1);
      return { items: compareKeys(key, q.startAfter) > 0 ? [{ kind: "prefix", key }] : [] };
    }
    const toBucket = (shareKey: string) => keyPrefix + shareKey.slice(mountKey.length);
    const toShare = (bucketKey: string) => mountKey + bucketKey.slice(keyPrefix.length);
    const bucketAfter = q.startAfter.startsWith(mountKey) ? toBucket(q.startAfter) : "";
    const page = await this.call(this.root, () =>
      this.s3.list({
        prefix: reachesRoot ? keyPrefix : toBucket(q.prefix),
        delimiter: q.delimiter ? "/" : undefined,
        startAfter: bucketAfter === "" ? undefined : bucketAfter,
        // One more than asked: it tells whether a "dir/" marker holds anything.
        maxKeys: Math.min(q.limit + 1, S3_PAGE),
      }),
    );
    const scanned = [
      ...page.objects.map((o) => ({ key: o.key, object: o })),
      ...page.prefixes.map((key) => ({ key, object: undefined })),
    ].sort((a, b) => compareKeys(a.key, b.key));

    if (scanned.length === 0 && reachesRoot && compareKeys(mountKey, q.startAfter) > 0) {
      // An empty bucket (or key prefix) is an empty directory: the object "mnt/".
      const entry = this.keys.dirEntry(this.root);
      return { items: [{ kind: "object", key: mountKey, entry }] };
    }
    const items: KeyItem[] = [];
    let last: string | undefined;
    for (const [i, s] of scanned.entries()) {
      // Full, with more scanned: more may follow.
      if (items.length === q.limit) return { items, next: last as string };
      const key = toShare(s.key);
      const path = this.keys.pathOf(s.key);
      let item: KeyItem | undefined;
      if (path === null) {
        item = undefined;
      } else if (s.object === undefined) {
        // A rolled-up prefix at or around startAfter is behind it (KeyQuery.startAfter).
        if (compareKeys(key, q.startAfter) > 0) item = { kind: "prefix", key };
      } else if (s.key.endsWith("/")) {
        let following = scanned[i + 1]?.key;
        if (following === undefined && page.nextToken !== undefined) {
          // The page ends at the marker: one key inside it says whether it is empty.
          const inside = await this.call(this.root, () =>
            this.s3.list({ prefix: s.key, startAfter: s.key, maxKeys: 1 }),
          );
          following = inside.objects[0]?.key ?? inside.prefixes[0];
        }
        if (!following?.startsWith(s.key)) {
          item = { kind: "object", key, entry: this.keys.dirEntry(path) };
        }
      } else {
        item = { kind: "object", key, entry: this.keys.fileEntry(s.object, path) };
      }
      if (item) items.push(item);
      last = key;
    }
    return page.nextToken !== undefined && last !== undefined ? { items, next: last } : { items };
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
    const entry = withAttributes(this.keys.fileEntry(got.object, path), got.object);
    if (got.status === 304) return { status: 304, entry };
    if (got.status === 206 && got.range)
      return { status: 206, entry, range: got.range, body: got.body };
    return { status: 200, entry, body: got.body };
  }

  async write(
    path: FsPath,
    body: WriteBody,
    conditions: WriteConditions,
    attributes?: FileAttributes,
  ): Promise<WriteResult> {
    this.writable(path);
    // The bucket keeps them as Content-Type and x-amz-meta-*, under S3's own bounds.
    const attrs = checkAttributes(attributes ?? {}, path);
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
        etag = (await this.call(path, () => this.s3.put(key, counted.stream, declared, attrs)))
          .etag;
      } else {
        if (declared !== undefined) this.affordParts(path, Math.ceil(declared / PART_SIZE));
        ({ etag, size } = await this.putMultipart(path, key, counted.stream, attrs));
      }
    } catch (e) {
      // A body shorter or longer than its Content-Length is the client's fault,
      // whatever the store made of the broken upload.
      if (counted.mismatch()) throw bodyError(`${counted.seen()} bytes, not ${declared}`);
      throw e;
    }
    if (declared !== undefined && size !== declared) throw bodyError("length mismatch");
    const entry: FileEntry = {
      path,
      absolutePath: path,
      type: "file",
      size,
      mtime: Date.now(),
      etag,
    };
    if (attrs.contentType !== undefined) entry.contentType = attrs.contentType;
    if (attrs.metadata !== undefined) entry.metadata = attrs.metadata;
    return { entry, created: !existing };
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

  /** 413 before anything is stored when a body of known length needs more parts than the budget pays for. */
  private affordParts(path: FsPath, parts: number): void {
    // CreateMultipartUpload, the parts, CompleteMultipartUpload.
    if (!this.budget.affords(parts + 2)) {
      throw this.budget.exceeded(
        `storing ${parts} parts of ${PART_SIZE / MiB} MiB takes ${parts + 2} subrequests`,
        "nothing was stored",
        path,
      );
    }
  }

  /**
   * S3 multipart for unknown-length or huge bodies; aborted on any failure,
   * so no parts are left. A part is uploaded only while the budget still
   * holds it and the call that completes (or aborts) the upload.
   */
  private async putMultipart(
    path: FsPath,
    key: string,
    stream: ReadableStream<Uint8Array>,
    attrs: FileAttributes,
  ) {
    const uploadId = await this.call(path, () => this.s3.createMultipart(key, attrs));
    try {
      const parts: { partNumber: number; etag: string }[] = [];
      let size = 0;
      for await (const part of fixedSizeParts([], stream.getReader(), PART_SIZE)) {
        if (!this.budget.affords(2)) {
          throw this.budget.exceeded(
            `a body without Content-Length is stored in ${PART_SIZE / MiB} MiB parts, one subrequest each, and this one grew past ${parts.length} parts (${(parts.length * PART_SIZE) / MiB} MiB)`,
            "nothing was stored; send Content-Length (one PutObject up to 5 GiB)",
            path,
          );
        }
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

  /** A bucket keeps no versions: the answers of changes name none. */
  async remove(path: FsPath, options: { recursive: boolean }): Promise<Committed> {
    await this.removeKeys(path, options);
    return {};
  }

  /** S3's DeleteObjects inside the mount: the bucket's own, 1,000 keys a call (directory keys are markers). */
  async deleteKeys(keys: readonly KeyTarget[]): Promise<KeyDeletions> {
    const results: KeyDeletion[] = [];
    const pending = new Map<string, number[]>();
    keys.forEach(({ path, directory }, i) => {
      try {
        this.writable(path);
        if (path === this.root) {
          results[i] = { removed: false };
          return;
        }
        const key = directory ? this.prefixOf(path) : this.key(path);
        pending.set(key, [...(pending.get(key) ?? []), i]);
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
        results[i] = { error: e };
      }
    });
    const all = [...pending.keys()];
    for (let start = 0; start < all.length; start += 1000) {
      const batch = all.slice(start, start + 1000);
      const errors = await this.call(this.root, () => this.s3.deleteMany(batch));
      const failed = new Map(errors.map((e) => [e.key, e]));
      for (const key of batch) {
        const e = failed.get(key);
        for (const i of pending.get(key) ?? []) {
          results[i] = e
            ? {
                error: new FsError(
                  "EUPSTREAM",
                  `bucket mount ${this.root}: ${e.code} deleting ${e.key}: ${e.message}`,
                ),
              }
            : { removed: true };
        }
      }
    }
    return { results };
  }

  private async removeKeys(path: FsPath, options: { recursive: boolean }): Promise<void> {
    this.writable(path);
    if (path !== this.root && (await this.call(path, () => this.s3.head(this.key(path))))) {
      await this.call(path, () => this.s3.delete(this.key(path)));
      return;
    }
    const prefix = this.prefixOf(path);
    if (!options.recursive) {
      const page = await this.call(path, () => this.s3.list({ prefix, maxKeys: 2 }));
      if (page.objects.length === 0 && path !== this.root) throw notFound(path);
      if (page.objects.some((o) => o.key !== prefix)) {
        throw new FsError("ENOTEMPTY", `directory not empty: ${path}`, path);
      }
      if (page.objects.length > 0) await this.call(path, () => this.s3.delete(prefix));
      return;
    }
    const plan = await this.planRemoval(path, 0);
    if (plan.count === 0 && path !== this.root) throw notFound(path);
    await this.removeAll(path, plan);
  }

  /** Where the keys of the directory `path` start. */
  private prefixOf(path: FsPath): string {
    return path === this.root ? this.mount.keyPrefix : `${this.key(path)}/`;
  }

  /**
   * The objects of the directory `path` counted for a recursive delete (one
   * DeleteObjects per 1,000), or 413 when that and `committed` further
   * calls would not fit in the budget. Nothing is changed.
   */
  private async planRemoval(path: FsPath, committed: number): Promise<KeyPlan> {
    const plan = await this.survey(path, this.prefixOf(path), () => true, deletions, committed);
    this.refuseUnlessFits(
      path,
      plan,
      deletions,
      committed,
      "deleting",
      "one DeleteObjects per 1,000",
      "nothing was deleted; delete it in parts (a subdirectory at a time)",
    );
    return plan;
  }

  private async removeAll(path: FsPath, plan: KeyPlan): Promise<void> {
    for await (const keys of this.keysOf(path, plan, () => true)) {
      if (keys.length === 0) continue;
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
  }

  /**
   * Counts the objects under `prefix` that `include` admits, page by page,
   * while the work on them (`work(count)` calls, plus listing them again
   * when too many to hold) and `committed` further calls still fit in the
   * budget; a plan that stops early is not `complete`.
   */
  private async survey(
    path: FsPath,
    prefix: string,
    include: (key: string) => boolean,
    work: (objects: number) => number,
    committed: number,
  ): Promise<KeyPlan> {
    const plan: KeyPlan = { prefix, count: 0, pages: 0, complete: false, keys: [] };
    let token: string | undefined;
    do {
      // This page, and the work counted so far.
      if (!this.budget.affords(1 + costOf(plan, work) + committed)) return plan;
      const page = await this.call(path, () =>
        this.s3.list({ prefix, continuationToken: token, maxKeys: S3_PAGE }),
      );
      plan.pages++;
      for (const o of page.objects) {
        if (!include(o.key)) continue;
        plan.count++;
        plan.keys?.push(o.key);
      }
      if (plan.keys && plan.keys.length > HELD_KEYS_MAX) plan.keys = undefined;
      token = page.nextToken;
    } while (token);
    plan.complete = true;
    return plan;
  }

  /** 413 naming the objects and the budget unless `plan` was counted whole and its work fits. */
  private refuseUnlessFits(
    path: FsPath,
    plan: KeyPlan,
    work: (objects: number) => number,
    committed: number,
    doing: string,
    calls: string,
    advice: string,
  ): void {
    const cost = costOf(plan, work) + committed;
    if (plan.complete && this.budget.affords(cost)) return;
    const need = plan.complete
      ? `${plan.count} objects, ${calls}: ${cost} subrequests`
      : `more than ${plan.count} objects, ${calls}`;
    throw this.budget.exceeded(`${doing} ${path}: ${need}`, advice, path);
  }

  /** The keys of a plan in batches of at most 1,000: those held, or listed again. */
  private async *keysOf(
    path: FsPath,
    plan: KeyPlan,
    include: (key: string) => boolean,
  ): AsyncGenerator<string[]> {
    if (plan.keys) {
      for (let i = 0; i < plan.keys.length; i += DELETE_BATCH) {
        yield plan.keys.slice(i, i + DELETE_BATCH);
      }
      return;
    }
    let token: string | undefined;
    do {
      const page = await this.call(path, () =>
        this.s3.list({ prefix: plan.prefix, continuationToken: token, maxKeys: S3_PAGE }),
      );
      yield page.objects.map((o) => o.key).filter(include);
      token = page.nextToken;
    } while (token);
  }

  async move(from: FsPath): Promise<Moved> {
    throw new FsError(
      "ENOTSUP",
      "rename is not supported on bucket mounts (S3 has none): copy, then delete",
      from,
    );
  }

  async copy(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; recursive: boolean; attributes?: FileAttributes },
  ): Promise<Moved> {
    return { entry: await this.copyKeys(from, to, options) };
  }

  private async copyKeys(
    from: FsPath,
    to: FsPath,
    options: { overwrite: Overwrite; recursive: boolean; attributes?: FileAttributes },
  ): Promise<FileEntry> {
    this.writable(to);
    const attrs =
      options.attributes === undefined ? undefined : checkAttributes(options.attributes, to);
    if (from === to && attrs === undefined) throw invalid(`cannot copy ${from} onto itself`, to);
    const source = await this.call(from, () => this.s3.head(this.key(from)));
    if (from === to && !source) throw notFound(from);
    if (source) {
      if (source.size > SINGLE_OBJECT_MAX) {
        throw new FsError(
          "ETOOLARGE",
          "copies on bucket mounts are limited to 5 GiB (one CopyObject)",
          from,
        );
      }
      // Onto itself with attributes: S3's way to change them (CopyObject REPLACE in place).
      if (from !== to) {
        const there = await this.checkDestination(to, options.overwrite, "file");
        refuseClearingSource(from, to, there);
        const clear = await this.clearing(to, there, 1);
        await clear();
      }
      const { etag } = await this.call(to, () => this.s3.copy(this.key(from), this.key(to), attrs));
      const entry: FileEntry = {
        path: to,
        absolutePath: to,
        type: "file",
        size: source.size,
        mtime: Date.now(),
        etag,
      };
      return withAttributes(entry, attrs === undefined ? source : attrs);
    }
    if (!(await this.isDirectory(from))) throw notFound(from);
    if (attrs !== undefined) {
      throw invalid(`${from} is a directory: only a file's copy can replace attributes`, from);
    }
    if (!options.recursive)
      throw new FsError("EISDIR", `${from} is a directory: copy it with recursive`, from);
    if (isWithin(to, from))
      throw invalid(`cannot copy a directory into itself: ${from} -> ${to}`, to);
    const there = await this.checkDestination(to, options.overwrite, "directory");
    refuseClearingSource(from, to, there);
    // Count first, change after: a copy the budget cannot finish is refused whole.
    const prefix = this.prefixOf(from);
    // Keys that name no valid path are not part of the directory edgefs shows.
    const valid = (key: string) => this.keys.nameOf(key, prefix) !== null;
    const plan = await this.survey(from, prefix, valid, copies, 0);
    this.refuseUnlessFits(
      from,
      plan,
      copies,
      0,
      "copying",
      "one CopyObject each",
      "nothing was copied; copy it in parts (a subdirectory at a time)",
    );
    const clear = await this.clearing(to, there, costOf(plan, copies));
    await clear();
    const target = `${this.key(to)}/`;
    for await (const keys of this.keysOf(from, plan, valid)) {
      for (const key of keys) {
        await this.call(to, () => this.s3.copy(key, target + key.slice(prefix.length)));
      }
    }
    return this.keys.dirEntry(to);
  }

  /**
   * What overwrite "any" deletes at `to` before a copy (its file, else the
   * directory's objects), checked against the budget with the `committed`
   * calls of the copy itself: returns the deletion, still to be run.
   */
  private async clearing(
    to: FsPath,
    there: "file" | "directory" | undefined,
    committed: number,
  ): Promise<() => Promise<void>> {
    if (there === undefined) return async () => undefined;
    if (there === "file") {
      if (!this.budget.affords(1 + committed)) {
        throw this.budget.exceeded(
          `replacing ${to} takes ${1 + committed} subrequests`,
          "nothing was changed",
          to,
        );
      }
      return () => this.call(to, () => this.s3.delete(this.key(to)));
    }
    const plan = await this.planRemoval(to, committed);
    return () => this.removeAll(to, plan);
  }

  /**
   * The destination judged as move() judges it on share storage (the
   * contract's Overwrite): false, anything there is EEXIST; true,
   * rename(2)'s rules (a file replaces a file, a directory an empty
   * directory); "any", whatever is there is to be deleted first (the
   * answer says what: the caller counts and deletes it) — S3 has no
   * transactions, so that deletion and the copy are two steps.
   */
  private async checkDestination(
    to: FsPath,
    overwrite: Overwrite,
    source: "file" | "directory",
  ): Promise<"file" | "directory" | undefined> {
    if (to === this.root) throw invalid("cannot copy onto the mount point", to);
    const [file, directory] = await Promise.all([
      this.call(to, () => this.s3.head(this.key(to))),
      this.isDirectory(to),
      this.refuseFileAbove(to),
    ]);
    if (!file && !directory) return undefined;
    if (overwrite === "any") return file ? "file" : "directory";
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
    return undefined;
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
    _options: { partSize?: number; conditions: WriteConditions; size?: number },
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
  listUploads(): Promise<{ uploads: ListedUpload[] }> {
    this.unsupported("the multipart upload API");
  }
}

/**
 * A file's entry with what the bucket keeps as its attributes. S3 labels an
 * object stored without a type binary/octet-stream: that is no type, and
 * the file's name says more (core/attributes.ts contentTypeOf).
 */
function withAttributes(
  entry: FileEntry,
  o: Pick<StoredObject, "contentType" | "metadata">,
): FileEntry {
  if (o.contentType !== undefined && o.contentType !== "binary/octet-stream") {
    entry.contentType = o.contentType;
  }
  if (o.metadata !== undefined && Object.keys(o.metadata).length > 0) entry.metadata = o.metadata;
  return entry;
}

/** CopyObject calls for a recursive copy of `objects`. */
const copies = (objects: number): number => objects;
/** DeleteObjects calls for a recursive delete of `objects`. */
const deletions = (objects: number): number => Math.ceil(objects / DELETE_BATCH);

/** The calls a plan's work takes: `work` on its objects, and listing them again unless held. */
function costOf(plan: KeyPlan, work: (objects: number) => number): number {
  return work(plan.count) + (plan.keys ? 0 : plan.pages);
}

/** Overwrite "any" onto a directory that holds the source would delete the source before copying it. */
function refuseClearingSource(from: FsPath, to: FsPath, there: "file" | "directory" | undefined) {
  if (there === "directory" && isWithin(from, to)) {
    throw invalid(`cannot copy ${from} onto ${to}, which contains it`, to);
  }
}
