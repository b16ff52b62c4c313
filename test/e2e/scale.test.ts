// The file tree at scale against a real `wrangler dev` (issue 15): a
// 200,000-file tree is renamed, a quarter of it copied and then the whole of
// it deleted with rm -r, while writers and readers keep working elsewhere in
// the share. A rename is one row and visible whole at once; a copy of 50,000
// files runs as a background job (exact as of its start, even while a writer
// changes its source) that the request waits for, then appears whole; the
// delete is a 404 and a drop in the share's totals at once, and the alarm
// reclaims its rows in batches (seen through /_dev/share-usage). No reader
// ever gets anything but a 200 with the right bytes, the root never shows a
// state out of order, and in the end every acknowledged write reads back
// byte-for-byte, files shared by reference with the deleted tree (inline and
// R2) included, and the share's totals equal a full count.
// Then, smaller: rm -r and rename of a copy's source while the copy runs (the
// copy is still its source as of its start), a share deleted during a big
// copy (the waiting copy request is answered), likewise an ephemeral share
// expiring during one, and a big copy whose request a restart cut, followed
// by another big copy (acknowledged means visible).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";
import {
  Edgefs,
  type FileEntry,
  INLINE_MAX,
  KiB,
  pool,
  prngBytes,
  sha256,
  sleep,
  uniqueName,
} from "./helpers.js";
import { E2E_VARS } from "./server-vars.js";

const server = Edgefs.shared();

/** The seeded tree: 200,000 files in four directories, each with its own content. */
const SEEDS = [
  { dir: "/t/a/x", count: 30_000, content: "ax" },
  { dir: "/t/a/y/z", count: 20_000, content: "ayz" },
  { dir: "/t/b", count: 50_000, content: "bbbb" },
  { dir: "/t/c", count: 100_000, content: "ccccc" },
] as const;
const SEEDED = SEEDS.reduce((n, s) => n + s.count, 0);
/** What /t/a holds of them (the part that is copied). */
const SEEDED_A = SEEDS[0].count + SEEDS[1].count;
/** Files written through the API into the tree before it moves: R2 and inline, shared by the copy. */
const REAL = [
  { path: "/t/a/x/big1.bin", seed: 71, size: INLINE_MAX + 6 * KiB },
  { path: "/t/a/x/real.txt", seed: 72, size: 1234 },
  { path: "/t/b/big2.bin", seed: 73, size: INLINE_MAX + 9 * KiB },
] as const;
/** Directories of the tree below /t: a, a/x, a/y, a/y/z, b, c. */
const TREE_DIRS = 6;
/** Directories of /a's copy below /c: x, y, y/z. */
const COPY_DIRS = 3;

/** Small files the readers check, in /ro. */
const RO = Array.from({ length: 20 }, (_, i) => ({
  name: `r${i}.bin`,
  bytes: prngBytes(500 + i, 100 + i * 150),
}));

const WRITERS = 4;
const READERS = 3;
/** Bounds of every background loop: they stop when told, at this many operations, or this late. */
const WRITES_PER_WRITER = 400;
const READS_PER_READER = 3000;
const LOOP_MS = 100_000;
const RECLAIM_WAIT_MS = 60_000;

/** The text of writer w's k-th write (and its bytes): unique, inline-sized, of varying length. */
function liveText(w: number, k: number, path: string): string {
  return `${path} w${w} k${k} `.repeat(1 + ((w * 7 + k * 13) % 40));
}

interface PageBody {
  entries: FileEntry[];
  cursor?: string;
}

const jsonInit = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** A share's totals, as `GET /v1/shares/{share}` gives them. */
interface Usage {
  files: number;
  directories: number;
  bytes: number;
  inlineBytes: number;
  historyBytes: number;
  feedEvents: number;
  feedBytes: number;
}

/** What `/_dev/share-usage/{share}` counts: rows, and work still owed to the background. */
interface Counts {
  entries: number;
  doomed: number;
  retired: number;
  copies: number;
  blobs: number;
  pending: number;
  gc: number;
}

async function usage(share: string): Promise<Usage> {
  const { status, body } = await server.json<{ usage: Usage }>(`/v1/shares/${share}`);
  expect(status).toBe(200);
  return body.usage;
}

async function counts(share: string, api = server): Promise<Counts> {
  const { status, body } = await api.json<Counts>(`/_dev/share-usage/${share}`);
  expect(status, JSON.stringify(body)).toBe(200);
  return body;
}

