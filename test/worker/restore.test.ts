import { describe, expect, it } from "vitest";
import type { FsPath } from "../../src/core/paths";
import {
  api,
  bytesOf,
  json,
  newShare,
  put,
  r2Count,
  runAllGc,
  sha256,
  shareId,
  stub,
} from "./helpers";

// EDGEFS_VERSION_RETENTION_SECONDS=0 here (vitest.config.ts): only a
// snapshot keeps what a restore brings back. test/limits/history.test.ts
// restores from versions inside a retention window.

describe("restore from a snapshot without a retention window", () => {
  it("brings back a deleted subtree byte-identical after GC ran, and its bytes are freed once nothing needs them", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const big = bytesOf(200_000, 11);
    await put(s, "/data/big.bin", big);
    await stub(s).seed({ dir: "/data/parts" as FsPath, count: 150, prefix: "p", content: "part" });
    const snap = await api("POST", `/v1/shares/${s}/snapshots`, {
      body: JSON.stringify({ name: "kept" }),
    });
    expect(snap.status).toBe(201);
    expect((await api("DELETE", `/v1/shares/${s}/files/data?recursive=true`)).status).toBe(204);
    await runAllGc(s, "main", true);
    // The snapshot kept the blob through GC.
    expect(await r2Count(`blobs/${id}/`)).toBe(1);

    const res = await api("POST", `/v1/shares/${s}/restore`, {
      body: JSON.stringify({ path: "/data", snapshot: "kept" }),
    });
    expect(res.status).toBe(200);
    const got = await api("GET", `/v1/shares/${s}/files/data/big.bin`);
    expect(await sha256(await got.arrayBuffer())).toBe(await sha256(big));
    const list = await json<{ entries: unknown[] }>(
      await api("GET", `/v1/shares/${s}/list/data/parts?limit=1000`),
    );
    expect(list.entries).toHaveLength(150);

    // With the snapshot gone and the files deleted again, nothing is left.
    expect((await api("DELETE", `/v1/shares/${s}/snapshots/kept`)).status).toBe(204);
    expect((await api("DELETE", `/v1/shares/${s}/files/data?recursive=true`)).status).toBe(204);
    await runAllGc(s);
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
    expect((await stub(s).usage()).entries).toBe(0);
  });
});
