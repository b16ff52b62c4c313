import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { FsPath } from "../../src/core/paths";
import {
  api,
  bytesOf,
  chunkedBody,
  expectError,
  getText,
  json,
  newShare,
  put,
  runAllGc,
  stub,
} from "./helpers";

// These tests run with EDGEFS_BATCH_ROWS=100 (vitest.config.ts): any subtree
// of 100 entries or more is deleted and copied by background batches.
const BATCH = 100;

interface Entry {
  path: string;
  type: string;
  size: number;
}

async function seed(share: string, dir: string, count: number, content = "v1", prefix = "f") {
  const r = await stub(share).seed({ dir: dir as FsPath, count, prefix, content });
  expect(r).toEqual({ ok: true, value: { files: count } });
}

async function usage(share: string) {
  const info = await json<{
    usage: {
      files: number;
      directories: number;
      bytes: number;
      inlineBytes: number;
      feedEvents: number;
      feedBytes: number;
    };
    quota: { bytes?: number; files?: number };
    version: number;
  }>(await api("GET", `/v1/shares/${share}`));
  return info;
}

async function listAll(share: string, path: string, recursive = false): Promise<Entry[]> {
  const out: Entry[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ limit: "1000" });
    if (recursive) q.set("recursive", "true");
    if (cursor) q.set("cursor", cursor);
    const res = await api("GET", `/v1/shares/${share}/list${path}?${q}`);
    expect(res.status).toBe(200);
    const body = await json<{ entries: Entry[]; cursor?: string }>(res);
    out.push(...body.entries);
    cursor = body.cursor;
    if (!cursor) return out;
  }
  throw new Error("listing did not end");
}

/** The rows the share's SQLite holds, and the inline rows' references. */
function rows(share: string) {
  return runInDurableObject(stub(share), (_i, state) => {
    const sql = state.storage.sql;
    const one = (q: string) => sql.exec<{ n: number | null }>(q).one().n ?? 0;
    return {
      nodes: one("SELECT COUNT(*) AS n FROM nodes WHERE parent > 0"),
      dead: one("SELECT COUNT(*) AS n FROM nodes WHERE died IS NOT NULL"),
      inlineRows: one("SELECT COUNT(*) AS n FROM inline_data"),
      inlineRefs: one("SELECT SUM(refs) AS n FROM inline_data"),
      blobs: one("SELECT COUNT(*) AS n FROM blobs"),
      blobRefs: one("SELECT SUM(refs) AS n FROM blobs"),
    };
  });
}

