// Shared helpers of the end-to-end tests: an HTTP client for the edgefs
// contract (docs/api.md), deterministic test data, uploads that
// stream (or break off) through node:http, and bounded polling of R2 counts.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join, relative } from "node:path";
import { inject } from "vitest";

/** A share as `GET /v1/shares/{name}` describes it. */
export interface ShareInfo {
  name: string;
  env: string;
  id: string;
  kind: string;
  ephemeral: boolean;
  createdAt: number;
}

/** FileEntry of the contract. */
export interface FileEntry {
  path: string;
  type: "file" | "directory";
  size: number;
  mtime: number;
  etag?: string;
}

/** The contract's error body. */
export interface ErrorBody {
  error: { code: string; message: string; path?: string };
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
/** Files up to this size are stored inline in the share's SQLite, bigger ones in R2. */
export const INLINE_MAX = 64 * KiB;

/** A fresh share name, unique within this run (names: [A-Za-z0-9._-]{1,64}). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The stress suites run short inside `npm test` and long in `npm run
 * test:stress` (EDGEFS_STRESS=long): the same checks, bigger counts.
 */
export const LONG_STRESS = process.env.EDGEFS_STRESS === "long";
export function stressCount(short: number, long: number): number {
  return LONG_STRESS ? long : short;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// ── Deterministic data ────────────────────────────────────────────────

/**
 * Pseudo-random bytes from a seed (mulberry32), produced chunk by chunk so
 * a 64 MiB body never has to be held in memory. Same seed and size, same bytes.
 */
export function* prngChunks(seed: number, size: number, chunkSize = MiB): Generator<Uint8Array> {
  if (chunkSize % 4 !== 0) throw new Error("chunkSize must be a multiple of 4");
  let state = seed | 0;
  let left = size;
  while (left > 0) {
    const n = Math.min(chunkSize, left);
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      words[i] = (t ^ (t >>> 14)) >>> 0;
    }
    yield new Uint8Array(words.buffer, 0, n);
    left -= n;
  }
}

/** The whole of prngChunks(seed, size) in one buffer (for files of a few MiB at most). */
export function prngBytes(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of prngChunks(seed, size)) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

export function sha256(data: Uint8Array | Iterable<Uint8Array>): string {
  const hash = createHash("sha256");
  if (data instanceof Uint8Array) hash.update(data);
  else for (const chunk of data) hash.update(chunk);
  return hash.digest("hex");
}

/** Every file under a local directory, by relative path, with its bytes' SHA-256. */
export function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = sha256(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

// ── The client ────────────────────────────────────────────────────────

/** A thin client for one edgefs server, authenticated with its root token. */
export class Edgefs {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  /** The server started by global-setup.ts. */
  static shared(): Edgefs {
    return new Edgefs(inject("edgefsUrl"), inject("edgefsToken"));
  }

  /** `/v1/shares/{share}/{kind}/{path}` with each path segment percent-encoded. */
  route(share: string, kind: "files" | "stat" | "list", path: string): string {
    const encoded = path
      .split("/")
      .map((s) => encodeURIComponent(s))
      .join("/");
    return `/v1/shares/${share}/${kind}/${encoded.replace(/^\//, "")}`;
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${this.token}`);
    return fetch(`${this.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(120_000) });
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const res = await this.fetch(path, init);
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as T };
    } catch {
      throw new Error(
        `${init.method ?? "GET"} ${path}: ${res.status}, not JSON: ${text.slice(0, 200)}`,
      );
    }
  }

  /** PUT /v1/shares/{name}; expects it to be new. */
  async createShare(name: string): Promise<ShareInfo> {
    const { status, body } = await this.json<ShareInfo>(`/v1/shares/${name}`, { method: "PUT" });
    if (status !== 201)
      throw new Error(`creating share ${name}: ${status} ${JSON.stringify(body)}`);
    return body;
  }

  async deleteShare(name: string): Promise<number> {
    const res = await this.fetch(`/v1/shares/${name}`, { method: "DELETE" });
    await res.arrayBuffer();
    return res.status;
  }

  /** Writes a file from bytes in memory (Content-Length known). */
  async put(
    share: string,
    path: string,
    data: Uint8Array,
  ): Promise<{ status: number; body: FileEntry }> {
    return this.json<FileEntry>(this.route(share, "files", path), {
      method: "PUT",
      body: data as Uint8Array<ArrayBuffer>,
    });
  }

  async get(
    share: string,
    path: string,
  ): Promise<{ status: number; bytes: Uint8Array; res: Response }> {
    const res = await this.fetch(this.route(share, "files", path));
    return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), res };
  }

  /** Downloads a file, hashing it as it streams in (never holding it whole). */
  async download(
    share: string,
    path: string,
  ): Promise<{ status: number; size: number; sha256: string }> {
    const res = await this.fetch(this.route(share, "files", path));
    if (!res.body) return { status: res.status, size: 0, sha256: sha256(new Uint8Array(0)) };
    const hash = createHash("sha256");
    let size = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      size += value.byteLength;
    }
    return { status: res.status, size, sha256: hash.digest("hex") };
  }

  stat(share: string, path: string): Promise<{ status: number; body: FileEntry & ErrorBody }> {
    return this.json(this.route(share, "stat", path));
  }

  /** Every entry below the share's root, page by page (bounded: 1,000 pages). */
  async listAll(share: string): Promise<FileEntry[]> {
    const entries: FileEntry[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const q = `?recursive=true&limit=1000${cursor ? `&cursor=${cursor}` : ""}`;
      const { status, body } = await this.json<{ entries: FileEntry[]; cursor?: string }>(
        `${this.route(share, "list", "")}${q}`,
      );
      if (status !== 200) throw new Error(`listing ${share}: ${status} ${JSON.stringify(body)}`);
      entries.push(...body.entries);
      cursor = body.cursor;
      if (!cursor) break;
    }
    return entries;
  }

  /** How many R2 objects lie under blobs/<shareId>/ (dev route). */
  async r2Count(shareId: string): Promise<number> {
    const { status, body } = await this.json<{ objects: number }>(
      `/_dev/r2-count?prefix=${encodeURIComponent(`blobs/${shareId}/`)}`,
    );
    if (status !== 200) throw new Error(`r2-count: ${status} ${JSON.stringify(body)}`);
    return body.objects;
  }

  /**
   * Polls the R2 count of a share until it equals `expected` or `timeoutMs`
   * passes; returns the last count seen, for the test to assert on.
   */
  async waitForR2Count(shareId: string, expected: number, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await this.r2Count(shareId);
      if (n === expected || Date.now() >= deadline) return n;
      await sleep(250);
    }
  }

  /**
   * How many multipart uploads under blobs/<shareId>/ R2 still holds open
   * (dev route): their parts are stored, yet no object is listed for them.
   */
  async unfinishedUploads(shareId: string): Promise<number> {
    const { status, body } = await this.json<{ unfinishedUploads: number }>(
      `/_dev/r2-count?prefix=${encodeURIComponent(`blobs/${shareId}/`)}`,
    );
    if (status !== 200) throw new Error(`r2-count: ${status} ${JSON.stringify(body)}`);
    return body.unfinishedUploads;
  }

  /** Polls until no multipart upload of the share is open or `timeoutMs` passes; the last count. */
  async waitForNoUnfinishedUploads(shareId: string, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await this.unfinishedUploads(shareId);
      if (n === 0 || Date.now() >= deadline) return n;
      await sleep(250);
    }
  }
}

