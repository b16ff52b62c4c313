import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { FsPath } from "../../src/core/paths";
import {
  api,
  bytesOf,
  expectError,
  getText,
  json,
  newShare,
  put,
  r2Count,
  runAllGc,
  sha256,
  shareId,
  stub,
} from "./helpers";

// These tests run with EDGEFS_VERSION_RETENTION_SECONDS=0 (vitest.config.ts):
// only snapshots keep older versions readable. test/limits/versions.test.ts
// reads versions inside a retention window.

const snap = (share: string, body: unknown) =>
  api("POST", `/v1/shares/${share}/snapshots`, { body: JSON.stringify(body) });

async function version(share: string): Promise<number> {
  return (await json<{ version: number }>(await api("GET", `/v1/shares/${share}`))).version;
}

async function names(share: string, path: string, query: string): Promise<string[]> {
  const res = await api(
    "GET",
    `/v1/shares/${share}/list${path}?recursive=true&limit=10000&${query}`,
  );
  expect(res.status).toBe(200);
  return (await json<{ entries: { path: string }[] }>(res)).entries.map((e) => e.path).sort();
}

function rowCount(share: string) {
  return runInDurableObject(
    stub(share),
    (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM nodes").one().n,
  );
}

describe("snapshots", () => {
  it("keep a version exactly readable through later overwrites, moves and deletes, until deleted", async () => {
    const s = await newShare();
    const big = bytesOf(100_000, 7);
    await put(s, "/docs/a.txt", "alpha");
    await put(s, "/docs/big.bin", big);
    await stub(s).seed({ dir: "/many" as FsPath, count: 300, prefix: "f", content: "m" });
    const before = await names(s, "/", "");
    const res = await snap(s, { name: "before" });
    expect(res.status).toBe(201);
    const taken = await json<{ name: string; version: number; createdAt: number }>(res);
    expect(taken).toMatchObject({ name: "before", version: await version(s) });

    await put(s, "/docs/a.txt", "changed");
    await put(s, "/docs/big.bin", "small now");
    await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/docs", to: "/archive/docs" }),
    });
    expect((await api("DELETE", `/v1/shares/${s}/files/many?recursive=true`)).status).toBe(204);
    await put(s, "/new.txt", "new");
    await runAllGc(s);

    // The snapshot sees exactly the tree it was taken of, and says which version it read.
    expect(await names(s, "/", "snapshot=before")).toEqual(before);
    const a = await api("GET", `/v1/shares/${s}/files/docs/a.txt?snapshot=before`);
    expect(a.headers.get("edgefs-version")).toBe(String(taken.version));
    expect(await a.text()).toBe("alpha");
    const b = await api("GET", `/v1/shares/${s}/files/docs/big.bin?snapshot=before`);
    expect(await sha256(await b.arrayBuffer())).toBe(await sha256(big));
    const stat = await api("GET", `/v1/shares/${s}/stat/many/f00000299?snapshot=before`);
    expect(stat.status).toBe(200);
    await expectError(
      await api("GET", `/v1/shares/${s}/stat/new.txt?snapshot=before`),
      404,
      "ENOENT",
    );
    const glob = await api("GET", `/v1/shares/${s}/list/many/f0000029*?snapshot=before`);
    expect((await json<{ entries: unknown[] }>(glob)).entries).toHaveLength(10);
    // The latest tree is untouched by it.
    expect(await getText(s, "/archive/docs/a.txt")).toBe("changed");
    await expectError(await api("GET", `/v1/shares/${s}/stat/many`), 404, "ENOENT");

    // Listed; deleting it lets everything only it kept go.
    const list = await json<{ snapshots: { name: string }[] }>(
      await api("GET", `/v1/shares/${s}/snapshots`),
    );
    expect(list.snapshots.map((x) => x.name)).toEqual(["before"]);
    expect((await api("DELETE", `/v1/shares/${s}/snapshots/before`)).status).toBe(204);
    await runAllGc(s);
    await expectError(
      await api("GET", `/v1/shares/${s}/files/docs/a.txt?snapshot=before`),
      404,
      "ENOENT",
    );
    // What is left: /archive, /archive/docs, its two files, /new.txt, and the root.
    expect(await rowCount(s)).toBe(6);
    expect(await r2Count(`blobs/${await shareId(s)}/`)).toBe(0);
  });

  it("are taken in constant time: one row, whatever the tree holds", async () => {
    const s = await newShare();
    await stub(s).seed({ dir: "/d" as FsPath, count: 5000, prefix: "f", content: "x" });
    const rows = await rowCount(s);
    expect((await snap(s, { name: "s1" })).status).toBe(201);
    expect(await rowCount(s)).toBe(rows);
  });

  it("refuse bad names, duplicates, unknown snapshots and versions out of reach", async () => {
    const s = await newShare();
    await put(s, "/a", "1");
    for (const body of [{ name: ".hidden" }, { name: "a/b" }, {}, { name: "x", version: -1 }]) {
      await expectError(await snap(s, body), 400, "EINVAL");
    }
    expect((await snap(s, { name: "one" })).status).toBe(201);
    await expectError(await snap(s, { name: "one" }), 409, "EEXIST");
    const old = (await version(s)) - 1;
    await put(s, "/a", "2");
    // No retention window here: an older version is gone unless a snapshot keeps it.
    await expectError(await snap(s, { name: "two", version: old }), 410, "EEXPIRED");
    await expectError(await api("GET", `/v1/shares/${s}/files/a?version=${old}`), 410, "EEXPIRED");
    await expectError(await api("GET", `/v1/shares/${s}/files/a?snapshot=nope`), 404, "ENOENT");
    await expectError(await api("DELETE", `/v1/shares/${s}/snapshots/nope`), 404, "ENOENT");
    await expectError(
      await api("GET", `/v1/shares/${s}/files/a?version=1&snapshot=one`),
      400,
      "EINVAL",
    );
    await expectError(await api("GET", `/v1/shares/${s}/stat/a?version=x`), 400, "EINVAL");
    await expectError(
      await api("GET", `/v1/shares/${s}/stat/a?version=${(await version(s)) + 5}`),
      410,
      "EEXPIRED",
    );
    // The latest version is always readable by number.
    const latest = await api("GET", `/v1/shares/${s}/files/a?version=${await version(s)}`);
    expect(await latest.text()).toBe("2");
  });

  it("die with their share: a share created again under the name has none", async () => {
    const s = await newShare();
    await put(s, "/a", "old share");
    expect((await snap(s, { name: "keep" })).status).toBe(201);
    const v = await version(s);
    expect((await api("DELETE", `/v1/shares/${s}`)).status).toBe(204);
    expect((await api("PUT", `/v1/shares/${s}`)).status).toBe(201);
    await expectError(await api("GET", `/v1/shares/${s}/files/a?snapshot=keep`), 404, "ENOENT");
    await expectError(await api("GET", `/v1/shares/${s}/files/a?version=${v}`), 410, "EEXPIRED");
  });
});