/** Polls the counts until `done` holds or `ms` pass; returns the last counts seen. */
async function waitForCounts(
  share: string,
  done: (c: Counts) => boolean,
  ms: number,
  api = server,
) {
  const until = Date.now() + ms;
  let c = await counts(share, api);
  while (!done(c) && Date.now() < until) {
    await sleep(250);
    c = await counts(share, api);
  }
  return c;
}

const reclaimed = (c: Counts) => c.doomed === 0 && c.retired === 0 && c.copies === 0;

/** Every entry below `dir`, recursively, in pages of 10,000 (bounded: 100 pages). */
async function listTree(share: string, dir: string, api = server): Promise<FileEntry[]> {
  const entries: FileEntry[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const q = `?recursive=true&limit=10000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const { status, body } = await api.json<PageBody>(`${api.route(share, "list", dir)}${q}`);
    expect(status, JSON.stringify(body).slice(0, 300)).toBe(200);
    entries.push(...body.entries);
    cursor = body.cursor;
    if (!cursor) return entries;
  }
  throw new Error(`listing ${dir}: more than 100 pages`);
}

const tally = (entries: FileEntry[]) => ({
  files: entries.filter((e) => e.type === "file").length,
  dirs: entries.filter((e) => e.type === "directory").length,
});

describe("rm -r, rename and copy of a 200,000-file tree under load", () => {
  let share: string;
  let shareId: string;

  beforeAll(async () => {
    share = uniqueName("scale");
    shareId = (await server.createShare(share)).id;
    for (const s of SEEDS) {
      const q = `dir=${encodeURIComponent(s.dir)}&count=${s.count}&prefix=f&content=${s.content}`;
      const { status, body } = await server.json<{ files: number }>(`/_dev/seed/${share}?${q}`, {
        method: "POST",
      });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.files).toBe(s.count);
    }
    for (const f of REAL) {
      expect((await server.put(share, f.path, prngBytes(f.seed, f.size))).status).toBe(201);
    }
    for (const r of RO) {
      expect((await server.put(share, `/ro/${r.name}`, r.bytes)).status).toBe(201);
    }
    for (let w = 0; w < WRITERS; w++) {
      const res = await server.fetch(server.route(share, "files", `/live/w${w}/`), {
        method: "PUT",
      });
      await res.arrayBuffer();
      expect(res.status).toBe(201);
    }
  });

  it("keeps every acknowledged write and every answer whole", { timeout: 150_000 }, async () => {
    const deadline = Date.now() + LOOP_MS;
    let stop = false;
    const failures: string[] = [];
    // Where the time went (logged, never asserted): phase ends and the slowest answers.
    const t0 = Date.now();
    const phases: string[] = [];
    const mark = (phase: string) =>
      phases.push(`${phase} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    let slowest = 0;
    const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
      const start = Date.now();
      try {
        return await fn();
      } finally {
        slowest = Math.max(slowest, Date.now() - start);
      }
    };
    const fail = (what: string) => {
      if (failures.length < 50) failures.push(what);
    };

    // ── Writers under /live: each its own directory, new files and overwrites of its own ──
    /** Per path, every content a writer sent (in order) and the last one acknowledged. */
    const attempted = new Map<string, string[]>();
    const acked = new Map<string, string>();
    let liveWrites = 0;
    const writer = async (w: number) => {
      for (let k = 0; k < WRITES_PER_WRITER && !stop && Date.now() < deadline; k++) {
        // Every third write overwrites one of the writer's earlier files.
        const n = k % 3 === 2 ? Math.floor(k / 2) : k;
        const path = `/live/w${w}/f${n}.txt`;
        const text = liveText(w, k, path);
        const list = attempted.get(path) ?? [];
        list.push(text);
        attempted.set(path, list);
        try {
          const { status, body } = await timed(() =>
            server.put(share, path, new TextEncoder().encode(text)),
          );
          if (status >= 200 && status < 300) {
            acked.set(path, text);
            liveWrites++;
          } else fail(`PUT ${path}: ${status} ${JSON.stringify(body).slice(0, 200)}`);
        } catch (e) {
          fail(`PUT ${path}: ${String(e)}`);
        }
      }
    };
    /** How many distinct live files are acknowledged, and how many were at least sent. */
    const liveFiles = () => ({ acked: acked.size, sent: attempted.size });
    const liveBytes = () => [...acked.values()].reduce((n, t) => n + t.length, 0);

    // ── Readers: files and small directories the big changes never touch ──
    let reads = 0;
    const reader = async (r: number) => {
      for (let i = 0; i < READS_PER_READER && !stop && Date.now() < deadline; i++) {
        const ro = RO[(r * 7 + i) % RO.length] as (typeof RO)[number];
        const start = Date.now();
        try {
          switch (i % 5) {
            case 0: {
              const got = await server.get(share, `/ro/${ro.name}`);
              if (got.status !== 200 || sha256(got.bytes) !== sha256(ro.bytes)) {
                fail(`GET /ro/${ro.name}: ${got.status}, ${got.bytes.byteLength} bytes`);
              }
              break;
            }
            case 1: {
              const { status, body } = await server.stat(share, `/ro/${ro.name}`);
              if (status !== 200 || body.type !== "file" || body.size !== ro.bytes.byteLength) {
                fail(`stat /ro/${ro.name}: ${status} ${JSON.stringify(body)}`);
              }
              break;
            }
            case 2: {
              const { status, body } = await server.json<PageBody>(
                server.route(share, "list", "/ro"),
              );
              const got = (body.entries ?? []).map((e) => [e.path.split("/").pop(), e.size]).sort();
              const want = RO.map((x) => [x.name, x.bytes.byteLength]).sort();
              if (status !== 200 || body.cursor || JSON.stringify(got) !== JSON.stringify(want)) {
                fail(`list /ro: ${status} ${JSON.stringify(body).slice(0, 300)}`);
              }
              break;
            }
            case 3: {
              // An acknowledged live file: whole, and one of the versions sent to it.
              const paths = [...acked.keys()];
              if (paths.length === 0) break;
              const path = paths[(i * 31 + r) % paths.length] as string;
              const got = await server.get(share, path);
              const text = new TextDecoder().decode(got.bytes);
              if (got.status !== 200 || !attempted.get(path)?.includes(text)) {
                fail(`GET ${path}: ${got.status}, ${got.bytes.byteLength} bytes not sent`);
              }
              break;
            }
            default: {
              // A writer's directory: everything acknowledged before the listing, nothing never sent.
              const w = (i + r) % WRITERS;
              const before = [...acked.keys()].filter((p) => p.startsWith(`/live/w${w}/`));
              const { status, body } = await server.json<PageBody>(
                `${server.route(share, "list", `/live/w${w}`)}?limit=10000`,
              );
              const names = new Set((body.entries ?? []).map((e) => e.path.split("/").pop()));
              const missing = before.filter((p) => !names.has(p.split("/").pop()));
              const foreign = [...names].filter((n) => !attempted.has(`/live/w${w}/${n}`));
              if (status !== 200 || body.cursor || missing.length > 0 || foreign.length > 0) {
                fail(
                  `list /live/w${w}: ${status}, missing ${missing.slice(0, 3)}, foreign ${foreign.slice(0, 3)}`,
                );
              }
            }
          }
          reads++;
        } catch (e) {
          fail(`reader ${r}: ${String(e)}`);
        }
        slowest = Math.max(slowest, Date.now() - start);
      }
    };

    // ── A watcher of the root: the big changes appear in order, each whole ──
    // The root goes {t} → {t2} → {t2, c} → {c} (besides ro and live), never back.
    const STATES = ["t", "t2", "c,t2", "c"];
    let seen = 0;
    const watcher = async () => {
      for (let i = 0; i < READS_PER_READER && !stop && Date.now() < deadline; i++) {
        try {
          const { status, body } = await server.json<PageBody>(server.route(share, "list", "/"));
          const names = (body.entries ?? [])
            .map((e) => e.path.split("/").filter(Boolean).pop())
            .filter((n) => n !== "ro" && n !== "live")
            .sort()
            .join(",");
          const at = STATES.indexOf(names);
          if (status !== 200 || at < seen) {
            fail(`list /: ${status}, [${names}] after state ${STATES[seen]}`);
            continue;
          }
          seen = at;
          // Once the copy is visible it is there whole: its last file at once.
          if (names.includes("c")) {
            const { status: s, body: b } = await server.stat(share, "/c/y/z/f00019999");
            if (s !== 200 || b.size !== 3) fail(`stat /c/y/z/f00019999: ${s} ${JSON.stringify(b)}`);
          }
        } catch (e) {
          fail(`watcher: ${String(e)}`);
        }
        await sleep(50);
      }
    };

    const background = Promise.all([
      ...Array.from({ length: WRITERS }, (_, w) => writer(w)),
      ...Array.from({ length: READERS }, (_, r) => reader(r)),
      watcher(),
    ]);
    const fixedFiles = RO.length; // plus the live files, counted by the writers
    const fixedDirs = 2 + WRITERS; // ro, live, live/w*
    /** Asserts the share's totals: `files` fixed ones plus however many live files are there. */
    async function expectUsage(files: number, dirs: number, before: { acked: number }) {
      const u = await usage(share);
      const after = liveFiles();
      expect(u.files).toBeGreaterThanOrEqual(fixedFiles + files + before.acked);
      expect(u.files).toBeLessThanOrEqual(fixedFiles + files + after.sent);
      expect(u.directories).toBe(fixedDirs + dirs);
    }

    // The source writer of step 2 (declared here so that a failure stops it too).
    let copying = true;
    let sourceWriter: Promise<void> = Promise.resolve();
    try {
      await sleep(500); // let the writers and readers get going
      const realFiles = REAL.length;

      // ── 1. Rename /t → /t2: one row; the old path is gone and the new one whole at once ──
      let before = liveFiles();
      const moved = await server.json<FileEntry>(
        `/v1/shares/${share}/move`,
        jsonInit({ from: "/t", to: "/t2" }),
      );
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      expect((await server.stat(share, "/t")).status).toBe(404);
      expect((await server.stat(share, "/t/c/f00000000")).status).toBe(404);
      const t2 = await listTree(share, "/t2");
      expect(tally(t2)).toEqual({ files: SEEDED + realFiles, dirs: TREE_DIRS });
      const last = await server.stat(share, "/t2/c/f00099999");
      expect(last.status).toBe(200);
      expect(last.body.size).toBe(5);
      await expectUsage(SEEDED + realFiles, 1 + TREE_DIRS, before);
      mark("move");

      // ── 2. Copy /t2/a → /c while a writer changes /t2/a/x: exact as of the copy's start ──
      // The source writer's i-th step creates /t2/a/x/s-i, then overwrites f00000000 with "o-i".
      let sourceSteps = 0;
      sourceWriter = (async () => {
        for (let i = 0; i < 5000 && copying && Date.now() < deadline; i++) {
          const a = await server.put(share, `/t2/a/x/s-${i}`, new TextEncoder().encode(`s-${i}`));
          const b = await server.put(
            share,
            "/t2/a/x/f00000000",
            new TextEncoder().encode(`o-${i}`),
          );
          if (a.status !== 201 || b.status !== 200) {
            fail(`source writer step ${i}: ${a.status} ${b.status}`);
            return;
          }
          sourceSteps = i + 1;
        }
      })();
      for (let i = 0; i < 200 && sourceSteps < 3; i++) await sleep(20);
      expect(sourceSteps).toBeGreaterThanOrEqual(3);
      before = liveFiles();
      const copied = await server.json<FileEntry>(
        `/v1/shares/${share}/copy`,
        jsonInit({ from: "/t2/a", to: "/c", recursive: true }),
      );
      copying = false;
      mark("copy");
      await sourceWriter;
      expect(copied.status, JSON.stringify(copied.body)).toBe(201);
      expect(copied.body).toMatchObject({ path: "/c", type: "directory" });

      // The copy holds the s-files written before it started: a prefix s-0 … s-(k-1).
      const c = await listTree(share, "/c");
      const sNames = c
        .map((e) => e.path.split("/").pop() as string)
        .filter((n) => n.startsWith("s-"))
        .map((n) => Number(n.slice(2)))
        .sort((x, y) => x - y);
      const k = sNames.length;
      expect(k).toBeGreaterThanOrEqual(3);
      expect(k).toBeLessThanOrEqual(sourceSteps);
      expect(sNames).toEqual(Array.from({ length: k }, (_, i) => i));
      console.log(
        `copy: ${k} of the source writer's ${sourceSteps} steps were in before it started`,
      );
      // … and f00000000 as it was then: overwritten by step k-1, or not yet.
      const f0 = await server.get(share, "/c/x/f00000000");
      expect(f0.status).toBe(200);
      expect([`o-${k - 1}`, `o-${k - 2}`]).toContain(new TextDecoder().decode(f0.bytes));
      const copyFiles = SEEDED_A + 2 + k; // big1.bin and real.txt are in /t/a/x
      expect(tally(c)).toEqual({ files: copyFiles, dirs: COPY_DIRS });
      await expectUsage(
        SEEDED + realFiles + sourceSteps + copyFiles,
        1 + TREE_DIRS + 1 + COPY_DIRS,
        before,
      );

      // ── 3. rm -r /t2: a 404 and a drop in the totals at once; the alarm reclaims the rows ──
      before = liveFiles();
      const del = await server.fetch(`${server.route(share, "files", "/t2")}?recursive=true`, {
        method: "DELETE",
      });
      await del.arrayBuffer();
      expect(del.status).toBe(204);
      for (const p of ["/t2", "/t2/a", "/t2/c/f00099999", "/t2/b/big2.bin", "/t2/a/x/s-0"]) {
        expect((await server.stat(share, p)).status, p).toBe(404);
      }
      expect((await server.get(share, "/t2/a/x/real.txt")).status).toBe(404);
      await expectUsage(copyFiles, 1 + COPY_DIRS, before);
      mark("rm -r");

      const bg = await waitForCounts(share, reclaimed, RECLAIM_WAIT_MS);
      expect(bg).toMatchObject({ doomed: 0, retired: 0, copies: 0 });
      mark("reclaimed");
    } finally {
      stop = true;
      copying = false;
      await sourceWriter;
      await background;
    }

    // ── The end: nothing failed, and every acknowledged write reads back byte-for-byte ──
    expect(failures).toEqual([]);
    console.log(
      `${liveWrites} live writes acknowledged, ${reads} reads checked, slowest answer ${slowest} ms; ${phases.join(", ")}`,
    );
    expect(liveWrites).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(0);
    expect(attempted.size).toBe(acked.size); // every path sent was acknowledged once at least

    const mismatches = (
      await pool([...acked], 8, async ([path, text]) => {
        const got = await server.get(share, path);
        const ok = got.status === 200 && new TextDecoder().decode(got.bytes) === text;
        return ok ? undefined : `${path}: ${got.status}, ${got.bytes.byteLength} bytes`;
      })
    ).filter((m) => m !== undefined);
    expect(mismatches).toEqual([]);

    // Files the copy shares with the deleted tree, by reference, still read whole.
    for (const [path, want] of [
      ["/c/x/f00000001", "ax"],
      ["/c/x/f00029999", "ax"],
      ["/c/y/z/f00000000", "ayz"],
      ["/c/y/z/f00012345", "ayz"],
    ] as const) {
      const got = await server.get(share, path);
      expect([path, got.status, new TextDecoder().decode(got.bytes)]).toEqual([path, 200, want]);
    }
    for (const f of REAL.filter((x) => x.path.startsWith("/t/a/"))) {
      const path = f.path.replace("/t/a/", "/c/");
      const got = await server.download(share, path);
      expect([path, got.status, got.sha256]).toEqual([
        path,
        200,
        sha256(prngBytes(f.seed, f.size)),
      ]);
    }
    for (const r of RO) {
      const got = await server.get(share, `/ro/${r.name}`);
      expect(sha256(got.bytes)).toBe(sha256(r.bytes));
    }

    // The totals equal a full count, and no row is left over beyond the tree's.
    const all = await listTree(share, "/");
    const copyFiles = tally(await listTree(share, "/c")).files;
    const expected = {
      files: RO.length + acked.size + copyFiles,
      dirs: fixedDirs + 1 + COPY_DIRS,
    };
    expect(tally(all)).toEqual(expected);
    const u = await usage(share);
    expect({ files: u.files, dirs: u.directories }).toEqual(expected);
    const roBytes = RO.reduce((n, r) => n + r.bytes.byteLength, 0);
    const cBytes = (await listTree(share, "/c")).reduce((n, e) => n + e.size, 0);
    expect(u.bytes).toBe(roBytes + liveBytes() + cBytes);
    expect((await counts(share)).entries).toBe(expected.files + expected.dirs);

    // The blob only the deleted tree held (big2.bin) is collected; big1.bin's stays for /c.
    const bg = await waitForCounts(share, (c) => c.gc === 0, 30_000);
    expect(bg).toMatchObject({ gc: 0, blobs: 1 });
    expect(await server.waitForR2Count(shareId, 1)).toBe(1);
  });
});

