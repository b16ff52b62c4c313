import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/durable/schema";
import { api, bytesOf, expectError, json, newShare, put, settle, stub } from "../worker/helpers";

// vitest.limits.config.ts: replaced versions stay readable for an hour.

interface Info {
  version: number;
  usage: { bytes: number; historyBytes: number };
}
const info = async (s: string) => json<Info>(await api("GET", `/v1/shares/${s}`));
const move = (s: string, from: string, to: string) =>
  api("POST", `/v1/shares/${s}/move`, { body: JSON.stringify({ from, to }) });
const snap = (s: string, name: string) =>
  api("POST", `/v1/shares/${s}/snapshots`, { body: JSON.stringify({ name }) });

/** Every version so far leaves the window (commit times moved back past the hour). */
async function age(s: string): Promise<void> {
  await runInDurableObject(stub(s), (_i, state) => {
    state.storage.sql.exec("UPDATE versions SET at = at - 3700000");
  });
}

describe("usage.historyBytes", () => {
  it("counts overwritten and deleted versions, not a rename, and drops them as they leave the window", async () => {
    const s = await newShare();
    await put(s, "/a.txt", "12345");
    await put(s, "/a.txt", "1234567");
    expect((await info(s)).usage).toMatchObject({ bytes: 7, historyBytes: 5 });
    expect((await move(s, "/a.txt", "/b.txt")).status).toBe(200);
    expect((await info(s)).usage).toMatchObject({ bytes: 7, historyBytes: 5 });
    expect((await api("DELETE", `/v1/shares/${s}/files/b.txt`)).status).toBe(204);
    expect((await info(s)).usage).toMatchObject({ bytes: 0, historyBytes: 12 });
    await put(s, "/d/one", "abc");
    await put(s, "/d/two", "defg");
    expect((await api("DELETE", `/v1/shares/${s}/files/d?recursive=true`)).status).toBe(204);
    expect((await info(s)).usage).toMatchObject({ bytes: 0, historyBytes: 19 });
    await age(s);
    await put(s, "/later", "x");
    await settle(s);
    expect((await info(s)).usage).toMatchObject({ bytes: 1, historyBytes: 0 });
  });

  it("counts a renamed file's version once when only its old name is still needed", async () => {
    const s = await newShare();
    await put(s, "/a.txt", "123456");
    expect((await snap(s, "before")).status).toBe(201);
    expect((await move(s, "/a.txt", "/b.txt")).status).toBe(200);
    await age(s);
    // The renamed row leaves history at once (nothing reads it); the snapshot still reads /a.txt.
    expect((await api("DELETE", `/v1/shares/${s}/files/b.txt`)).status).toBe(204);
    await age(s);
    await put(s, "/later", "x");
    await settle(s);
    expect((await info(s)).usage.historyBytes).toBe(6);
    const old = await api("GET", `/v1/shares/${s}/files/a.txt?snapshot=before`);
    expect(await old.text()).toBe("123456");
    expect((await api("DELETE", `/v1/shares/${s}/snapshots/before`)).status).toBe(204);
    await settle(s);
    expect((await info(s)).usage.historyBytes).toBe(0);
  });

  it("keeps a directory moved under a deleted one for the snapshot that saw it where it was", async () => {
    const s = await newShare();
    const big = bytesOf(70_000, 9);
    await put(s, "/old/f.bin", big);
    expect((await snap(s, "s")).status).toBe(201);
    await put(s, "/top/t", "t");
    expect((await move(s, "/old", "/top/old")).status).toBe(200);
    expect((await api("DELETE", `/v1/shares/${s}/files/top?recursive=true`)).status).toBe(204);
    await age(s);
    await put(s, "/later", "x");
    await settle(s);
    const res = await api("GET", `/v1/shares/${s}/files/old/f.bin?snapshot=s`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(big);
  });
});

describe("the byte quota counts what history keeps", () => {
  it("gives no room back for deleted files until the snapshot goes, and says so; deletes always work", async () => {
    const s = await newShare();
    await api("PUT", `/v1/shares/${s}/quota`, { body: JSON.stringify({ bytes: 100 }) });
    await put(s, "/a", "a".repeat(60));
    expect((await snap(s, "keep")).status).toBe(201);
    expect((await api("DELETE", `/v1/shares/${s}/files/a`)).status).toBe(204);
    const refused = await expectError(await put(s, "/b", "b".repeat(60)), 507, "ENOSPC");
    expect(refused.message).toContain("of which 60 bytes are kept by history");
    expect(refused.message).toContain("delete snapshots");
    expect((await put(s, "/c", "c".repeat(40))).status).toBe(201);
    // At the quota, deleting still works (its version joins history).
    expect((await api("DELETE", `/v1/shares/${s}/files/c`)).status).toBe(204);
    expect((await info(s)).usage).toMatchObject({ bytes: 0, historyBytes: 100 });
    expect((await api("DELETE", `/v1/shares/${s}/snapshots/keep`)).status).toBe(204);
    await age(s);
    await put(s, "/later", "");
    await settle(s);
    expect((await put(s, "/b", "b".repeat(60))).status).toBe(201);
  });
});

describe("the migration to history bytes", () => {
  it("counts what an existing share's history keeps, as the share would have counted it", async () => {
    const s = await newShare();
    await put(s, "/a.txt", "12345");
    await put(s, "/a.txt", "1234567");
    expect((await move(s, "/a.txt", "/b.txt")).status).toBe(200);
    await put(s, "/d/one", "abc");
    await put(s, "/d/e/two", bytesOf(70_000, 4));
    expect((await api("DELETE", `/v1/shares/${s}/files/d?recursive=true`)).status).toBe(204);
    const counted = (await info(s)).usage.historyBytes;
    expect(counted).toBe(5 + 3 + 70_000);
    // The share as the schema before had it: no counter, no columns; then the upgrade.
    await runInDurableObject(stub(s), (_i, state) => {
      const sql = state.storage.sql;
      sql.exec("ALTER TABLE nodes DROP COLUMN history");
      sql.exec("ALTER TABLE doomed DROP COLUMN kept");
      sql.exec("ALTER TABLE dir_usage DROP COLUMN oldest");
      sql.exec("DELETE FROM counters WHERE name = 'history_bytes'");
      // That step alone: migrations appended after it must not be run twice.
      const step = MIGRATIONS.findIndex((m) => m.includes("ADD COLUMN history"));
      sql.exec(MIGRATIONS[step] as string);
    });
    expect((await info(s)).usage.historyBytes).toBe(counted);
    // And it counts down to nothing as the share frees it.
    await age(s);
    await put(s, "/later", "x");
    await settle(s);
    expect((await info(s)).usage).toMatchObject({ bytes: 8, historyBytes: 0 });
  });
});