describe("recursive delete of a big tree", () => {
  it("is invisible at once, then reclaimed by bounded background batches", async () => {
    const s = await newShare();
    await seed(s, "/big/a", 600);
    await seed(s, "/big/b/c", 400);
    expect((await put(s, "/big/r2", bytesOf(70_000))).status).toBe(201);
    expect((await put(s, "/keep", "kept")).status).toBe(201);
    const before = await usage(s);
    expect(before.usage).toMatchObject({ files: 1002, directories: 4 });

    const res = await api("DELETE", `/v1/shares/${s}/files/big?recursive=true`);
    expect(res.status).toBe(204);
    // Gone for every reader in the same instant, totals included.
    await expectError(await api("GET", `/v1/shares/${s}/stat/big/a/f00000001`), 404, "ENOENT");
    expect((await listAll(s, "/")).map((e) => e.path)).toEqual(["keep"]);
    expect((await usage(s)).usage).toMatchObject({ files: 1, directories: 0, bytes: 4 });
    // The rows are still there: more than one batch, so the alarm frees them.
    expect((await stub(s).usage()).doomed).toBeGreaterThan(0);
    expect((await rows(s)).nodes).toBeGreaterThan(BATCH);

    // The name is free again at once, and what is written there stays.
    expect((await put(s, "/big/a/f00000001", "new")).status).toBe(201);
    await runAllGc(s);
    expect(await getText(s, "/big/a/f00000001")).toBe("new");
    expect(await getText(s, "/keep")).toBe("kept");
    const after = await rows(s);
    // /big, /big/a, its one new file, and /keep.
    expect(after).toMatchObject({ nodes: 4, dead: 0, blobs: 0 });
    expect(after.inlineRows).toBe(2);
  });

  it("resumes after a batch that crashed part way, freeing each reference exactly once", async () => {
    const s = await newShare();
    await seed(s, "/a", 300, "shared bytes");
    // A copy shares the inline row: 600 references to one row.
    expect(
      (
        await api("POST", `/v1/shares/${s}/copy`, {
          body: JSON.stringify({ from: "/a", to: "/b", recursive: true }),
        })
      ).status,
    ).toBe(201);
    expect(await rows(s)).toMatchObject({ inlineRows: 1, inlineRefs: 600 });
    // The delete, then a batch that dies in the middle (the object is reset):
    // its transaction rolls back. Inside the object, so no alarm interleaves.
    const crashed = await runInDurableObject(stub(s), (instance, state) => {
      // biome-ignore lint/suspicious/noExplicitAny: reaching into the object to crash a batch
      const o = instance as any;
      const refs = () =>
        state.storage.sql.exec<{ n: number }>("SELECT SUM(refs) AS n FROM inline_data").one().n;
      state.storage.transactionSync(() => {
        o.state.nodes.beginChange();
        o.changes.remove({ now: Date.now(), share: o.lifecycle.row() }, "/a", true, [], false);
      });
      const before = refs();
      try {
        state.storage.transactionSync(() => {
          o.state.nodes.beginChange();
          o.state.reclaim.step(BATCH, Date.now());
          throw new Error("reset mid-batch");
        });
      } catch (e) {
        return { error: (e as Error).message, before, after: refs() };
      }
      return { error: "no crash", before, after: refs() };
    });
    expect(crashed).toEqual({ error: "reset mid-batch", before: 600, after: 600 });
    await runAllGc(s);
    // Exactly the deleted half's references went; the copy reads intact.
    expect(await rows(s)).toMatchObject({ nodes: 301, inlineRows: 1, inlineRefs: 300 });
    expect(await getText(s, "/b/f00000299")).toBe("shared bytes");
    expect((await listAll(s, "/b")).length).toBe(300);
    expect((await api("DELETE", `/v1/shares/${s}/files/b?recursive=true`)).status).toBe(204);
    await runAllGc(s);
    expect(await rows(s)).toMatchObject({ nodes: 0, inlineRows: 0, blobs: 0 });
  });

  it("deleting the share, or rm -r /, leaves a new empty tree at once", async () => {
    const s = await newShare();
    await seed(s, "/d", 500);
    expect((await api("DELETE", `/v1/shares/${s}/files/?recursive=true`)).status).toBe(204);
    expect(await listAll(s, "/")).toEqual([]);
    expect((await usage(s)).usage).toMatchObject({ files: 0, directories: 0 });
    expect((await put(s, "/d/x", "x")).status).toBe(201);
    expect((await api("DELETE", `/v1/shares/${s}`)).status).toBe(204);
    expect((await api("PUT", `/v1/shares/${s}`)).status).toBe(201);
    expect(await listAll(s, "/")).toEqual([]);
    await runAllGc(s);
    expect((await rows(s)).nodes).toBe(0);
  });
});

describe("rename", () => {
  it("moves a directory by rewriting one row, whatever lies below it", async () => {
    const s = await newShare();
    await seed(s, "/a/b", 2000);
    const rowsOf = () =>
      runInDurableObject(stub(s), (_i, state) =>
        state.storage.sql
          .exec<{ row: number; born: number }>(
            "SELECT row, born FROM nodes WHERE name LIKE 'f%' AND died IS NULL ORDER BY row",
          )
          .toArray(),
      );
    const files = await rowsOf();
    expect(files.length).toBe(2000);
    const before = (await usage(s)).usage;
    const res = await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/a", to: "/z/y" }),
    });
    expect(res.status).toBe(200);
    // No descendant row was written, no background work was queued.
    expect(await rowsOf()).toEqual(files);
    expect(await stub(s).usage()).toMatchObject({ doomed: 0, copies: 0 });
    expect((await listAll(s, "/z/y/b")).length).toBe(2000);
    await expectError(await api("GET", `/v1/shares/${s}/stat/a`), 404, "ENOENT");
    // The totals moved with it (plus the new parent /z); the move is one more feed event.
    const after = (await usage(s)).usage;
    expect(after).toEqual({
      ...before,
      directories: before.directories + 1,
      feedEvents: before.feedEvents + 1,
      feedBytes: after.feedBytes,
    });
  });
});

