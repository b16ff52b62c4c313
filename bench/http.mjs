// HTTP helpers for the benchmark. Small requests go through Node's fetch
// (undici, keep-alive by default); large bodies are streamed with node:http
// so that a 256 MiB transfer never sits in memory and the Content-Length
// is exactly what we say.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import http from "node:http";

/** One request that did not answer as the contract says: a server bug or an outage. */
export class HttpError extends Error {
  /**
   * @param {string} method
   * @param {string} url
   * @param {number} status
   * @param {string} body
   * @param {number[]} expected
   */
  constructor(method, url, status, body, expected) {
    super(`${method} ${url} → ${status}, expected ${expected.join("/")}: ${body.slice(0, 400)}`);
    this.name = "HttpError";
    this.method = method;
    this.url = url;
    this.status = status;
    this.body = body.slice(0, 2000);
    this.expected = expected;
  }
}

/** Per-request time limit for big transfers; keeps every request bounded. */
const BIG_TIMEOUT_MS = 600_000;
/** Per-request time limit for small requests. */
const SMALL_TIMEOUT_MS = 60_000;

/** The edgefs HTTP surface the benchmark uses, plus the bare /_dev/bare baseline. */
export class Client {
  /**
   * @param {string} base e.g. http://127.0.0.1:1234
   * @param {string} token the root token
   */
  constructor(base, token) {
    this.base = base;
    this.auth = `Bearer ${token}`;
    /** keep-alive, one socket: big transfers run one at a time. */
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** @param {string} share @param {string} path */
  fileUrl(share, path) {
    return `/v1/shares/${share}/files/${path}`;
  }

  /** @param {string} key */
  bareUrl(key) {
    return `/_dev/bare/${key}`;
  }

  /**
   * fetch() with auth; throws HttpError unless the status is one of `expect`.
   * The body of a good response is left unread.
   * @param {string} method
   * @param {string} path
   * @param {{ body?: Uint8Array<ArrayBuffer>, expect?: number[], headers?: Record<string, string> }} [options]
   */
  async request(method, path, options = {}) {
    const expect = options.expect ?? [200, 201];
    const res = await fetch(this.base + path, {
      method,
      headers: { authorization: this.auth, ...options.headers },
      body: options.body,
      signal: AbortSignal.timeout(SMALL_TIMEOUT_MS),
    });
    if (!expect.includes(res.status)) {
      const text = await res.text().catch((e) => `(body unreadable: ${e})`);
      throw new HttpError(method, path, res.status, text, expect);
    }
    return res;
  }

  /** @param {string} path */
  async getJson(path) {
    const res = await this.request("GET", path, { expect: [200] });
    return /** @type {unknown} */ (await res.json());
  }

  /** PUT /v1/shares/{name}: create if missing. @param {string} share */
  async createShare(share) {
    const res = await this.request("PUT", `/v1/shares/${share}`, { expect: [200, 201] });
    await res.arrayBuffer();
  }

  /**
   * PUT small bytes (fetch sets Content-Length from the Uint8Array).
   * @param {string} path
   * @param {Uint8Array<ArrayBuffer>} bytes
   * @param {number[]} expect
   */
  async putBytes(path, bytes, expect) {
    const res = await this.request("PUT", path, { body: bytes, expect });
    await res.arrayBuffer();
  }

  /** GET the whole body. @param {string} path */
  async getBytes(path) {
    const res = await this.request("GET", path, { expect: [200] });
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * Streams a file as a PUT body with an explicit Content-Length.
   * Resolves once the whole response has arrived.
   * @param {string} path
   * @param {string} file
   * @param {number} size
   * @param {number[]} expect
   * @param {Record<string, string>} [headers] instead of the bearer token: e.g. an S3
   *   signature (bench/s3.mjs), so both front-ends go through this same code
   */
  putFile(path, file, size, expect, headers) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        this.base + path,
        {
          method: "PUT",
          agent: this.agent,
          headers: headers ?? {
            authorization: this.auth,
            "content-length": String(size),
            "content-type": "application/octet-stream",
          },
          timeout: BIG_TIMEOUT_MS,
        },
        (res) => {
          /** @type {Buffer[]} */
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            if (expect.includes(status)) resolve(text);
            else reject(new HttpError("PUT", path, status, text, expect));
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(new Error(`PUT ${path}: no progress for ${BIG_TIMEOUT_MS} ms`)),
      );
      req.on("error", reject);
      const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
      source.on("error", (e) => req.destroy(e));
      source.pipe(req);
    });
  }

  /**
   * Streams a GET body, counting (and optionally hashing) it, keeping nothing.
   * @param {string} path
   * @param {boolean} [hash] also compute the SHA-256 (costs CPU; keep it out of timed runs)
   * @param {Record<string, string>} [headers] instead of the bearer token (an S3 signature)
   * @returns {Promise<{ bytes: number, sha256?: string, contentLength: number, headersAt: number }>}
   *   headersAt: performance.now() when the response headers arrived
   */
  getStream(path, hash = false, headers = undefined) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        this.base + path,
        {
          method: "GET",
          agent: this.agent,
          headers: headers ?? { authorization: this.auth },
          timeout: BIG_TIMEOUT_MS,
        },
        (res) => {
          const headersAt = performance.now();
          const status = res.statusCode ?? 0;
          if (status !== 200) {
            /** @type {Buffer[]} */
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () =>
              reject(
                new HttpError("GET", path, status, Buffer.concat(chunks).toString("utf8"), [200]),
              ),
            );
            return;
          }
          const hasher = hash ? createHash("sha256") : undefined;
          let bytes = 0;
          res.on("data", (/** @type {Buffer} */ c) => {
            bytes += c.byteLength;
            hasher?.update(c);
          });
          res.on("error", reject);
          res.on("end", () =>
            resolve({
              bytes,
              headersAt,
              contentLength: Number(res.headers["content-length"] ?? Number.NaN),
              ...(hasher ? { sha256: hasher.digest("hex") } : {}),
            }),
          );
        },
      );
      req.on("timeout", () =>
        req.destroy(new Error(`GET ${path}: no progress for ${BIG_TIMEOUT_MS} ms`)),
      );
      req.on("error", reject);
      req.end();
    });
  }

  close() {
    this.agent.destroy();
  }
}
