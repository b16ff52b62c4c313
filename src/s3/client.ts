import { AwsClient } from "aws4fetch";
import type { FileAttributes } from "../core/backend.js";
import {
  type GetOptions,
  type GetResult,
  type ListObjectsPage,
  type ListObjectsQuery,
  type ObjectStore,
  ObjectStoreError,
  type StoredObject,
} from "../core/object-store.js";
import { child, children, escapeXml, parseXml, text, type XmlNode } from "./xml.js";

/**
 * A small S3 client for bucket mounts: the dozen calls a file gateway needs,
 * over fetch only, so that it runs in workerd and in Node ≥ 22 alike.
 * Requests are signed with aws4fetch (SigV4, payload UNSIGNED-PAYLOAD so that
 * bodies can stream) or sent unsigned when the target has no credentials.
 * (Over the house's ~400 lines on purpose: each S3 call is a short method
 * over one shared send() that signs, marks, bounds and reads answers; XML is
 * in xml.ts.)
 */

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Target {
  /** e.g. "https://s3.us-east-1.amazonaws.com"; may carry a path ("…/cdn-cgi/local/r2/s3"). */
  endpoint: string;
  /** e.g. "us-east-1" ("auto" for R2). */
  region: string;
  bucket: string;
  /** true: endpoint/bucket/key; false: virtual-hosted bucket.endpoint-host/key. */
  forcePathStyle: boolean;
  /** Absent: unsigned requests (public buckets). */
  credentials?: S3Credentials;
  /** Sends x-amz-request-payer: requester. */
  requesterPays: boolean;
}

/**
 * An S3 failure: the ObjectStoreError of core with S3's <Code> (AccessDenied,
 * NoSuchKey, SlowDown …), or "HTTP<status>" when the answer has none (HEAD
 * answers have no body; 412 and 416 then still read as PreconditionFailed
 * and InvalidRange). `status` is the HTTP status S3 sent: 200 for an
 * <Error> inside a 200 answer, which CompleteMultipartUpload and CopyObject
 * can give after they began.
 */
export class S3Error extends ObjectStoreError {
  override readonly name = "S3Error";
}

/** The object-store names under which callers of this client know them. */
export type S3Object = StoredObject;
export type { GetOptions, GetResult };

type Body = ReadableStream<Uint8Array> | Uint8Array;
type Request_ = {
  query?: string;
  headers?: Record<string, string>;
  body?: Body | string;
  length?: number;
};
/** workerd's FixedLengthStream, looked up at run time (Node has none). */
type FixedLength = new (length: number) => TransformStream<Uint8Array, Uint8Array>;

/** S3's URI encoding: everything but A–Z a–z 0–9 - _ . ~ is percent-encoded. */
function encode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * A key as a URL path: each segment encoded, "/" kept. URLs cannot address a
 * "." or ".." segment (fetch normalises it away, even as %2E), so such keys
 * are refused rather than silently reaching another object.
 */
export function encodeKey(key: string): string {
  const segments = key.split("/");
  if (key === "" || segments.some((s) => s === "." || s === "..")) {
    throw new S3Error(
      400,
      "UnaddressableKey",
      `key ${JSON.stringify(key)} cannot be addressed by URL`,
    );
  }
  return segments.map(encode).join("/");
}

function query(params: Record<string, string | number | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (v === "" ? encode(k) : `${encode(k)}=${encode(String(v))}`))
    .join("&");
}

/** Codes for answers without an XML body (HEAD): the ones callers branch on. */
const BODYLESS_CODES: Record<number, string> = { 412: "PreconditionFailed", 416: "InvalidRange" };

/**
 * How much of an upstream answer edgefs reads into memory: a bucket that
 * answers with an endless error page or listing must not exhaust the
 * isolate. File bytes streamed through to clients are not read, so not capped.
 */
export const XML_MAX_BYTES = 1024 * 1024;
/**
 * A ListObjectsV2 page may legitimately be larger: 1,000 keys of up to
 * S3's 1,024 bytes, URL-encoded, with their metadata stay below 4 MiB.
 */
export const LIST_MAX_BYTES = 4 * 1024 * 1024;

/** The header on every request edgefs sends to a bucket; the gateway refuses to serve a mount for a request carrying it. */
export const HOP_HEADER = "edgefs-hop";

/**
 * The body as text, read up to `max` bytes: beyond that the stream is
 * cancelled and S3Error ResponseTooLarge thrown.
 */
