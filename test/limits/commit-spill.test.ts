import { describe, expect, it } from "vitest";
import { api, bytesOf, json, newShare, put, sha256, stub } from "../worker/helpers";

// vitest.limits.config.ts: a share's Durable Object may hold 2,000,000 bytes;
// small files leave SQLite for R2 from 80 % of it.
const b64 = (u8: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000)
    s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
};

describe("a batch commit on a share near its storage limit", () => {
  it("stores its small contents in R2 instead of SQLite, still one version, byte-identical", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    // Fill until single writes spill to R2.
    for (let i = 0; i < 40 && (await stub(s).usage()).blobs === 0; i++) {
      expect((await put(s, `/fill/${i}`, bytesOf(60 * 1024, i + 1))).status).toBe(201);
    }
    const blobsBefore = (await stub(s).usage()).blobs;
    expect(blobsBefore).toBeGreaterThan(0);
    const version = async () =>
      (await json<{ version: number }>(await api("GET", `/v1/shares/${s}`))).version;
    const before = await version();
    const files = [bytesOf(10, 1), bytesOf(1000, 2), bytesOf(0, 3)];
    const res = await api("POST", `/v1/shares/${s}/commit`, {
      body: JSON.stringify({
        ops: files.map((bytes, i) => ({ op: "put", path: `/batch/${i}`, content: b64(bytes) })),
      }),
    });
    expect(res.status).toBe(200);
    expect((await json<{ version: number }>(res)).version).toBe(before + 1);
    // The two non-empty contents went to R2; the empty file stores nothing.
    expect((await stub(s).usage()).blobs).toBe(blobsBefore + 2);
    for (const [i, bytes] of files.entries()) {
      const got = await api("GET", `/v1/shares/${s}/files/batch/${i}`);
      expect(got.status).toBe(200);
      expect(await sha256(await got.arrayBuffer())).toBe(await sha256(bytes));
    }
  });
});
