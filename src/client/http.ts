// The transport of the SDK: configuration, URLs, authentication, retries and
// error mapping. Runtime-agnostic: fetch, streams and timers only.
import {
  type EdgefsError,
  errorFromResponse,
  InvalidRequestError,
  NetworkError,
} from "./errors.js";
import { CLIENT_KEYS, checkOptions, checkValue } from "./options.js";

/** How to reach edgefs. Every field falls back to the environment, then to a default. */
export interface ClientOptions {
  /** Base URL of the gateway; else EDGEFS_URL, else http://127.0.0.1:8787. */
  url?: string;
  /** Bearer token; else EDGEFS_TOKEN. */
  token?: string;
  /** Environment of the shares (`?env=`), default "main". */
  environment?: string;
  /** The fetch to use (tests, proxies, instrumentation); default the global fetch. */
  fetch?: typeof fetch;
  /** How many times a failed safe request is retried (network errors, 500/503/504); default 3. */
  retries?: number;
}

export const DEFAULT_URL = "http://127.0.0.1:8787";
export const DEFAULT_RETRIES = 3;
const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 10_000;
const RETRIABLE_STATUS = new Set([500, 503, 504]);

/** Environment variables where the runtime has them (Node, Bun, Deno's compat); never required. */
function envVar(name: string): string | undefined {
  const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env?.[name];
  return value === "" ? undefined : value;
}

/**
 * A path as URL segments: a leading "/" is implied, each segment percent-encoded on its own.
 * "." and ".." are refused here (EINVAL, like the server): encodeURIComponent keeps
 * them, and fetch's URL parser would resolve them, so "../../other" would address
 * another share's route (even DELETE /v1/shares/other) instead of a path in this one.
 */
export function encodePath(path: string): string {
  const segments = path.replace(/^\/+/, "").split("/");
  if (segments.some((s) => s === "." || s === "..")) {
    throw new InvalidRequestError(`path segments "." and ".." are not allowed: ${path}`, {
      status: 0,
      path,
    });
  }
  return segments.map(encodeURIComponent).join("/");
}

/** A path as JSON bodies take it (move, copy, upload create): absolute. */
export function absolute(path: string): string {
  return path.startsWith("/") ? path : `/${path}`;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  headers?: Record<string, string>;
  body?: BodyInit | null;
  /** Overrides the retry policy (default: safe methods and replayable PUT bodies only). */
  retry?: boolean;
  /** Prefix of error messages that do not come from the server. */
  what?: string;
  /** Cancels the request (and its retries): it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** RequestOptions sending `body` as JSON. */
export function jsonBody(body: unknown): RequestOptions {
  return { body: JSON.stringify(body), headers: { "content-type": "application/json" } };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether a request may be sent again after a failure without changing its meaning. */
export function isReplayable(method: string, body: BodyInit | null | undefined): boolean {
  switch (method) {
    case "GET":
    case "HEAD":
    case "DELETE":
      return true;
    case "PUT":
      return !(body instanceof ReadableStream);
    default:
      return false; // POST: move, copy, upload create/complete, heartbeats
  }
}

/** Resolved configuration plus the request loop. One per NetworkFileSystem. */
export class HttpClient {
  readonly url: string;
  readonly token: string | undefined;
  readonly environment: string;
  readonly retries: number;
  readonly #fetch: typeof fetch;

  constructor(options?: ClientOptions) {
    options = checkOptions("client options", options, CLIENT_KEYS);
    const isString = (v: unknown) => typeof v === "string";
    checkValue("client options", "url", options.url, isString, "a URL");
    checkValue("client options", "token", options.token, isString, "a string");
    checkValue("client options", "environment", options.environment, isString, "a string");
    checkValue(
      "client options",
      "fetch",
      options.fetch,
      (v) => typeof v === "function",
      "a function",
    );
    checkValue(
      "client options",
      "retries",
      options.retries,
      (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0,
      "a non-negative integer",
    );
    this.url = (options.url ?? envVar("EDGEFS_URL") ?? DEFAULT_URL).replace(/\/+$/, "");
    this.token = options.token ?? envVar("EDGEFS_TOKEN");
    this.environment = options.environment ?? "main";
    this.retries = Math.max(0, options.retries ?? DEFAULT_RETRIES);
    const f = options.fetch;
    // Call the global fetch unbound-safe (workerd and browsers reject `this` ≠ globalThis).
    this.#fetch = f ?? ((input, init) => fetch(input, init));
  }

  /** Absolute URL of `route` (already encoded, starting with "/"), with ?env= and the query. */
  urlOf(route: string, query: Query = {}): string {
    const params = new URLSearchParams();
    params.set("env", this.environment);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    return `${this.url}${route}?${params}`;
  }

  /**
   * Sends one request and answers the Response when it is 2xx (or 304);
   * otherwise throws the typed error. Safe requests are retried on network
   * errors and on 500/503/504 with exponential backoff and jitter.
   */
  async request(method: string, route: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const url = this.urlOf(route, options.query);
    const body = options.body ?? null;
    const retry = options.retry ?? isReplayable(method, body);
    const attempts = retry ? this.retries + 1 : 1;
    const signal = options.signal;
    const init: RequestInit & { duplex?: "half" } = { method, headers, body };
    if (signal !== undefined) init.signal = signal;
    // Node's fetch needs `duplex` to send a stream; other runtimes ignore it.
    if (body instanceof ReadableStream) init.duplex = "half";
    let lastError: EdgefsError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(backoff(attempt));
      // An abort is the caller's decision, not a failure to retry.
      signal?.throwIfAborted();
      let res: Response;
      try {
        res = await this.#fetch(url, init);
      } catch (cause) {
        signal?.throwIfAborted();
        const reason = cause instanceof Error ? cause.message : String(cause);
        lastError = new NetworkError(`${method} ${url}: ${reason}`, { cause });
        continue;
      }
      if (res.ok || res.status === 304) return res;
      lastError = await errorFromResponse(res, options.what ?? `${method} ${route}`);
      if (!RETRIABLE_STATUS.has(res.status)) throw lastError;
    }
    throw lastError ?? new NetworkError(`${method} ${url}: no attempt was made`);
  }

  /** request() and the JSON body of its answer. */
  async json<T>(method: string, route: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, route, {
      ...options,
      headers: { accept: "application/json", ...options.headers },
    });
    return (await res.json()) as T;
  }

  /** request() for its side effect: the answer's body is discarded. */
  async send(method: string, route: string, options: RequestOptions = {}): Promise<void> {
    const res = await this.request(method, route, options);
    await res.body?.cancel().catch(() => undefined);
  }
}

/** Delay before retry `attempt` (1-based): 200 ms × 2^(attempt−1), scaled by a random 50–100%. */
function backoff(attempt: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