async function textOf(res: Response, max: number): Promise<string> {
  if (!res.body || res.bodyUsed) return "";
  const tooLarge = () =>
    new S3Error(
      res.status,
      "ResponseTooLarge",
      `S3 answered ${res.status} with a body over ${max / 1024 / 1024} MiB; not read`,
    );
  const declared = Number(res.headers.get("content-length") ?? 0);
  if (declared > max) {
    await res.body.cancel().catch(() => {});
    throw tooLarge();
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

async function errorOf(res: Response): Promise<S3Error> {
  let body: string;
  try {
    body = await textOf(res, XML_MAX_BYTES);
  } catch (e) {
    if (e instanceof S3Error) return e;
    body = ""; // a body cut short: the status still says what happened
  }
  const error = child(parseXml(body), "Error");
  const code = text(error, "Code") || BODYLESS_CODES[res.status] || `HTTP${res.status}`;
  return new S3Error(
    res.status,
    code,
    text(error, "Message") || `S3 answered ${res.status} ${code}`,
  );
}

/** The <root> element of a successful XML answer; an <Error> (even with 200) throws. */
async function xmlOf(res: Response, root: string, max = XML_MAX_BYTES): Promise<XmlNode> {
  if (!res.ok) throw await errorOf(res);
  const doc = parseXml(await textOf(res, max));
  const error = child(doc, "Error");
  if (error) {
    const code = text(error, "Code") || "InternalError";
    throw new S3Error(res.status, code, text(error, "Message") || code);
  }
  const node = child(doc, root);
  if (!node) throw new S3Error(res.status, "InvalidResponse", `S3 answer has no <${root}>`);
  return node;
}

/** A 2xx answer whose body is not needed: discard it so the connection is freed. */
async function ok(res: Response): Promise<Response> {
  if (!res.ok) throw await errorOf(res);
  await res.body?.cancel();
  return res;
}

const META = "x-amz-meta-";

function objectOf(key: string, headers: Headers, size: number): S3Object {
  const lastModified = Date.parse(headers.get("last-modified") ?? "");
  const o: S3Object = {
    key,
    size,
    etag: headers.get("etag") ?? "",
    lastModified: lastModified || 0,
  };
  const type = headers.get("content-type");
  if (type) o.contentType = type;
  const metadata: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (name.startsWith(META)) metadata[name.slice(META.length)] = value;
  });
  if (Object.keys(metadata).length > 0) o.metadata = metadata;
  return o;
}

/** An object's attributes as S3 request headers: Content-Type and x-amz-meta-*. */
function attributeHeaders(a: FileAttributes | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (a?.contentType !== undefined) h["content-type"] = a.contentType;
  for (const [name, value] of Object.entries(a?.metadata ?? {})) h[`${META}${name}`] = value;
  return h;
}

/** The object store of a bucket mount, over S3's HTTP API. */
export class S3Client implements ObjectStore {
  private readonly target: S3Target;
  private readonly aws: AwsClient | null;
  private readonly retries: number;
  /** Asked before each retry, which is one more subrequest: false answers the failure as it is. */
  private readonly mayRetry: () => boolean;
  /** Everything up to the key: "https://host/path/bucket" or "https://bucket.host/path". */
  private readonly base: string;

  constructor(target: S3Target, options: { retries?: number; mayRetry?: () => boolean } = {}) {
    this.target = target;
    this.mayRetry = options.mayRetry ?? (() => true);
    // aws4fetch's default of 10 retries (≈25 s of backoff) is far too long for
    // a request path. `send` does the retrying; AwsClient gets the same number.
    this.retries = options.retries ?? 2;
    const c = target.credentials;
    this.aws = c
      ? new AwsClient({ ...c, service: "s3", region: target.region, retries: this.retries })
      : null;
    const url = new URL(target.endpoint);
    const path = url.pathname.replace(/\/+$/, "");
    this.base = target.forcePathStyle
      ? `${url.protocol}//${url.host}${path}/${encode(target.bucket)}`
      : `${url.protocol}//${target.bucket}.${url.host}${path}`;
  }

