import type { FileAttributes } from "../../src/core/backend";
import {
  type GetOptions,
  type GetResult,
  type ListObjectsPage,
  type ListObjectsQuery,
  type ObjectBody,
  type ObjectStore,
  ObjectStoreError,
  type StoredObject,
} from "../../src/core/object-store";

/**
 * An in-memory ObjectStore with S3's semantics, the reference the contract
 * suite runs MountBackend over (like rclone's backend/memory). Faithful
 * where MountBackend could tell the difference: MD5 ETags (and
 * "md5-of-md5s-N" after a multipart upload), byte-ordered keys, ranges as
 * S3 reads them (a malformed Range is ignored, suffix ranges, 416 past the
 * end), If-Match / If-None-Match / If-Modified-Since / If-Range, delimiter
 * listings whose CommonPrefixes count against max-keys, opaque
 * continuation tokens, and the part rules of CompleteMultipartUpload.
 *
 * It lives with the tests, not in src: nothing at run time mounts memory,
 * and the Worker bundle should not carry it. Uses crypto.subtle's MD5,
 * which workerd has (Node's Web Crypto does not).
 */
export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<
    string,
    { bytes: Uint8Array; etag: string; at: number; attrs?: FileAttributes }
  >();
  private readonly uploads = new Map<
    string,
    {
      key: string;
      parts: Map<number, { bytes: Uint8Array; etag: string }>;
      attrs?: FileAttributes;
    }
  >();
  private nextUpload = 1;
  /** The clock: strictly increasing, so a rewrite always has a later Last-Modified. */
  private last = 0;

  /** The keys stored, in order: what a test asserts about the bucket itself. */
  keys(): string[] {
    return [...this.objects.keys()].sort(byteOrder);
  }

  async head(key: string): Promise<StoredObject | null> {
    const o = this.objects.get(key);
    return o ? this.meta(key, o, true) : null;
  }

  async get(key: string, h: GetOptions): Promise<GetResult | null> {
    const o = this.objects.get(key);
    if (!o) return null;
    const object = this.meta(key, o, true);
    // RFC 9110 §13.2.2, as S3 applies it.
    if (h.ifMatch !== undefined && !tagListHas(h.ifMatch, o.etag)) {
      throw new ObjectStoreError(412, "PreconditionFailed", "At least one precondition failed");
    }
    if (h.ifNoneMatch !== undefined) {
      if (tagListHas(h.ifNoneMatch, o.etag)) return { status: 304, object, body: null };
    } else if (h.ifModifiedSince !== undefined) {
      const since = Date.parse(h.ifModifiedSince);
      if (!Number.isNaN(since) && Math.floor(o.at / 1000) * 1000 <= since) {
        return { status: 304, object, body: null };
      }
    }
    const useRange = h.ifRange === undefined || h.ifRange.trim() === o.etag;
    const range = useRange && h.range !== undefined ? s3Range(h.range, o.bytes.byteLength) : null;
    if (range === null) {
      return { status: 200, object, body: h.headOnly ? null : new Blob([o.bytes]).stream() };
    }
    const slice = o.bytes.subarray(range.offset, range.offset + range.length);
    return { status: 206, object, range, body: h.headOnly ? null : new Blob([slice]).stream() };
  }

  async put(
    key: string,
    body: ObjectBody,
    length: number,
    attrs?: FileAttributes,
  ): Promise<{ etag: string }> {
    const bytes = await bytesOf(body, length);
    const etag = `"${await md5Hex(bytes)}"`;
    this.objects.set(key, { bytes, etag, at: this.tick(), attrs });
    return { etag };
  }

  async createMultipart(key: string, attrs?: FileAttributes): Promise<string> {
    const id = `upload-${this.nextUpload++}`;
    this.uploads.set(id, { key, parts: new Map(), attrs });
    return id;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    n: number,
    body: ObjectBody,
    length: number,
  ): Promise<string> {
    const upload = this.upload(key, uploadId);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) {
      throw new ObjectStoreError(400, "InvalidArgument", "Part number must be 1 to 10000");
    }
    const bytes = await bytesOf(body, length);
    const etag = `"${await md5Hex(bytes)}"`;
    upload.parts.set(n, { bytes, etag });
    return etag;
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<{ etag: string }> {
    const upload = this.upload(key, uploadId);
    if (parts.length === 0) {
      throw new ObjectStoreError(400, "MalformedXML", "You must specify at least one part");
    }
    const chosen: Uint8Array[] = [];
    let previous = 0;
    for (const [i, p] of parts.entries()) {
      if (p.partNumber <= previous) {
        throw new ObjectStoreError(400, "InvalidPartOrder", "parts must be in ascending order");
      }
      previous = p.partNumber;
      const stored = upload.parts.get(p.partNumber);
      if (!stored || stored.etag !== p.etag) {
        throw new ObjectStoreError(400, "InvalidPart", `part ${p.partNumber} was not uploaded`);
      }
      // S3: every part but the last is at least 5 MiB.
      if (i < parts.length - 1 && stored.bytes.byteLength < 5 * 1024 * 1024) {
        throw new ObjectStoreError(400, "EntityTooSmall", `part ${p.partNumber} is too small`);
      }
      chosen.push(stored.bytes);
    }
    const bytes = new Uint8Array(await new Blob(chosen).arrayBuffer());
    const digests = await Promise.all(chosen.map(md5Bytes));
    const etag = `"${await md5Hex(new Uint8Array(await new Blob(digests).arrayBuffer()))}-${chosen.length}"`;
    this.objects.set(key, { bytes, etag, at: this.tick(), attrs: upload.attrs });
    this.uploads.delete(uploadId);
    return { etag };
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    this.upload(key, uploadId);
    this.uploads.delete(uploadId);
  }

  /** Unfinished multipart uploads: a test checks that none are left behind. */
  pendingUploads(): number {
    return this.uploads.size;
  }

  async list(q: ListObjectsQuery): Promise<ListObjectsPage> {
    const max = q.maxKeys ?? 1000;
    const after = q.continuationToken !== undefined ? tokenKey(q.continuationToken) : q.startAfter;
    const objects: StoredObject[] = [];
    const prefixes: string[] = [];
    let lastKey: string | undefined;
    for (const key of this.keys()) {
      if (!key.startsWith(q.prefix)) continue;
      if (after !== undefined && byteOrder(key, after) <= 0) continue;
      const cut = q.delimiter ? key.indexOf(q.delimiter, q.prefix.length) : -1;
      const common = cut >= 0 ? key.slice(0, cut + (q.delimiter ?? "").length) : null;
      // The keys a CommonPrefix stands for are consumed with it.
      if (common !== null && prefixes.at(-1) === common) {
        lastKey = key;
        continue;
      }
      if (objects.length + prefixes.length >= max) {
        return lastKey === undefined
          ? { objects, prefixes }
          : { objects, prefixes, nextToken: btoa(encodeURIComponent(lastKey)) };
      }
      const o = this.objects.get(key);
      if (common !== null) prefixes.push(common);
      else if (o) objects.push(this.meta(key, o));
      lastKey = key;
    }
    return { objects, prefixes };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async deleteMany(keys: string[]): Promise<{ key: string; code: string; message: string }[]> {
    if (keys.length > 1000) throw new RangeError("deleteMany takes at most 1000 keys");
    for (const k of keys) this.objects.delete(k);
    return [];
  }

  /** Without `attrs` the copy keeps the source's (COPY); with them, they replace (REPLACE). */
  async copy(fromKey: string, toKey: string, attrs?: FileAttributes): Promise<{ etag: string }> {
    const o = this.objects.get(fromKey);
    if (!o) throw new ObjectStoreError(404, "NoSuchKey", "The specified key does not exist.");
    // CopyObject writes a single-part object: its ETag is the MD5 of the bytes.
    const etag = `"${await md5Hex(o.bytes)}"`;
    this.objects.set(toKey, { bytes: o.bytes, etag, at: this.tick(), attrs: attrs ?? o.attrs });
    return { etag };
  }

  private upload(key: string, uploadId: string) {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.key !== key) {
      throw new ObjectStoreError(404, "NoSuchUpload", "The specified upload does not exist.");
    }
    return upload;
  }

  /** HEAD and GET answer with the attributes (S3 defaults the type), a listing without. */
  private meta(
    key: string,
    o: { bytes: Uint8Array; etag: string; at: number; attrs?: FileAttributes },
    withAttributes = false,
  ): StoredObject {
    const m: StoredObject = { key, size: o.bytes.byteLength, etag: o.etag, lastModified: o.at };
    if (!withAttributes) return m;
    m.contentType = o.attrs?.contentType ?? "binary/octet-stream";
    if (o.attrs?.metadata) m.metadata = o.attrs.metadata;
    return m;
  }

  private tick(): number {
    this.last = Math.max(Date.now(), this.last + 1);
    return this.last;
  }
}