describe("recursive copy of a big tree", () => {
  it("copies in background batches while the request waits, and links all at once", async () => {
    const s = await newShare();
    await seed(s, "/src/x", 450, "xx");
    await seed(s, "/src/y", 150, "yyy");
    expect((await put(s, "/src/r2", bytesOf(70_000, 3))).status).toBe(201);
    const res = await api("POST", `/v1/shares/${s}/copy`, {
      body: JSON.stringify({ from: "/src", to: "/dst", recursive: true }),
    });
    expect(res.status).toBe(201);
    const src = (await listAll(s, "/src", true)).map((e) => [e.path, e.size]);
    const dst = (await listAll(s, "/dst", true)).map((e) => [e.path, e.size]);
    expect(dst).toEqual(src);
    expect(dst.length).toBe(603);
    expect(await getText(s, "/dst/y/f00000149")).toBe("yyy");
    expect((await usage(s)).usage).toMatchObject({ files: 1202, directories: 6 });
    // Bytes are shared, not copied: still one inline row per content, one blob.
    await runAllGc(s);
    expect(await rows(s)).toMatchObject({ inlineRows: 2, blobs: 1, blobRefs: 2, dead: 0 });
  });

  it("is the source exactly as it was when the copy started, whatever writers do meanwhile", async () => {
    const s = await newShare();
    await seed(s, "/src", 500, "v1");
    await put(s, "/src/sub/deep", "deep v1");
    // Start the job, change the source between its batches, then let it finish —
    // all inside the object, so nothing else interleaves and the order is exact.
    const outcome = await runInDurableObject(stub(s), (instance, state) => {
      // biome-ignore lint/suspicious/noExplicitAny: driving the copy job batch by batch
      const o = instance as any;
      const tx = <T>(fn: () => T): T =>
        state.storage.transactionSync(() => {
          o.state.nodes.beginChange();
          return fn();
        });
      const now = Date.now();
      const started = tx(() =>
        o.changes.copy(
          { now, share: o.lifecycle.row() },
          "/src",
          "/dst",
          { recursive: true, overwrite: false },
          [],
        ),
      );
      tx(() => o.state.copies.step(BATCH));
      tx(() => {
        const v = (text: string) => ({
          size: text.length,
          etag: `"${text}"`,
          blobId: null,
          data: new TextEncoder().encode(text).buffer,
        });
        o.state.tree.putFile("/src/f00000499", v("v2"), now, now);
        o.state.tree.putFile("/src/new", v("new"), now, now);
        o.state.tree.remove("/src/f00000000", false, now);
        o.state.tree.move("/src/sub", "/moved-out", false, now, now);
      });
      let complete: unknown[] = [];
      for (let i = 0; i < 100 && complete.length === 0; i++) {
        complete = tx(() => o.state.copies.step(BATCH).complete);
      }
      const entry = tx(() => o.changes.linkCopy({ now }, complete[0]));
      // What the alarm does after linking: prune the versions the job kept.
      state.storage.setAlarm(Date.now());
      return { job: started.job !== undefined, entry: entry.path };
    });
    expect(outcome).toEqual({ job: true, entry: "/dst" });
    const dst = (await listAll(s, "/dst", true)).map((e) => e.path);
    expect(dst.length).toBe(502);
    expect(dst).toContain("f00000000");
    expect(dst).toContain("sub/deep");
    expect(dst).not.toContain("new");
    expect(await getText(s, "/dst/f00000499")).toBe("v1");
    expect(await getText(s, "/dst/sub/deep")).toBe("deep v1");
    expect(await getText(s, "/src/f00000499")).toBe("v2");
    expect(await getText(s, "/moved-out/deep")).toBe("deep v1");
    // Once the job ended, the old versions it kept are pruned.
    await runAllGc(s);
    const r = await rows(s);
    expect(r.dead).toBe(0);
    // The source (one file deleted, one added), the file moved out, the copy.
    expect((await usage(s)).usage.files).toBe(500 + 1 + 501);
  });

  it("answers 404 to a request still waiting when its share is deleted", async () => {
    const s = await newShare();
    await seed(s, "/src", 20_000);
    const copying = api("POST", `/v1/shares/${s}/copy`, {
      body: JSON.stringify({ from: "/src", to: "/dst", recursive: true }),
    });
    // Bounded wait until the job exists, then the share goes.
    for (let i = 0; i < 200 && (await stub(s).usage()).copies === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await api("DELETE", `/v1/shares/${s}`)).status).toBe(204);
    await expectError(await copying, 404, "ENOENT");
  });

  it("gives up cleanly when the destination was taken meanwhile", async () => {
    const s = await newShare();
    await seed(s, "/src", 300);
    const outcome = await runInDurableObject(stub(s), (instance, state) => {
      // biome-ignore lint/suspicious/noExplicitAny: driving the copy job batch by batch
      const o = instance as any;
      const tx = <T>(fn: () => T): T =>
        state.storage.transactionSync(() => {
          o.state.nodes.beginChange();
          return fn();
        });
      const now = Date.now();
      tx(() =>
        o.changes.copy(
          { now, share: o.lifecycle.row() },
          "/src",
          "/dst",
          { recursive: true, overwrite: false },
          [],
        ),
      );
      tx(() => o.state.tree.mkdir("/dst/taken", now));
      state.storage.setAlarm(Date.now());
      return "started";
    });
    expect(outcome).toBe("started");
    await runAllGc(s);
    expect((await listAll(s, "/dst")).map((e) => e.path)).toEqual(["taken"]);
    // /src, its 300 files, /dst and /dst/taken: the half-built copy is gone.
    expect(await rows(s)).toMatchObject({ nodes: 303, dead: 0 });
  });
});

