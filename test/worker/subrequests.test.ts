import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import {
  bytesOf,
  chunkedBody,
  expectError,
  json,
  newShare,
  put,
  runAllGc,
  sha256,
  shareId,
  TOKEN,
  unfinishedUploads,
} from "./helpers";

/**
 * EDGEFS_SUBREQUEST_BUDGET: a request never needs more Cloudflare
 * subrequests than it allows. Local workerd enforces no limit, so these
 * tests set a tiny budget and watch edgefs keep to it: refused up front,
 * or a listing that ends with a cursor, never a request that fails
 * half-done.
 */

const app = createApp();
const MiB = 1024 * 1024;

/** The Worker with the budget set to `budget`, called like a client would. */
async function withBudget(
  budget: number,
  method: string,
  path: string,
  init: { body?: BodyInit | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${TOKEN}`);
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`http://edgefs.test${path}`, { method, headers, body: init.body ?? null }),
    { ...env, EDGEFS_SUBREQUEST_BUDGET: String(budget) },
    ctx,
  );
  // The body first: a streamed answer may still be working.
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, { status: res.status, headers: res.headers });
}

describe("subrequest budget", () => {
  // 5 set aside for lookups; a chunked body takes 3 to start, 3 a part and 4 to finish:
  // 19 stores two 10 MiB parts, not three.
  const BUDGET = 19;

  it("a chunked PUT that grows past what the budget stores is 413, and the old file stays", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    const old = bytesOf(15 * MiB, 7);
    const first = await withBudget(BUDGET, "PUT", `/v1/shares/${s}/files/big.bin`, {
      body: chunkedBody(old, MiB),
    });
    expect(first.status).toBe(201);

    const bigger = bytesOf(25 * MiB, 8);
    const res = await withBudget(BUDGET, "PUT", `/v1/shares/${s}/files/big.bin`, {
      body: chunkedBody(bigger, MiB),
    });
    const error = await expectError(res, 413, "ETOOLARGE");
    expect(error.message).toContain("grew past 2 parts (20 MiB)");
    expect(error.message).toContain("budget of 19 subrequests (EDGEFS_SUBREQUEST_BUDGET)");
    expect(error.message).toContain("send Content-Length");

    const back = await withBudget(BUDGET, "GET", `/v1/shares/${s}/files/big.bin`);
    expect(back.status).toBe(200);
    expect(await sha256(await back.arrayBuffer())).toBe(await sha256(old));
    // The refused upload was aborted: once GC has run, R2 holds no part of it.
    await runAllGc(s);
    expect(await unfinishedUploads(`blobs/${await shareId(s)}/`)).toBe(0);
  });

  it("a body with Content-Length is one put, whatever the budget's parts", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    const body = bytesOf(25 * MiB, 9);
    const res = await withBudget(BUDGET, "PUT", `/v1/shares/${s}/files/known.bin`, {
      body,
      headers: { "content-length": String(body.byteLength) },
    });
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ size: body.byteLength });
  });

  it("a streamed listing ends with a cursor where the budget ends; the next request goes on", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    const names = Array.from({ length: 2100 }, (_, i) => `e${String(i).padStart(5, "0")}`);
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(names.slice(i, i + 100).map((n) => put(s, `/nd/${n}`, "")));
    }
    // 5 for lookups and two pages of 1,000.
    const ndjson = { accept: "application/x-ndjson" };
    const first = await withBudget(7, "GET", `/v1/shares/${s}/list/nd`, { headers: ndjson });
    expect(first.status).toBe(200);
    const lines = (await first.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { path?: string; cursor?: string });
    expect(lines).toHaveLength(2001);
    const cursor = lines[2000]?.cursor;
    expect(cursor).toBeDefined();
    const rest = await withBudget(7, "GET", `/v1/shares/${s}/list/nd?cursor=${cursor}`, {
      headers: ndjson,
    });
    const more = (await rest.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { path?: string });
    expect([...lines.slice(0, 2000), ...more].map((e) => e.path)).toEqual(names);
  });
});