describe("rm -r and rename of a copy's source while the copy runs", () => {
  it("the copy is the source as it was when the copy started", { timeout: 90_000 }, async () => {
    const share = uniqueName("scale-src");
    await server.createShare(share);
    for (const [dir, count, content] of [
      ["/s/d1", 20_000, "d1"],
      ["/s/d2", 10_000, "d2"],
    ] as const) {
      const q = `dir=${dir}&count=${count}&prefix=f&content=${content}`;
      expect((await server.json(`/_dev/seed/${share}?${q}`, { method: "POST" })).status).toBe(200);
    }
    const real = prngBytes(81, INLINE_MAX + 3 * KiB);
    expect((await server.put(share, "/s/d1/real.bin", real)).status).toBe(201);

    // The copy request waits for its job; meanwhile its source changes under it, then goes.
    const copy = server.json<FileEntry>(
      `/v1/shares/${share}/copy`,
      jsonInit({ from: "/s", to: "/s2", recursive: true }),
    );
    const started = await waitForCounts(share, (c) => c.copies > 0, 10_000);
    expect(started.copies).toBe(1);
    const [over, mv] = await Promise.all([
      server.put(share, "/s/d1/f00000005", new TextEncoder().encode("new")),
      server.json<FileEntry>(`/v1/shares/${share}/move`, jsonInit({ from: "/s/d2", to: "/moved" })),
    ]);
    expect([over.status, mv.status]).toEqual([200, 200]);
    const del = await server.fetch(`${server.route(share, "files", "/s")}?recursive=true`, {
      method: "DELETE",
    });
    await del.arrayBuffer();
    expect(del.status).toBe(204);
    expect((await server.stat(share, "/s")).status).toBe(404);
    // The premise: the copy was still running when its source went (a bigger source otherwise).
    const during = await counts(share);
    expect(during.copies).toBe(1);

    const copied = await copy;
    expect(copied.status, JSON.stringify(copied.body)).toBe(201);
    const s2 = await listTree(share, "/s2");
    expect(tally(s2)).toEqual({ files: 30_001, dirs: 2 });
    expect(tally(await listTree(share, "/moved"))).toEqual({ files: 10_000, dirs: 0 });
    const expectBody = async (path: string, want: string) => {
      const got = await server.get(share, path);
      expect([path, got.status, new TextDecoder().decode(got.bytes)]).toEqual([path, 200, want]);
    };
    const check = async () => {
      await expectBody("/s2/d1/f00000005", "d1"); // as it was when the copy started
      await expectBody("/s2/d1/f00019999", "d1");
      await expectBody("/s2/d2/f00000000", "d2");
      await expectBody("/moved/f00009999", "d2");
      const big = await server.download(share, "/s2/d1/real.bin");
      expect([big.status, big.sha256]).toEqual([200, sha256(real)]);
    };
    await check();
    // What the copy pinned of the deleted /s counts as history until the reclaim frees it.
    const { historyBytes, feedEvents: _events, feedBytes: _feed, ...live } = await usage(share);
    expect(live).toEqual({
      files: 40_001,
      directories: 4, // s2, s2/d1, s2/d2, moved
      bytes: 20_000 * 2 + 10_000 * 2 + real.byteLength + 10_000 * 2,
      inlineBytes: 20_000 * 2 + 10_000 * 2 + 10_000 * 2,
    });
    expect(historyBytes).toBeLessThanOrEqual(20_000 * 2 + real.byteLength + 3);

    // Once the rows the copy pinned are reclaimed, nothing is left over and every byte still reads.
    const bg = await waitForCounts(share, (c) => reclaimed(c) && c.gc === 0, RECLAIM_WAIT_MS);
    expect(bg).toMatchObject({
      entries: 40_005,
      doomed: 0,
      retired: 0,
      copies: 0,
      gc: 0,
      blobs: 1,
    });
    expect((await usage(share)).historyBytes).toBe(0);
    await check();
  });
});