// ── Streaming uploads through node:http ───────────────────────────────

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * PUTs a body streamed from `chunks`: with a Content-Length header when
 * `contentLength` is given, otherwise chunked (Transfer-Encoding: chunked).
 * Honours backpressure, so memory stays at one chunk.
 */
export function streamPut(
  server: Edgefs,
  path: string,
  chunks: Iterable<Uint8Array>,
  contentLength?: number,
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const url = new URL(`${server.url}${path}`);
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${server.token}` };
    if (contentLength !== undefined) headers["content-length"] = contentLength;
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: "PUT",
      path: url.pathname,
      headers,
      agent: false,
      timeout: 120_000,
    });
    let responded = false;
    req.on("response", (res) => {
      responded = true;
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("upload timed out")));
    req.on("error", (e) => {
      if (!responded) reject(e);
    });
    (async () => {
      for (const chunk of chunks) {
        if (responded || req.destroyed) return;
        if (!req.write(chunk)) await new Promise<void>((r) => req.once("drain", () => r()));
      }
      req.end();
    })().catch((e: unknown) => req.destroy(e instanceof Error ? e : new Error(String(e))));
  });
}

/**
 * Starts a PUT of `total` bytes (announced by Content-Length, or chunked),
 * sends the first `cutAfter` of them, lets the server take them in, then
 * destroys the socket: a client that dies mid-upload. Resolves once the
 * socket is closed; `earlyStatus` is set if the server answered before the cut
 * (then the test did not exercise an abort).
 */
export function abortedPut(
  server: Edgefs,
  path: string,
  opts: { seed: number; total: number; cutAfter: number; chunked: boolean },
): Promise<{ sent: number; earlyStatus?: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${server.url}${path}`);
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${server.token}` };
    if (!opts.chunked) headers["content-length"] = opts.total;
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: "PUT",
      path: url.pathname,
      headers,
      agent: false,
    });
    let earlyStatus: number | undefined;
    let sent = 0;
    req.on("response", (res) => {
      earlyStatus = res.statusCode;
      res.resume();
    });
    req.on("error", () => undefined); // the error we cause ourselves
    req.on("close", () => resolve(earlyStatus === undefined ? { sent } : { sent, earlyStatus }));
    (async () => {
      for (const chunk of prngChunks(opts.seed, opts.cutAfter, 256 * KiB)) {
        if (req.destroyed) return;
        sent += chunk.byteLength;
        if (!req.write(chunk)) await new Promise<void>((r) => req.once("drain", () => r()));
      }
      // Give the server time to stream what it got onwards before the cut.
      await sleep(750);
      req.destroy();
    })().catch(reject);
  });
}

/** The first answer on a raw socket: status, header block and body, as latin1 text. */
export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends `head` (request line and headers, without Host and the blank line)
 * and `body` on a fresh socket, then half-closes it (FIN) so the server sees
 * the end of what was sent — a body shorter than its Content-Length ends
 * there. For requests fetch() refuses to send. Bounded: 30 s.
 */
export async function rawRequest(
  server: Edgefs,
  head: string,
  body: Uint8Array = new Uint8Array(0),
): Promise<RawAnswer> {
  const url = new URL(server.url);
  const sock = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((ok, fail) => {
    sock.once("connect", ok);
    sock.once("error", fail);
  });
  let text = "";
  sock.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  sock.on("error", () => undefined);
  const closed = new Promise<void>((r) => sock.once("close", () => r()));
  sock.write(`${head}Host: ${url.host}\r\nConnection: close\r\n\r\n`);
  sock.write(body);
  await sleep(300);
  sock.end();
  const timer = setTimeout(() => sock.destroy(), 30_000);
  await closed;
  clearTimeout(timer);
  const split = text.indexOf("\r\n\r\n");
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
    head: text.slice(0, split),
    body: text.slice(split + 4),
  };
}

/** A web ReadableStream over generated chunks, for fetch bodies of unknown length. */
export function readableOf(
  chunks: Iterable<Uint8Array>,
  onChunk?: (c: Uint8Array) => void,
): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.iterator]();
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = it.next();
      if (next.done) {
        controller.close();
        return;
      }
      onChunk?.(next.value);
      controller.enqueue(next.value);
    },
  });
}

/** fetch() init for a streaming request body: Node needs `duplex: "half"`. */
export function streamingInit(
  method: string,
  body: ReadableStream<Uint8Array>,
): RequestInit & { duplex: "half" } {
  return { method, body, duplex: "half" };
}
