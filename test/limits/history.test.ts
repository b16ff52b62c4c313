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

// vitest.limits.config.ts: replaced versions stay readable for an hour, so
// every version these tests make is in the window. EDGEFS_BATCH_ROWS is 100:
// a subtree of more rows is restored by a background job.

interface PathVersion {
  version: number;
  type: string;
  size: number;
  etag?: string;
  mtime: number;
  deleted?: true;
}

async function version(share: string): Promise<number> {
  return (await json<{ version: number }>(await api("GET", `/v1/shares/${share}`))).version;
}

async function historyOf(share: string, path: string, query = "") {
  const res = await api("GET", `/v1/shares/${share}/history${path}${query}`);
  expect(res.status).toBe(200);
  return json<{ versions: PathVersion[]; cursor?: string }>(res);
}

const restore = (share: string, body: unknown, headers?: Record<string, string>) =>
  api("POST", `/v1/shares/${share}/restore`, { body: JSON.stringify(body), headers });

async function statOf(share: string, path: string, query = "") {
  const res = await api("GET", `/v1/shares/${share}/stat${path}${query}`);
  return {
    status: res.status,
    body: await json<{ etag?: string; size: number; mtime: number }>(res),
  };
}

async function bytes(share: string, path: string, query = ""): Promise<ArrayBuffer> {
  const res = await api("GET", `/v1/shares/${share}/files${path}${query}`);
  expect(res.status).toBe(200);
  return res.arrayBuffer();
}

async function listing(share: string, path: string, query = ""): Promise<string[]> {
  const res = await api(
    "GET",
    `/v1/shares/${share}/list${path}?recursive=true&limit=10000${query}`,
  );
  expect(res.status).toBe(200);
  const page = await json<{ entries: { path: string; etag?: string; size: number }[] }>(res);
  return page.entries.map((e) => `${e.path} ${e.size} ${e.etag ?? "-"}`).sort();
}