/** S3 orders keys by their UTF-8 bytes, which is not JavaScript's UTF-16 order. */
function byteOrder(a: string, b: string): number {
  const [x, y] = [new TextEncoder().encode(a), new TextEncoder().encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return x.length - y.length;
}

function tokenKey(token: string): string {
  try {
    return decodeURIComponent(atob(token));
  } catch {
    throw new ObjectStoreError(
      400,
      "InvalidArgument",
      "The continuation token provided is incorrect",
    );
  }
}

function tagListHas(header: string, etag: string): boolean {
  return header.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

/**
 * A Range as S3 reads it: one `bytes=` range; anything else is ignored
 * (null: the whole object). Past the end, or any range of an empty object,
 * is 416 InvalidRange.
 */
function s3Range(header: string, size: number): { offset: number; length: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  const invalidRange = () =>
    new ObjectStoreError(416, "InvalidRange", "The requested range is not satisfiable");
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw invalidRange();
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < first) return null;
  if (first >= size) throw invalidRange();
  return { offset: first, length: last - first + 1 };
}

async function bytesOf(body: ObjectBody, length: number): Promise<Uint8Array> {
  const bytes =
    body instanceof Uint8Array ? body : new Uint8Array(await new Response(body).arrayBuffer());
  if (bytes.byteLength !== length) {
    throw new ObjectStoreError(
      400,
      "IncompleteBody",
      `the body is ${bytes.byteLength} bytes, not the ${length} announced`,
    );
  }
  return bytes;
}

async function md5Bytes(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("MD5", bytes as BufferSource));
}

async function md5Hex(bytes: Uint8Array): Promise<string> {
  return Array.from(await md5Bytes(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}
