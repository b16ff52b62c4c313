import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { migrate } from "../../src/durable/schema";
import { api, bytesOf, json, newShare, put, rebuildAtSchemaVersion, sha256, stub } from "./helpers";

// Inline files (≤ 64 KiB) live in the share's SQLite. A copy must share their
// bytes by reference, as it does for R2 blobs, or copies multiply storage.

const FILE = 60_000; // inline, and large enough that a duplicate shows in the database size
const TREE: Record<string, Uint8Array> = {
  "a.bin": bytesOf(FILE, 1),
  "b.bin": bytesOf(FILE, 2),
  "sub/c.bin": bytesOf(FILE, 3),
  "sub/note.txt": new TextEncoder().encode("a small note"),
};
const TREE_BYTES = Object.values(TREE).reduce((n, b) => n + b.byteLength, 0);

function copy(share: string, body: Record<string, unknown>) {
  return api("POST", `/v1/shares/${share}/copy`, { body: JSON.stringify(body) });
}

async function writeTree(share: string, dir: string): Promise<void> {
  for (const [name, bytes] of Object.entries(TREE)) {
    expect((await put(share, `${dir}/${name}`, bytes)).status).toBe(201);
  }
}

/** The bytes and ETag a client reads back. */
async function read(share: string, path: string): Promise<{ sha: string; etag: string | null }> {
  const res = await api("GET", `/v1/shares/${share}/files${path}`);
  expect(res.status).toBe(200);
  return { sha: await sha256(await res.arrayBuffer()), etag: res.headers.get("etag") };
}

async function expectTree(share: string, dir: string): Promise<void> {
  for (const [name, bytes] of Object.entries(TREE)) {
    expect((await read(share, `${dir}/${name}`)).sha).toBe(await sha256(bytes));
  }
}

/** What the share's SQLite holds: file size, and the inline bytes kept. */
function storage(share: string) {
  return runInDurableObject(stub(share), (_instance, state) => {
    const sql = state.storage.sql;
    const kept = sql
      .exec<{ rows: number; bytes: number | null; refs: number | null }>(
        "SELECT COUNT(*) AS rows, SUM(length(data)) AS bytes, SUM(refs) AS refs FROM inline_data",
      )
      .one();
    const referencing = sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM nodes WHERE inline_id IS NOT NULL")
      .one().n;
    return {
      size: sql.databaseSize,
      rows: kept.rows,
      bytes: kept.bytes ?? 0,
      refs: kept.refs ?? 0,
      referencing,
    };
  });
}

function databaseSize(share: string): Promise<number> {
  return runInDurableObject(stub(share), (_instance, state) => state.storage.sql.databaseSize);
}

describe("inline files are shared by reference", () => {
  it("14 recursive copies grow the database by rows, not by the inline bytes", async () => {
    const s = await newShare();
    await writeTree(s, "/t");
    const before = await databaseSize(s);
    for (let i = 0; i < 14; i++) {
      expect((await copy(s, { from: "/t", to: `/c${i}`, recursive: true })).status).toBe(201);
    }
    const after = await databaseSize(s);
    // Duplicated bytes would add 14 × 180 kB; rows and index entries are a few kB.
    expect(after - before).toBeLessThan(FILE);
    expect(await storage(s)).toMatchObject({
      rows: 4,
      bytes: TREE_BYTES,
      refs: 60,
      referencing: 60,
    });
    const source = await read(s, "/t/a.bin");
    for (let i = 0; i < 14; i++) {
      await expectTree(s, `/c${i}`);
      expect((await read(s, `/c${i}/a.bin`)).etag).toBe(source.etag);
    }
  });

  it("overwriting or deleting one copy leaves every other copy intact", async () => {
    const s = await newShare();
    await writeTree(s, "/t");
    for (const to of ["/c1", "/c2", "/c3"]) await copy(s, { from: "/t", to, recursive: true });
    await copy(s, { from: "/t/a.bin", to: "/single" });

    const fresh = bytesOf(FILE, 99);
    await put(s, "/c1/a.bin", fresh); // overwrite one copy
    await api("DELETE", `/v1/shares/${s}/files/c2?recursive=true`); // delete a whole copy
    await api("DELETE", `/v1/shares/${s}/files/c3/b.bin`); // delete one file of a copy
    // Copying over an existing inline file replaces its reference.
    await copy(s, { from: "/t/b.bin", to: "/single", overwrite: true });
    await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/c3", to: "/moved" }),
    });

    await expectTree(s, "/t");
    expect((await read(s, "/c1/a.bin")).sha).toBe(await sha256(fresh));
    expect((await read(s, "/c1/b.bin")).sha).toBe(await sha256(TREE["b.bin"] as Uint8Array));
    expect((await read(s, "/moved/a.bin")).sha).toBe(await sha256(TREE["a.bin"] as Uint8Array));
    expect((await api("GET", `/v1/shares/${s}/files/moved/b.bin`)).status).toBe(404);
    expect((await read(s, "/single")).sha).toBe(await sha256(TREE["b.bin"] as Uint8Array));
    const kept = await storage(s);
    expect(kept).toMatchObject({ rows: 5, bytes: TREE_BYTES + FILE });
    expect(kept.refs).toBe(kept.referencing);
  });

  it("deleting every copy frees the bytes; so does overwriting with an R2-sized file", async () => {
    const s = await newShare();
    await writeTree(s, "/t");
    await copy(s, { from: "/t", to: "/c", recursive: true });
    await api("DELETE", `/v1/shares/${s}/files/t?recursive=true`);
    expect(await storage(s)).toMatchObject({ rows: 4, bytes: TREE_BYTES });
    await api("DELETE", `/v1/shares/${s}/files/c/sub?recursive=true`);
    expect(await storage(s)).toMatchObject({ rows: 2, bytes: 2 * FILE });
    await put(s, "/c/a.bin", bytesOf(70_000, 5)); // now an R2 blob
    expect(await storage(s)).toMatchObject({ rows: 1, bytes: FILE });
    await api("DELETE", `/v1/shares/${s}/files/?recursive=true`);
    expect(await storage(s)).toMatchObject({ rows: 0, bytes: 0, referencing: 0 });
  });

  it("deleting the share frees its inline bytes", async () => {
    const s = await newShare();
    await writeTree(s, "/t");
    await copy(s, { from: "/t", to: "/c", recursive: true });
    expect((await api("DELETE", `/v1/shares/${s}`)).status).toBe(204);
    expect(await storage(s)).toMatchObject({ rows: 0, bytes: 0 });
  });

  it("empty files need no stored bytes", async () => {
    const s = await newShare();
    await put(s, "/empty", "");
    await copy(s, { from: "/empty", to: "/empty2" });
    expect((await read(s, "/empty2")).sha).toBe(await sha256(new Uint8Array(0)));
    expect(await storage(s)).toMatchObject({ rows: 0, bytes: 0 });
  });
});