  /**
   * One S3 call, retried on 5xx and 429 like aws4fetch would (re-signed each
   * time), except that a stream is sent only once. The loop is ours because
   * aws4fetch's would replay a spent stream, keep failed bodies open, and
   * sign every header: Accept-Encoding is set after signing, since proxies
   * rewrite it (wrangler dev does, and then the signature fails).
   * identity: nothing on the way may gzip an answer, which would drop its
   * Content-Length (wrangler dev gzips text/* objects otherwise).
   * A stream needs a known length: workerd gets it from a FixedLengthStream,
   * Node from Content-Length (fetch would otherwise send it chunked, which S3
   * refuses for PUT). A stream that ends short rejects with fetch's TypeError.
   */
  private async send(method: string, key: string | null, r: Request_ = {}): Promise<Response> {
    const path = key === null ? this.base : `${this.base}/${encodeKey(key)}`;
    const url = r.query ? `${path}?${r.query}` : path;
    const headers = new Headers(r.headers);
    if (this.target.requesterPays) headers.set("x-amz-request-payer", "requester");
    // Never follow a redirect: its target is not the endpoint an admin named
    // and the operator allowed (send refuses 3xx below).
    const init: RequestInit & { duplex?: "half" } = { method, headers, redirect: "manual" };
    let replayable = true;
    if (r.body instanceof ReadableStream) {
      replayable = false;
      const Fixed = (globalThis as { FixedLengthStream?: FixedLength }).FixedLengthStream;
      if (Fixed) {
        const fixed = new Fixed(r.length ?? 0);
        // A short body errors `fixed.readable`, which fails the fetch; the
        // pipe's own rejection is handled here so it is not logged as uncaught.
        r.body.pipeTo(fixed.writable).catch(() => {});
        init.body = fixed.readable;
      } else {
        headers.set("content-length", String(r.length ?? 0));
        init.body = r.body;
        init.duplex = "half";
      }
    } else if (r.body !== undefined) {
      init.body = r.body as BodyInit;
    }
    for (let i = 0; ; i++) {
      const request = this.aws ? await this.aws.sign(url, init) : new Request(url, init);
      request.headers.set("accept-encoding", "identity");
      // Marks the request as edgefs's own: a mount whose endpoint is this
      // gateway (or another edgefs) is refused there instead of looping.
      request.headers.set(HOP_HEADER, "1");
      const res = await fetch(request);
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        await res.body?.cancel().catch(() => {});
        throw new S3Error(
          res.status,
          "Redirect",
          // Not the Location: it may carry another party's signed URL.
          `S3 answered ${res.status}: redirects are not followed`,
        );
      }
      if (!replayable || i >= this.retries || (res.status < 500 && res.status !== 429)) return res;
      if (!this.mayRetry()) return res;
      await res.body?.cancel();
      await new Promise((wake) => setTimeout(wake, Math.random() * 50 * 2 ** i));
    }
  }

  /** Metadata of `key`, or null when there is no such object. */
  async head(key: string): Promise<S3Object | null> {
    const res = await this.send("HEAD", key);
    if (res.status === 404) return null;
    await ok(res);
    return objectOf(key, res.headers, Number(res.headers.get("content-length") ?? 0));
  }

  /**
   * GET (or HEAD with headOnly) with the caller's Range and conditional headers
   * passed through verbatim. null when the key does not exist; a failed
   * precondition throws S3Error 412 PreconditionFailed, a bad range 416 InvalidRange.
   */
  async get(key: string, h: GetOptions): Promise<GetResult | null> {
    const headers: Record<string, string> = {};
    if (h.range !== undefined) headers.range = h.range;
    if (h.ifMatch !== undefined) headers["if-match"] = h.ifMatch;
    if (h.ifNoneMatch !== undefined) headers["if-none-match"] = h.ifNoneMatch;
    if (h.ifModifiedSince !== undefined) headers["if-modified-since"] = h.ifModifiedSince;
    if (h.ifRange !== undefined) headers["if-range"] = h.ifRange;
    const res = await this.send(h.headOnly ? "HEAD" : "GET", key, { headers });
    if (res.status === 404) {
      const error = await errorOf(res);
      if (h.headOnly || error.code === "NoSuchKey") return null;
      throw error;
    }
    const length = Number(res.headers.get("content-length") ?? 0);
    if (res.status === 304) {
      await res.body?.cancel();
      return { status: 304, object: objectOf(key, res.headers, 0), body: null };
    }
    if (res.status === 200) {
      return { status: 200, object: objectOf(key, res.headers, length), body: res.body };
    }
    if (res.status === 206) {
      // "bytes 0-9/100"
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
      if (!m) {
        await res.body?.cancel();
        throw new S3Error(206, "InvalidResponse", "206 without a usable Content-Range");
      }
      const [offset, last, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const range = { offset, length: last - offset + 1 };
      return { status: 206, object: objectOf(key, res.headers, size), range, body: res.body };
    }
    throw await errorOf(res);
  }

  /** PutObject of exactly `length` bytes. */
  async put(
    key: string,
    body: Body,
    length: number,
    attributes?: FileAttributes,
  ): Promise<{ etag: string }> {
    const headers = attributeHeaders(attributes);
    const res = await ok(await this.send("PUT", key, { body, length, headers }));
    return { etag: res.headers.get("etag") ?? "" };
  }

  /** CreateMultipartUpload: the UploadId. */
  async createMultipart(key: string, attributes?: FileAttributes): Promise<string> {
    const res = await this.send("POST", key, {
      query: query({ uploads: "" }),
      headers: attributeHeaders(attributes),
    });
    const uploadId = text(await xmlOf(res, "InitiateMultipartUploadResult"), "UploadId");
    if (!uploadId) throw new S3Error(res.status, "InvalidResponse", "no UploadId");
    return uploadId;
  }

  /** UploadPart `n` (1…10000): its ETag, needed by completeMultipart. */
  async uploadPart(
    key: string,
    uploadId: string,
    n: number,
    body: Body,
    length: number,
  ): Promise<string> {
    const q = query({ partNumber: n, uploadId });
    const res = await ok(await this.send("PUT", key, { query: q, body, length }));
    return res.headers.get("etag") ?? "";
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<{ etag: string }> {
    const xml = `<CompleteMultipartUpload>${parts
      .map(
        (p) =>
          `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`,
      )
      .join("")}</CompleteMultipartUpload>`;
    const headers = { "content-type": "application/xml" };
    const res = await this.send("POST", key, { query: query({ uploadId }), headers, body: xml });
    return { etag: text(await xmlOf(res, "CompleteMultipartUploadResult"), "ETag") ?? "" };
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await ok(await this.send("DELETE", key, { query: query({ uploadId }) }));
  }

  /** One ListObjectsV2 call. Keys travel URL-encoded (encoding-type=url) so any byte survives XML. */
  async list(q: ListObjectsQuery): Promise<ListObjectsPage> {
    const res = await this.send("GET", null, {
      query: query({
        "list-type": 2,
        prefix: q.prefix,
        delimiter: q.delimiter,
        "continuation-token": q.continuationToken,
        "start-after": q.startAfter,
        "max-keys": q.maxKeys,
        "encoding-type": "url",
      }),
    });
    const result = await xmlOf(res, "ListBucketResult", LIST_MAX_BYTES);
    // S3 encodes a space as "+" here (and "+" as %2B); an endpoint that ignores
    // encoding-type says so by leaving out <EncodingType>.
    const decode =
      text(result, "EncodingType") === "url"
        ? (s: string) => decodeURIComponent(s.replace(/\+/g, " "))
        : (s: string) => s;
    const objects = children(result, "Contents").map((c) => ({
      key: decode(text(c, "Key") ?? ""),
      size: Number(text(c, "Size") ?? 0),
      etag: text(c, "ETag") ?? "",
      lastModified: Date.parse(text(c, "LastModified") ?? "") || 0,
    }));
    const prefixes = children(result, "CommonPrefixes").map((p) => decode(text(p, "Prefix") ?? ""));
    const truncated = text(result, "IsTruncated") === "true";
    const nextToken = truncated ? text(result, "NextContinuationToken") : undefined;
    return nextToken ? { objects, prefixes, nextToken } : { objects, prefixes };
  }

  /** DeleteObject. S3 answers 204 whether or not the key existed. */
  async delete(key: string): Promise<void> {
    await ok(await this.send("DELETE", key));
  }

  /**
   * DeleteObjects (at most 1000 keys) in quiet mode: only failures come back.
   * S3 requires a body checksum here: Content-MD5 where Web Crypto has MD5
   * (workerd), otherwise x-amz-checksum-sha256 (Node).
   */
  async deleteMany(keys: string[]): Promise<{ key: string; code: string; message: string }[]> {
    if (keys.length === 0) return [];
    if (keys.length > 1000) throw new RangeError("deleteMany takes at most 1000 keys");
    const xml = `<Delete><Quiet>true</Quiet>${keys
      .map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`)
      .join("")}</Delete>`;
    const bytes = new TextEncoder().encode(xml);
    const headers: Record<string, string> = { "content-type": "application/xml" };
    const base64 = (b: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(b)));
    try {
      headers["content-md5"] = base64(await crypto.subtle.digest("MD5", bytes));
    } catch {
      headers["x-amz-sdk-checksum-algorithm"] = "SHA256";
      headers["x-amz-checksum-sha256"] = base64(await crypto.subtle.digest("SHA-256", bytes));
    }
    const res = await this.send("POST", null, {
      query: query({ delete: "" }),
      headers,
      body: bytes,
    });
    return children(await xmlOf(res, "DeleteResult"), "Error").map((e) => ({
      key: text(e, "Key") ?? "",
      code: text(e, "Code") ?? "",
      message: text(e, "Message") ?? "",
    }));
  }

  /** CopyObject within the bucket; an <Error> in a 200 answer (a copy that failed midway) throws. */
  async copy(
    fromKey: string,
    toKey: string,
    attributes?: FileAttributes,
  ): Promise<{ etag: string }> {
    const source = `/${encode(this.target.bucket)}/${encodeKey(fromKey)}`;
    const headers: Record<string, string> = { "x-amz-copy-source": source };
    if (attributes !== undefined) {
      Object.assign(headers, attributeHeaders(attributes), {
        "x-amz-metadata-directive": "REPLACE",
      });
    }
    const res = await this.send("PUT", toKey, { headers });
    return { etag: text(await xmlOf(res, "CopyObjectResult"), "ETag") ?? "" };
  }
}
