import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { newShare, put, TOKEN } from "./helpers";

/**
 * EDGEFS_SUBREQUEST_BUDGET: a request never needs more Cloudflare
 * subrequests than it allows. Local workerd enforces no limit, so these
 * tests set a tiny budget and watch edgefs keep to it: refused up front,
 * or a listing that ends with a cursor, never a request that fails
 * half-done.
 */

const app = createApp();

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
