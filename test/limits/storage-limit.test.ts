import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { FsPath } from "../../src/core/paths";
import {
  api,
  bytesOf,
  expectError,
  json,
  newShare,
  put,
  runAllGc,
  sha256,
  stub,
} from "../worker/helpers";

// vitest.limits.config.ts: a share's Durable Object may hold 2,000,000 bytes.
// Small files leave SQLite for R2 from 80 % of it; changes that add metadata
// are refused with 507 ENOSPC from 95 %.
const LIMIT = 2_000_000;

/** As if the hour of retention had passed for every version so far; the alarm then prunes. */
const outOfWindow = (share: string) =>
  runInDurableObject(stub(share), (_i, state) => {
    state.storage.sql.exec("UPDATE versions SET at = at - 3700000");
    return state.storage.setAlarm(Date.now());
  });

const databaseSize = (share: string) =>
  runInDurableObject(stub(share), (_i, state) => state.storage.sql.databaseSize);

describe("a share near its Durable Object storage limit", () => {
  it("stops inlining small files, refuses new metadata with 507, and recovers after deletes", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    // 60 KiB files are inline while there is room, then go to R2; all read back.
    const written: Record<string, string> = {};
    for (let i = 0; i < 40; i++) {
      const body = bytesOf(60 * 1024, i + 1);
      expect((await put(s, `/small/${i}`, body)).status).toBe(201);
      written[`/small/${i}`] = await sha256(body);
    }
    const spilled = (await stub(s).usage()).blobs;
    expect(spilled).toBeGreaterThan(0);
    expect(spilled).toBeLessThan(40);
    expect(await databaseSize(s)).toBeLessThan(LIMIT * 0.95);
    const info = await json<{
      usage: { inlineBytes: number; bytes: number };
      storage: { limit: number };
    }>(await api("GET", `/v1/shares/${s}`));
    expect(info.storage.limit).toBe(LIMIT);
    expect(info.usage.bytes).toBe(40 * 60 * 1024);
    expect(info.usage.inlineBytes).toBe((40 - spilled) * 60 * 1024);

    // Fill the metadata (names of 200 bytes) past 95 %.
    for (let i = 0; i < 20 && (await databaseSize(s)) < LIMIT * 0.95; i++) {
      await stub(s).seed({ dir: `/names/${i}` as FsPath, count: 1000, prefix: "n".repeat(200) });
    }
    expect(await databaseSize(s)).toBeGreaterThanOrEqual(LIMIT * 0.95);
    await expectError(await put(s, "/one-more", "x"), 507, "ENOSPC");
    await expectError(await api("PUT", `/v1/shares/${s}/files/newdir/`), 507, "ENOSPC");
    await expectError(
      await api("POST", `/v1/shares/${s}/copy`, {
        body: JSON.stringify({ from: "/small/0", to: "/c" }),
      }),
      507,
      "ENOSPC",
    );
    // Nothing lost; what adds no metadata still works: overwrite, move, delete.
    for (const [path, sha] of Object.entries(written)) {
      const res = await api("GET", `/v1/shares/${s}/files${path}`);
      expect(res.status).toBe(200);
      expect(await sha256(await res.arrayBuffer())).toBe(sha);
    }
    expect((await put(s, "/small/39", bytesOf(60 * 1024, 99))).status).toBe(200);
    const moved = await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/small/0", to: "/small/zero" }),
    });
    expect(moved.status).toBe(200);
    expect((await api("DELETE", `/v1/shares/${s}/files/names?recursive=true`)).status).toBe(204);
    // The retention window (an hour here) keeps what was deleted: still full.
    await runAllGc(s, "main", true);
    await expectError(await put(s, "/one-more", "x"), 507, "ENOSPC");
    // An hour later (commit times moved back) the deleted rows are reclaimed.
    await outOfWindow(s);
    await runAllGc(s, "main", true);
    // Room for metadata again at once; for inline bytes once the small files go too.
    expect((await put(s, "/first-again", "x")).status).toBe(201);
    expect((await api("DELETE", `/v1/shares/${s}/files/small?recursive=true`)).status).toBe(204);
    await outOfWindow(s);
    await runAllGc(s, "main", true);
    expect(await databaseSize(s)).toBeLessThan(LIMIT * 0.8);
    // A new small file is inline once more.
    const blobsBefore = (await stub(s).usage()).blobs;
    expect((await put(s, "/one-more", "x")).status).toBe(201);
    expect((await put(s, "/inline-again", bytesOf(1024, 7))).status).toBe(201);
    expect((await stub(s).usage()).blobs).toBe(blobsBefore);
  });
});