describe("a share deleted or expired while a big copy in it runs", () => {
  /**
   * POST copy /s → /s2 with its own bound (the helper's is 120 s): once its
   * share is gone the copy should answer at once. Status 0: no answer.
   */
  const boundedCopy = (share: string, ms: number) =>
    fetch(`${server.url}/v1/shares/${share}/copy`, {
      ...jsonInit({ from: "/s", to: "/s2", recursive: true }),
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      signal: AbortSignal.timeout(ms),
    }).then(
      async (res) => ({ status: res.status, body: await res.text() }),
      (e: unknown) => ({ status: 0, body: `no answer: ${String(e)}` }),
    );

  it("the copy request is answered (404 ENOENT), not left waiting", {
    timeout: 60_000,
  }, async () => {
    const share = uniqueName("scale-drop");
    await server.createShare(share);
    const seeded = await server.json(`/_dev/seed/${share}?dir=/s&count=30000&prefix=f&content=x`, {
      method: "POST",
    });
    expect(seeded.status).toBe(200);

    const copy = boundedCopy(share, 20_000);
    expect((await waitForCounts(share, (c) => c.copies > 0, 10_000)).copies).toBe(1);
    // Deleting the share ends its copy jobs; whoever waits for one must hear so.
    expect(await server.deleteShare(share)).toBe(204);

    const answer = await copy;
    expect(answer.status, answer.body).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "ENOENT" } });
  });

  it("likewise when an ephemeral share expires during the copy", { timeout: 60_000 }, async () => {
    const created = await server.json<{ name: string }>(
      "/v1/shares",
      jsonInit({ ephemeral: true, ttlSeconds: 5 }),
    );
    expect(created.status).toBe(201);
    const share = created.body.name;
    // 400,000 files (four seed calls): a copy that outlasts the 5 s ttl by far.
    for (const dir of ["/s/a", "/s/b", "/s/c", "/s/d"]) {
      const seeded = await server.json(
        `/_dev/seed/${share}?dir=${dir}&count=100000&prefix=f&content=x`,
        { method: "POST" },
      );
      expect(seeded.status).toBe(200);
    }

    const copy = boundedCopy(share, 25_000);
    // No heartbeats: the share expires 5 s on (share info is no heartbeat).
    let expired = false;
    for (let i = 0; i < 60 && !expired; i++) {
      await sleep(500);
      expired = (await server.json(`/v1/shares/${share}`)).status === 404;
    }
    expect(expired).toBe(true);
    // A copy that had finished first would have answered 201; this one was cut by the expiry.
    const answer = await copy;
    expect(answer.status, answer.body).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "ENOENT" } });
  });
});

