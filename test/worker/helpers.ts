import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { MIGRATIONS } from "../../src/durable/schema";

export const TOKEN = "test-root-token";
const ORIGIN = "http://edgefs.test";

/** Calls the whole Worker (routing, auth, error handler) like a client would. */
export function api(
  method: string,
  path: string,
  init: { body?: BodyInit | null; headers?: Record<string, string>; token?: string | null } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? TOKEN}`);
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, { method, headers, body: init.body ?? null }),
  );
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Asserts a contract error: status and code. Returns the error body. */
export async function expectError(res: Response, status: number, code: string) {
  const body = await json<{ error: { code: string; message: string; path?: string } }>(res);
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}

let counter = 0;
/** A fresh share with a unique name. */
export async function newShare(prefix = "s"): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}-${counter++}`;
  const res = await api("PUT", `/v1/shares/${name}`);
  expect(res.status).toBe(201);
  return name;
}

/** The share's id: R2 keys of its blobs start with blobs/<id>/. */
export async function shareId(share: string): Promise<string> {
  return (await json<{ id: string }>(await api("GET", `/v1/shares/${share}`))).id;
}

export async function put(
  share: string,
  path: string,
  body: BodyInit,
  headers?: Record<string, string>,
) {
  return api("PUT", `/v1/shares/${share}/files${path}`, { body, headers });
}

export async function getText(share: string, path: string): Promise<string> {
  const res = await api("GET", `/v1/shares/${share}/files${path}`);
  expect(res.status).toBe(200);
  return res.text();
}

export function stub(share: string, environment = "main") {
  return env.SHARE.get(env.SHARE.idFromName(`${environment}/${share}`));
}

/**
 * Mounts a bucket at /bucket of the share, on the discard port (nothing is
 * reachable there): for tests of what share-only operations refuse under a mount.
 */
export async function mountUnreachableBucket(share: string): Promise<void> {
  const res = await api("PUT", `/v1/shares/${share}/mounts/bucket`, {
    body: JSON.stringify({
      bucket: "data-bucket",
      endpoint: "http://127.0.0.1:9",
      region: "auto",
      forcePathStyle: true,
    }),
  });
  expect(res.status).toBe(201);
}

/** A body with no Content-Length: the Worker sees a chunked request. */
export function chunkedBody(bytes: Uint8Array, chunk = 65536): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export async function sha256(data: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** How many R2 objects the share's blobs occupy. */
export async function r2Count(prefix: string): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await env.BLOBS.list({ prefix, cursor });
    n += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return n;
}

/**
 * How many multipart uploads under the prefix R2 still holds open (dev
 * route): their parts are stored although `list()` shows no object.
 */
export async function unfinishedUploads(prefix: string): Promise<number> {
  const res = await api("GET", `/_dev/r2-count?prefix=${encodeURIComponent(prefix)}`);
  expect(res.status).toBe(200);
  return (await json<{ unfinishedUploads: number }>(res)).unfinishedUploads;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits out the GC grace (1 s in tests) and runs the share's alarm until
 * nothing is left due — background tree work, GC — as Cloudflare would
 * over time. Bounded. Where a retention window keeps history
 * (`keepsHistory`), dead rows and deleted subtrees it keeps are not waited for.
 */
export async function runAllGc(
  share: string,
  environment = "main",
  keepsHistory = false,
): Promise<void> {
  await sleep(1100);
  const s = stub(share, environment);
  for (let i = 0; i < 200; i++) {
    const { gc, pending, doomed, retired, copies } = await s.usage();
    const history = keepsHistory ? 0 : doomed + retired;
    if (gc === 0 && pending === 0 && history === 0 && copies === 0) return;
    if (!(await runDurableObjectAlarm(s))) {
      // Blobs a delete released wait out the grace before they are due.
      if (gc > 0) await sleep(200);
      else return;
    }
  }
  throw new Error("background work and GC did not finish in 200 alarm runs");
}

/**
 * Rebuilds a share's SQLite as a deployment at schema `version` had it:
 * every table dropped, the first `version` migrations run, and the share
 * row put back with only the columns that schema had. What the object's
 * constructor runs next (`migrate`) is then the upgrade under test.
 */
export function rebuildAtSchemaVersion(sql: SqlStorage, version: number): void {
  const share = sql.exec("SELECT * FROM share").one();
  const tables = sql
    .exec<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .toArray();
  for (const { name } of tables) sql.exec(`DROP TABLE "${name}"`);
  for (const step of MIGRATIONS.slice(0, version)) sql.exec(step);
  sql.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
  sql.exec("INSERT INTO schema_version (version) VALUES (?)", version);
  const cols = sql
    .exec<{ name: string }>("SELECT name FROM pragma_table_info('share')")
    .toArray()
    .map((c) => c.name);
  sql.exec(
    `INSERT INTO share (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
    ...cols.map((c) => share[c] ?? null),
  );
}