describe("history of a path", () => {
  it("lists every kept version newest first, with the deletions between them", async () => {
    const s = await newShare();
    await put(s, "/a.txt", "one");
    const v1 = await version(s);
    await put(s, "/other.txt", "unrelated");
    await put(s, "/a.txt", "second");
    const v2 = await version(s);
    expect((await api("DELETE", `/v1/shares/${s}/files/a.txt`)).status).toBe(204);
    const v3 = await version(s);
    await put(s, "/a.txt", "third!");
    const v4 = await version(s);

    const h = await historyOf(s, "/a.txt");
    expect(h.versions.map((v) => [v.version, v.deleted ?? false, v.size])).toEqual([
      [v4, false, 6],
      [v3, true, 6],
      [v2, false, 6],
      [v1, false, 3],
    ]);
    expect(h.cursor).toBeUndefined();
    // Each version's etag is the one a read at that version answers.
    const atV1 = await statOf(s, "/a.txt", `?version=${v1}`);
    expect(h.versions[3]?.etag).toBe(atV1.body.etag);
    expect(h.versions[0]?.etag).toBe((await statOf(s, "/a.txt")).body.etag);
  });

  it("pages with a cursor, no version twice or missed", async () => {
    const s = await newShare();
    const made: number[] = [];
    for (let i = 0; i < 7; i++) {
      await put(s, "/f", `v${i}`);
      made.push(await version(s));
    }
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await historyOf(s, "/f", `?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.versions.length).toBeLessThanOrEqual(3);
      seen.push(...page.versions.map((v) => v.version));
      cursor = page.cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([...made].reverse());
  });

  it("follows the path, not the node: a renamed directory leaves, another takes its place", async () => {
    const s = await newShare();
    await put(s, "/d/a.txt", "in d");
    const made = await version(s);
    await api("POST", `/v1/shares/${s}/move`, { body: JSON.stringify({ from: "/d", to: "/e" }) });
    const moved = await version(s);
    await put(s, "/d/a.txt", "new d");
    const remade = await version(s);

    const old = await historyOf(s, "/d/a.txt");
    expect(old.versions.map((v) => [v.version, v.deleted ?? false])).toEqual([
      [remade, false],
      [moved, true],
      [made, false],
    ]);
    // The file that moved appears at its new path from the move on.
    const renamed = await historyOf(s, "/e/a.txt");
    expect(renamed.versions.map((v) => [v.version, v.size])).toEqual([[moved, 4]]);
  });

  it("is empty for a path that never held anything; refuses a bad cursor", async () => {
    const s = await newShare();
    await put(s, "/x", "x");
    expect((await historyOf(s, "/never/was")).versions).toEqual([]);
    await expectError(await api("GET", `/v1/shares/${s}/history/x?cursor=abc`), 400, "EINVAL");
    await expectError(await api("GET", `/v1/shares/${s}/history/x?limit=0`), 400, "EINVAL");
    await expectError(await api("GET", `/v1/shares/nope-${Date.now()}/history/x`), 404, "ENOENT");
  });
});

describe("restore", () => {
  it("brings a deleted file back byte-identical, ETag and mtime as they were, as one new version", async () => {
    const s = await newShare();
    const big = bytesOf(150_000, 5);
    await put(s, "/docs/big.bin", big);
    await put(s, "/docs/small.txt", "small and inline");
    const kept = await version(s);
    const before = {
      big: (await statOf(s, "/docs/big.bin")).body,
      small: (await statOf(s, "/docs/small.txt")).body,
    };
    expect((await api("DELETE", `/v1/shares/${s}/files/docs?recursive=true`)).status).toBe(204);
    await runAllGc(s, "main", true);

    for (const name of ["big.bin", "small.txt"] as const) {
      const at = await version(s);
      const res = await restore(s, { path: `/docs/${name}`, version: kept });
      expect(res.status).toBe(200);
      const out = await json<{ version: number; entry: { path: string; etag: string } }>(res);
      expect(out.version).toBe(at + 1);
      expect(res.headers.get("edgefs-version")).toBe(String(out.version));
      expect(out.entry.path).toBe(`/docs/${name}`);
    }
    expect(await sha256(await bytes(s, "/docs/big.bin"))).toBe(await sha256(big));
    expect(new TextDecoder().decode(await bytes(s, "/docs/small.txt"))).toBe("small and inline");
    const after = {
      big: (await statOf(s, "/docs/big.bin")).body,
      small: (await statOf(s, "/docs/small.txt")).body,
    };
    expect(after).toEqual(before);
    // The history shows the deletion and the return.
    const h = await historyOf(s, "/docs/big.bin");
    expect(h.versions.map((v) => v.deleted ?? false)).toEqual([false, true, false]);
  });

  it("restores a subtree bigger than a batch (a background job) exactly as it was, replacing what is there", async () => {
    const s = await newShare();
    await stub(s).seed({ dir: "/tree/many" as FsPath, count: 250, prefix: "f", content: "seed" });
    await put(s, "/tree/blob.bin", bytesOf(80_000, 9));
    const kept = await version(s);
    const was = await listing(s, "/tree");
    await put(s, "/tree/many/f00000001", "overwritten");
    await api("DELETE", `/v1/shares/${s}/files/tree/many/f00000002`);
    await put(s, "/tree/added.txt", "added later");

    const res = await restore(s, { path: "/tree", version: kept });
    expect(res.status).toBe(200);
    expect(await listing(s, "/tree")).toEqual(was);
    expect(new TextDecoder().decode(await bytes(s, "/tree/many/f00000002"))).toBe("seed");
    const info = await json<{ usage: { files: number } }>(await api("GET", `/v1/shares/${s}`));
    expect(info.usage.files).toBe(251);
    await runAllGc(s, "main", true);
    expect(await listing(s, "/tree")).toEqual(was);
  });

  it("restores to another path, and from a snapshot", async () => {
    const s = await newShare();
    await put(s, "/cfg/app.json", '{"v":1}');
    const snap = await api("POST", `/v1/shares/${s}/snapshots`, {
      body: JSON.stringify({ name: "good" }),
    });
    expect(snap.status).toBe(201);
    await put(s, "/cfg/app.json", '{"v":2}');

    const copy = await restore(s, { path: "/cfg", snapshot: "good", to: "/restored/cfg" });
    expect(copy.status).toBe(200);
    expect(new TextDecoder().decode(await bytes(s, "/restored/cfg/app.json"))).toBe('{"v":1}');
    expect(new TextDecoder().decode(await bytes(s, "/cfg/app.json"))).toBe('{"v":2}');
  });

  it("restores the whole share to a version", async () => {
    const s = await newShare();
    await put(s, "/a/1.txt", "one");
    await put(s, "/b/2.txt", "two");
    const kept = await version(s);
    const was = await listing(s, "/");
    await api("DELETE", `/v1/shares/${s}/files/a?recursive=true`);
    await put(s, "/c.txt", "three");
    await put(s, "/b/2.txt", "changed");

    const res = await restore(s, { path: "/", version: kept });
    expect(res.status).toBe(200);
    expect(await listing(s, "/")).toEqual(was);
    // The version before the restore is still readable as it was.
    const before = (await json<{ version: number }>(res)).version - 1;
    expect((await statOf(s, "/c.txt", `?version=${before}`)).status).toBe(200);
    expect((await statOf(s, "/c.txt")).status).toBe(404);
  });

  it("refuses what it cannot do with the contract's errors, changing nothing", async () => {
    const s = await newShare();
    await put(s, "/a.txt", "a");
    const v = await version(s);
    await expectError(await restore(s, { path: "/a.txt" }), 400, "EINVAL");
    await expectError(
      await restore(s, { path: "/a.txt", version: v, snapshot: "x" }),
      400,
      "EINVAL",
    );
    await expectError(await restore(s, { path: "/nothing", version: v }), 404, "ENOENT");
    await expectError(await restore(s, { path: "/a.txt", snapshot: "missing" }), 404, "ENOENT");
    await expectError(await restore(s, { path: "/a.txt", version: v + 50 }), 410, "EEXPIRED");
    await expectError(await restore(s, { path: "/a.txt", version: v, to: "/" }), 409, "EISDIR");
    await expectError(
      await restore(s, { path: "/a.txt", version: v, to: "/a.txt/x" }),
      409,
      "ENOTDIR",
    );
    await expectError(await restore(s, { path: "../x", version: v }), 400, "EINVAL");
    expect(await version(s)).toBe(v);
  });

  it("is judged against the quota and leases like a write", async () => {
    const s = await newShare();
    await put(s, "/d/one.bin", bytesOf(60_000, 1));
    await put(s, "/d/two.bin", bytesOf(60_000, 2));
    const kept = await version(s);
    await api("DELETE", `/v1/shares/${s}/files/d?recursive=true`);
    await api("PUT", `/v1/shares/${s}/quota`, { body: JSON.stringify({ bytes: 100_000 }) });
    const v = await version(s);
    await expectError(await restore(s, { path: "/d", version: kept }), 507, "ENOSPC");
    expect((await statOf(s, "/d")).status).toBe(404);
    expect(await version(s)).toBe(v);

    await api("PUT", `/v1/shares/${s}/quota`, { body: JSON.stringify({ bytes: null }) });
    const lease = await json<{ leaseId: string }>(
      await api("POST", `/v1/shares/${s}/leases`, {
        body: JSON.stringify({ path: "/d", ttlSeconds: 60 }),
      }),
    );
    await expectError(await restore(s, { path: "/d", version: kept }), 423, "ELOCKED");
    const ok = await restore(s, { path: "/d", version: kept }, { "edgefs-lease": lease.leaseId });
    expect(ok.status).toBe(200);
  });
});