describe("quotas", () => {
  const quota = (share: string, body: unknown) =>
    api("PUT", `/v1/shares/${share}/quota`, { body: JSON.stringify(body) });

  it("refuses writes past the byte quota with 507, losing nothing; deletes and moves still work", async () => {
    const s = await newShare();
    expect((await quota(s, { bytes: 1024 * 1024 })).status).toBe(200);
    expect((await put(s, "/a", bytesOf(600_000))).status).toBe(201);
    await expectError(await put(s, "/b", bytesOf(600_000, 2)), 507, "ENOSPC");
    await expectError(await put(s, "/c", chunkedBody(bytesOf(600_000, 3))), 507, "ENOSPC");
    await expectError(await api("GET", `/v1/shares/${s}/stat/b`), 404, "ENOENT");
    // Growing a file within the quota is fine; past it is not, and the old one stays.
    expect((await put(s, "/a", bytesOf(700_000, 4))).status).toBe(200);
    await expectError(await put(s, "/a", bytesOf(1_100_000, 5)), 507, "ENOSPC");
    expect((await api("GET", `/v1/shares/${s}/stat/a`)).status).toBe(200);
    expect((await json<{ size: number }>(await api("GET", `/v1/shares/${s}/stat/a`))).size).toBe(
      700_000,
    );
    // A copy would double it: refused, nothing copied.
    await expectError(
      await api("POST", `/v1/shares/${s}/copy`, {
        body: JSON.stringify({ from: "/a", to: "/a2" }),
      }),
      507,
      "ENOSPC",
    );
    expect(
      (
        await api("POST", `/v1/shares/${s}/move`, {
          body: JSON.stringify({ from: "/a", to: "/m/a" }),
        })
      ).status,
    ).toBe(200);
    const info = await usage(s);
    expect(info.usage).toMatchObject({ files: 1, directories: 1, bytes: 700_000 });
    expect(info.quota).toEqual({ bytes: 1024 * 1024 });
    expect((await api("DELETE", `/v1/shares/${s}/files/m?recursive=true`)).status).toBe(204);
    expect((await put(s, "/b", bytesOf(600_000, 2))).status).toBe(201);
    // null clears the limit.
    expect((await quota(s, { bytes: null })).status).toBe(200);
    expect((await put(s, "/c", bytesOf(600_000, 3))).status).toBe(201);
    expect((await usage(s)).quota).toEqual({});
  });

  it("counts files, and a recursive copy is judged by its whole size up front", async () => {
    const s = await newShare();
    await seed(s, "/d", 150);
    expect((await quota(s, { files: 200 })).status).toBe(200);
    expect((await put(s, "/one", "1")).status).toBe(201);
    await expectError(
      await api("POST", `/v1/shares/${s}/copy`, {
        body: JSON.stringify({ from: "/d", to: "/d2", recursive: true }),
      }),
      507,
      "ENOSPC",
    );
    expect(await stub(s).usage()).toMatchObject({ copies: 0 });
    await expectError(await api("GET", `/v1/shares/${s}/stat/d2`), 404, "ENOENT");
    expect((await usage(s)).usage.files).toBe(151);
    // Directories are not files: mkdir still works.
    expect((await api("PUT", `/v1/shares/${s}/files/dirs/only/`)).status).toBe(201);
  });

  it("rejects malformed quotas with 400", async () => {
    const s = await newShare();
    for (const body of [
      {},
      { bytes: -1 },
      { bytes: "1" },
      { files: 1.5 },
      { bytes: 1, other: 1 },
    ]) {
      await expectError(await quota(s, body), 400, "EINVAL");
    }
    await expectError(await quota("no-such-share-q", { bytes: 1 }), 404, "ENOENT");
  });
});