/** The last schema version that kept inline bytes in `entries.data`. */
const BEFORE_INLINE_REFS = 6;

describe("migrating a share that kept inline bytes in its entries", () => {
  it("keeps every file readable byte-for-byte with its ETag, and stores copies once", async () => {
    const s = await newShare();
    const A = bytesOf(FILE, 11);
    const MAX = bytesOf(64 * 1024, 12);
    const files: Record<string, { etag: string; data: Uint8Array | null; size: number }> = {
      "/old/a": { etag: '"old-a"', data: A, size: FILE },
      "/old/copy/a": { etag: '"old-a"', data: A, size: FILE }, // a copy: same version
      "/old/same-bytes": { etag: '"old-s"', data: A, size: FILE }, // same bytes, own version
      "/old/max": { etag: '"old-m"', data: MAX, size: MAX.byteLength },
      "/old/text": { etag: '"old-t"', data: new TextEncoder().encode("hello"), size: 5 },
      "/old/empty": { etag: '"old-e"', data: new Uint8Array(0), size: 0 },
      "/old/null": { etag: '"old-n"', data: null, size: 0 },
    };
    await runInDurableObject(stub(s), (_instance, state) => {
      const sql = state.storage.sql;
      // Rebuild the share as a deployment before this change laid it out.
      rebuildAtSchemaVersion(sql, BEFORE_INLINE_REFS);
      for (const dir of ["/old", "/old/copy"]) {
        const parent = dir.slice(0, dir.lastIndexOf("/")) || "/";
        sql.exec(
          "INSERT INTO entries (path, parent, name, type, size, mtime) VALUES (?, ?, ?, 'directory', 0, 1)",
          dir,
          parent,
          dir.slice(dir.lastIndexOf("/") + 1),
        );
      }
      for (const [path, f] of Object.entries(files)) {
        sql.exec(
          `INSERT INTO entries (path, parent, name, type, size, mtime, etag, blob_id, data)
           VALUES (?, ?, ?, 'file', ?, 1, ?, NULL, ?)`,
          path,
          path.slice(0, path.lastIndexOf("/")),
          path.slice(path.lastIndexOf("/") + 1),
          f.size,
          f.etag,
          f.data === null ? null : f.data.slice().buffer,
        );
      }
      // What the object's constructor runs on its next start.
      migrate(sql);
    });

    for (const [path, f] of Object.entries(files)) {
      const back = await read(s, path);
      expect(back).toEqual({ sha: await sha256(f.data ?? new Uint8Array(0)), etag: f.etag });
    }
    const stat = await json<{ size: number; etag: string }>(
      await api("GET", `/v1/shares/${s}/stat/old/max`),
    );
    expect(stat).toMatchObject({ size: MAX.byteLength, etag: '"old-m"' });
    // The copy shares its row; a distinct version with equal bytes keeps its own.
    const kept = await storage(s);
    expect(kept).toMatchObject({ rows: 4, refs: 5, referencing: 5 });
    expect(kept.bytes).toBe(2 * FILE + MAX.byteLength + 5);

    // The migrated references behave like new ones.
    await put(s, "/old/a", "replaced");
    expect((await read(s, "/old/copy/a")).sha).toBe(await sha256(A));
    await api("DELETE", `/v1/shares/${s}/files/old?recursive=true`);
    expect(await storage(s)).toMatchObject({ rows: 0, bytes: 0, referencing: 0 });
  });
});