describe("a big copy cut by a restart, then another one", () => {
  // Its own server, on a data directory that outlives a kill -9.
  const dataDir = mkdtempSync(join(tmpdir(), "edgefs-scale-"));
  const token = `scale-${Math.random().toString(36).slice(2)}`;
  let srv: Awaited<ReturnType<typeof startServer>> | undefined;
  afterAll(async () => {
    await srv?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("the second copy answers 201 only once it is there", { timeout: 90_000 }, async () => {
    srv = await startServer({ dataDir, token, vars: E2E_VARS });
    let api = new Edgefs(srv.url, token);
    const share = "restart";
    await api.createShare(share);
    const q = "dir=/s&count=40000&prefix=f&content=x";
    expect((await api.json(`/_dev/seed/${share}?${q}`, { method: "POST" })).status).toBe(200);
    const copy = (to: string) =>
      api.json<FileEntry>(
        `/v1/shares/${share}/copy`,
        jsonInit({ from: "/s", to, recursive: true }),
      );

    // The first copy's request dies with the server; its job goes on after the restart.
    const first = copy("/c1").then(
      (r) => r.status,
      () => "cut",
    );
    expect((await waitForCounts(share, (c) => c.copies > 0, 10_000, api)).copies).toBe(1);
    await srv.kill();
    // The premise: the kill landed while the copy ran (its request got no answer).
    expect(await first).toBe("cut");
    srv = await startServer({ dataDir, token, vars: E2E_VARS });
    api = new Edgefs(srv.url, token);
    expect((await waitForCounts(share, (c) => c.copies === 0, 60_000, api)).copies).toBe(0);
    expect(tally(await listTree(share, "/c1", api))).toEqual({ files: 40_000, dirs: 0 });

    // A new copy: acknowledged means there, whole, right away — whatever the
    // first job left behind when it finished with nobody waiting for it.
    const second = await copy("/c2");
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect((await api.stat(share, "/c2")).status).toBe(200);
    expect(tally(await listTree(share, "/c2", api))).toEqual({ files: 40_000, dirs: 0 });
  });
});