describe("listing cursors", () => {
  it("stay valid while entries are renamed between pages", async () => {
    const s = await newShare();
    for (const n of "abcdefghij") await put(s, `/d/${n}`, n);
    const page = async (cursor?: string) => {
      const q = cursor ? `?limit=3&cursor=${cursor}` : "?limit=3";
      return json<{ entries: Entry[]; cursor?: string }>(
        await api("GET", `/v1/shares/${s}/list/d${q}`),
      );
    };
    const p1 = await page();
    expect(p1.entries.map((e) => e.path)).toEqual(["a", "b", "c"]);
    await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/d/b", to: "/d/zz" }),
    });
    const p2 = await page(p1.cursor);
    expect(p2.entries.map((e) => e.path)).toEqual(["d", "e", "f"]);
    await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/d/e", to: "/d/0e" }),
    });
    const p3 = await page(p2.cursor);
    expect(p3.entries.map((e) => e.path)).toEqual(["g", "h", "i"]);
    const p4 = await page(p3.cursor);
    expect(p4.entries.map((e) => e.path)).toEqual(["j", "zz"]);
    expect(p4.cursor).toBeUndefined();
  });

  it("of a recursive listing follow a renamed directory, and skip one moved away", async () => {
    const s = await newShare();
    for (const d of ["x", "y"]) for (const n of "123") await put(s, `/r/${d}/${n}`, n);
    const page = async (cursor?: string) => {
      const q = `?recursive=true&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      return json<{ entries: Entry[]; cursor?: string }>(
        await api("GET", `/v1/shares/${s}/list/r${q}`),
      );
    };
    const p1 = await page();
    expect(p1.entries.map((e) => e.path)).toEqual(["x", "x/1"]);
    await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/r/x/2", to: "/r/x/22" }),
    });
    const p2 = await page(p1.cursor);
    expect(p2.entries.map((e) => e.path)).toEqual(["x/22", "x/3"]);
    await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/r/x", to: "/elsewhere" }),
    });
    const p3 = await page(p2.cursor);
    expect(p3.entries.map((e) => e.path)).toEqual(["y", "y/1"]);
    // A cursor of one directory is refused for another.
    await expectError(
      await api("GET", `/v1/shares/${s}/list/elsewhere?limit=2&cursor=${p3.cursor}`),
      400,
      "EINVAL",
    );
  });
});

describe("alarm batches", () => {
  it("never touch more rows than the budget in one transaction", async () => {
    const s = await newShare();
    await seed(s, "/d", 1000);
    const drops = await runInDurableObject(stub(s), (instance, state) => {
      // biome-ignore lint/suspicious/noExplicitAny: one batch of the alarm's work at a time
      const o = instance as any;
      const left = () =>
        state.storage.sql
          .exec<{ n: number }>("SELECT COUNT(*) AS n FROM nodes WHERE parent > 0")
          .one().n;
      state.storage.transactionSync(() => {
        o.state.nodes.beginChange();
        o.changes.remove({ now: Date.now(), share: o.lifecycle.row() }, "/d", true, [], false);
      });
      const out: number[] = [];
      for (let i = 0; i < 50 && left() > 0; i++) {
        const n = left();
        state.storage.transactionSync(() => o.state.reclaim.step(BATCH, Date.now()));
        out.push(n - left());
      }
      return { drops: out, left: left() };
    });
    expect(drops.left).toBe(0);
    expect(drops.drops.length).toBeGreaterThanOrEqual(10);
    expect(drops.drops.every((n) => n > 0 && n <= BATCH)).toBe(true);
  });
});
