import { describe, expect, it } from "vitest";
import type {
  Backend,
  BackendFeatures,
  KeyItem,
  KeyQuery,
  ReadResult,
  WriteBody,
} from "../../src/core/backend";
import type { ErrorCode } from "../../src/core/errors";
import { compareKeys } from "../../src/core/key-order";
import { type FsPath, parsePath } from "../../src/core/paths";
import type { WriteConditions } from "../../src/core/preconditions";

/**
 * The Backend contract of src/core/backend.ts as one suite (hono's
 * router/common.case.test.ts; rclone's fstests): every backend and every
 * front-end that can carry it runs these cases, each from a test file of
 * a few lines. A case that cannot hold for one of them is skipped there by
 * name, with the reason written next to it.
 */
export interface ContractRun {
  /** What is under test, e.g. "MountBackend over MemoryObjectStore". */
  name: string;
  /** A fresh, empty backend for each case. */
  newBackend: () => Promise<Backend>;
  /** The directory the cases work in (a mount's path); "/" by default. */
  root?: string;
  skip?: { reason: string; tests: CaseName[] }[];
}

/**
 * The optional abilities a case needs (docs/architecture.md "The pieces": the features a backend
 * declares). A case whose ability the backend does not declare is skipped,
 * and counted so, by that declaration alone; the runs' skip lists are only
 * for what a front-end cannot express.
 */
type Feature = keyof BackendFeatures;

function declares(backend: Backend, feature: Feature): boolean {
  return backend.features[feature];
}

interface Case {
  needs?: Feature;
  run: (b: Backend, at: (p: string) => FsPath) => Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const NONE: WriteConditions = {};
const MiB = 1024 * 1024;

/** A body of known length. */
function known(data: string | Uint8Array): WriteBody {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  return { stream: new Blob([bytes]).stream(), length: bytes.byteLength };
}

/** A body of unknown length (a chunked request), in small pieces. */
function chunked(data: string | Uint8Array): WriteBody {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.byteLength) return c.close();
      c.enqueue(bytes.slice(at, at + 7));
      at += 7;
    },
  });
  return { stream, length: undefined };
}

/** A body that ends before its declared length. */
function short(data: string, declared: number): WriteBody {
  return { stream: new Blob([enc.encode(data)]).stream(), length: declared };
}

async function put(b: Backend, path: FsPath, data: string | Uint8Array, c = NONE) {
  return b.write(path, known(data), c);
}

async function bodyText(r: ReadResult): Promise<string> {
  if (r.status === 304 || !r.body) return "";
  return dec.decode(await new Response(r.body).arrayBuffer());
}

async function readText(b: Backend, path: FsPath): Promise<string> {
  return bodyText(await b.read(path, { headOnly: false }));
}

/** Asserts the call fails with the contract's code. */
async function fails(call: Promise<unknown>, code: ErrorCode): Promise<void> {
  const outcome = await call.then(
    (value) => ({ resolved: value }),
    (e: unknown) => ({ code: (e as { code?: unknown }).code, message: String(e) }),
  );
  expect(outcome).toMatchObject({ code });
}

async function names(b: Backend, dir: FsPath, recursive = false): Promise<string[]> {
  const page = await b.list({ kind: "path", path: dir, recursive, limit: 1000 });
  return page.entries.map((e) => e.path);
}

/** Every page of a listing, following cursors (bounded). */
async function allPages(
  b: Backend,
  query: Parameters<Backend["list"]>[0],
): Promise<{ paths: string[]; pages: number }> {
  const paths: string[] = [];
  let cursor: string | undefined;
  for (let pages = 1; pages <= 50; pages++) {
    const page = await b.list({ ...query, cursor });
    paths.push(...page.entries.map((e) => e.path));
    cursor = page.cursor;
    if (!cursor) return { paths, pages };
  }
  throw new Error("listing did not end in 50 pages");
}

/** A path's S3 key: the share path without its leading "/". */
const keyOf = (path: FsPath): string => path.slice(1);

/** Every item from startAfter on, following `next` (bounded). */
async function allKeys(b: Backend, q: KeyQuery): Promise<{ items: KeyItem[]; pages: number }> {
  const items: KeyItem[] = [];
  let startAfter = q.startAfter;
  for (let pages = 1; pages <= 100; pages++) {
    const page = await b.listKeys({ ...q, startAfter });
    expect(page.items.length).toBeLessThanOrEqual(q.limit);
    items.push(...page.items);
    if (page.next === undefined) return { items, pages };
    expect(compareKeys(page.next, startAfter)).toBeGreaterThan(0);
    startAfter = page.next;
  }
  throw new Error("the key listing did not end in 100 pages");
}

/** Names whose keys a walk by names puts out of order ("." and "-" sort below "/"). */
const TRICKY = ["a.txt", "a/b", "a/c/d", "a-b", "a b", "x+1", "x/y", "é", "😀", "\uFFFD/q"];

const CASES = {
  // ── stat ──────────────────────────────────────────────────────────────
  "stat: a file has its type, size, mtime and quoted ETag": {
    async run(b, at) {
      const before = Date.now() - 60_000;
      const { entry } = await put(b, at("s/f.txt"), "hello");
      const s = await b.stat(at("s/f.txt"));
      expect(s).toMatchObject({ path: at("s/f.txt"), type: "file", size: 5, etag: entry.etag });
      expect(s.etag).toMatch(/^"[^"]+"$/);
      expect(s.mtime).toBeGreaterThan(before);
    },
  },
  "stat: a directory exists by its files, and the root always": {
    async run(b, at) {
      await put(b, at("d/e/f"), "x");
      expect(await b.stat(at("d"))).toMatchObject({ type: "directory" });
      expect(await b.stat(at("d/e"))).toMatchObject({ type: "directory" });
      expect(await b.stat(at(""))).toMatchObject({ type: "directory" });
    },
  },
  "stat: a missing path is ENOENT": {
    async run(b, at) {
      await put(b, at("x"), "x");
      await fails(b.stat(at("nope")), "ENOENT");
      await fails(b.stat(at("x/below")), "ENOENT");
    },
  },

  // ── list ──────────────────────────────────────────────────────────────
  "list: a directory lists its children by relative name, in order": {
    async run(b, at) {
      for (const n of ["b.txt", "a.txt", "sub/c.txt", "sub/deeper/d.txt"]) {
        await put(b, at(`l/${n}`), n);
      }
      const page = await b.list({ kind: "path", path: at("l"), recursive: false, limit: 100 });
      expect(page.entries.map((e) => [e.path, e.type])).toEqual([
        ["a.txt", "file"],
        ["b.txt", "file"],
        ["sub", "directory"],
      ]);
      expect(page.entries[0]).toMatchObject({ size: 5 });
      expect(page.cursor).toBeUndefined();
    },
  },
  "list: recursive lists the whole subtree relative to the directory": {
    async run(b, at) {
      for (const n of ["a", "sub/b", "sub/deep/c"]) await put(b, at(`r/${n}`), n);
      const got = await names(b, at("r"), true);
      // A backend may list implied directories or not; the files are all there.
      expect(got.filter((p) => !["sub", "sub/deep"].includes(p))).toEqual([
        "a",
        "sub/b",
        "sub/deep/c",
      ]);
    },
  },
  "list: a file lists itself, with its absolute path": {
    async run(b, at) {
      await put(b, at("one/f.txt"), "abc");
      const page = await b.list({
        kind: "path",
        path: at("one/f.txt"),
        recursive: false,
        limit: 9,
      });
      expect(page.entries).toEqual([expect.objectContaining({ path: at("one/f.txt"), size: 3 })]);
    },
  },
  "list: a glob matches * within a segment and ** across, with absolute paths": {
    async run(b, at) {
      for (const n of ["x1.csv", "x2.csv", "y.txt", "raw/z.csv", "raw/deep/w.csv"]) {
        await put(b, at(`g/${n}`), n);
      }
      const glob = async (pattern: string) =>
        (await allPages(b, { kind: "glob", pattern: at(pattern), limit: 100 })).paths.sort();
      expect(await glob("g/*.csv")).toEqual([at("g/x1.csv"), at("g/x2.csv")]);
      expect(await glob("g/**/*.csv")).toEqual(
        [at("g/raw/deep/w.csv"), at("g/raw/z.csv"), at("g/x1.csv"), at("g/x2.csv")].sort(),
      );
      expect(await glob("g/x*")).toEqual([at("g/x1.csv"), at("g/x2.csv")]);
      expect(await glob("nothing/*.csv")).toEqual([]);
    },
  },
  "list: every entry carries its absolutePath beside the listed form": {
    async run(b, at) {
      for (const n of ["a.txt", "sub/b.txt"]) await put(b, at(`ap/${n}`), n);
      const dir = await b.list({ kind: "path", path: at("ap"), recursive: false, limit: 100 });
      expect(dir.entries.map((e) => [e.path, e.absolutePath])).toEqual([
        ["a.txt", at("ap/a.txt")],
        ["sub", at("ap/sub")],
      ]);
      const file = await b.list({ kind: "path", path: at("ap/a.txt"), recursive: false, limit: 9 });
      expect(file.entries.map((e) => [e.path, e.absolutePath])).toEqual([
        [at("ap/a.txt"), at("ap/a.txt")],
      ]);
      expect(await b.stat(at("ap/sub/b.txt"))).toMatchObject({
        absolutePath: at("ap/sub/b.txt"),
      });
      // Each listed entry reads by its absolutePath, whatever form `path` has.
      const child = dir.entries.find((e) => e.type === "file");
      expect(await readText(b, child?.absolutePath as FsPath)).toBe("a.txt");
    },
  },
  "list: recursive and glob entries carry absolutePath too": {
    async run(b, at) {
      for (const n of ["a.txt", "sub/b.txt"]) await put(b, at(`ar/${n}`), n);
      const deep = await b.list({ kind: "path", path: at("ar"), recursive: true, limit: 100 });
      const files = deep.entries.filter((e) => e.type === "file");
      expect(files.map((e) => [e.path, e.absolutePath])).toEqual([
        ["a.txt", at("ar/a.txt")],
        ["sub/b.txt", at("ar/sub/b.txt")],
      ]);
      const glob = await b.list({ kind: "glob", pattern: at("ar/**/*.txt"), limit: 100 });
      expect(glob.entries.map((e) => [e.path, e.absolutePath]).sort()).toEqual([
        [at("ar/a.txt"), at("ar/a.txt")],
        [at("ar/sub/b.txt"), at("ar/sub/b.txt")],
      ]);
    },
  },
  "list: a glob takes ?, [...], [!...] and {a,b} with or without a *; a bad one is EINVAL": {
    async run(b, at) {
      for (const n of ["build.tgz", "build.tgx", "build.zip", "120", "121", "12a", "odd[1]"]) {
        await put(b, at(`gc/${n}`), n);
      }
      const glob = async (pattern: string) =>
        (await allPages(b, { kind: "glob", pattern: at(pattern), limit: 100 })).paths.sort();
      expect(await glob("gc/build.tg?")).toEqual([at("gc/build.tgx"), at("gc/build.tgz")]);
      expect(await glob("gc/12[0-9]")).toEqual([at("gc/120"), at("gc/121")]);
      expect(await glob("gc/12[!0-9]")).toEqual([at("gc/12a")]);
      expect(await glob("gc/build.{tgz,zip}")).toEqual([at("gc/build.tgz"), at("gc/build.zip")]);
      expect(await glob("gc/odd[[]1]")).toEqual([at("gc/odd[1]")]);
      await fails(b.list({ kind: "glob", pattern: at("gc/[abc/*.tgz"), limit: 9 }), "EINVAL");
      await fails(b.list({ kind: "glob", pattern: at("gc/{a,b"), limit: 9 }), "EINVAL");
    },
  },
  "list: limit and cursor page a directory in order, none lost or repeated": {
    async run(b, at) {
      const all = Array.from({ length: 13 }, (_, i) => `n${String(i).padStart(2, "0")}`);
      for (const n of all) await put(b, at(`p/${n}`), n);
      for (const recursive of [false, true]) {
        const { paths, pages } = await allPages(b, {
          kind: "path",
          path: at("p"),
          recursive,
          limit: 5,
        });
        expect(paths).toEqual(all);
        expect(pages).toBeGreaterThanOrEqual(3);
      }
    },
  },
  "list: a glob pages with limit and cursor, none lost or repeated": {
    async run(b, at) {
      for (let i = 0; i < 12; i++) await put(b, at(`gp/f${String(i).padStart(2, "0")}.dat`), "x");
      await put(b, at("gp/skip.txt"), "x");
      const { paths } = await allPages(b, { kind: "glob", pattern: at("gp/*.dat"), limit: 5 });
      expect(paths).toHaveLength(12);
      expect(new Set(paths).size).toBe(12);
    },
  },
  "list: a missing path is ENOENT, a malformed cursor EINVAL": {
    async run(b, at) {
      await put(b, at("m/f"), "x");
      await fails(b.list({ kind: "path", path: at("nope"), recursive: false, limit: 9 }), "ENOENT");
      await fails(
        b.list({ kind: "path", path: at("m"), recursive: false, limit: 9, cursor: "!!" }),
        "EINVAL",
      );
    },
  },

  // ── listKeys (S3's ListObjectsV2) ─────────────────────────────────────
  "listKeys: whole keys in byte order; files as stat gives them, an empty directory as dir/": {
    async run(b, at) {
      for (const n of TRICKY) await put(b, at(`kl/${n}`), n);
      await b.mkdir(at("kl/empty"));
      const base = `${keyOf(at("kl"))}/`;
      const page = await b.listKeys({
        prefix: base,
        startAfter: "",
        delimiter: false,
        limit: 1000,
      });
      expect(page.next).toBeUndefined();
      const expected = [...TRICKY, "empty/"].map((n) => base + n).sort(compareKeys);
      expect(page.items.map((i) => i.key)).toEqual(expected);
      expect(expected.indexOf(`${base}a.txt`)).toBeLessThan(expected.indexOf(`${base}a/b`));
      const file = page.items.find((i) => i.key === `${base}a.txt`);
      const stat = await b.stat(at("kl/a.txt"));
      expect(file).toMatchObject({
        kind: "object",
        entry: { absolutePath: at("kl/a.txt"), type: "file", size: 5, etag: stat.etag },
      });
      expect(page.items.find((i) => i.key === `${base}empty/`)).toMatchObject({
        kind: "object",
        entry: { absolutePath: at("kl/empty"), type: "directory", size: 0 },
      });
    },
  },
  "listKeys: the delimiter rolls up the prefix's directories; a prefix may end mid-name": {
    async run(b, at) {
      for (const n of TRICKY) await put(b, at(`kd/${n}`), n);
      await b.mkdir(at("kd/empty"));
      const base = `${keyOf(at("kd"))}/`;
      const rolled = await b.listKeys({
        prefix: base,
        startAfter: "",
        delimiter: true,
        limit: 100,
      });
      expect(rolled.items.map((i) => [i.kind, i.key.slice(base.length)])).toEqual([
        ["object", "a b"],
        ["object", "a-b"],
        ["object", "a.txt"],
        ["prefix", "a/"],
        ["prefix", "empty/"],
        ["object", "x+1"],
        ["prefix", "x/"],
        ["object", "é"],
        ["prefix", "\uFFFD/"],
        ["object", "😀"],
      ]);
      const mid = await b.listKeys({
        prefix: `${base}a`,
        startAfter: "",
        delimiter: false,
        limit: 100,
      });
      expect(mid.items.map((i) => i.key.slice(base.length))).toEqual([
        "a b",
        "a-b",
        "a.txt",
        "a/b",
        "a/c/d",
      ]);
      // A prefix that ends at an empty directory's key lists the object "dir/".
      const empty = await b.listKeys({
        prefix: `${base}empty/`,
        startAfter: "",
        delimiter: true,
        limit: 10,
      });
      expect(empty.items).toMatchObject([{ kind: "object", key: `${base}empty/` }]);
    },
  },
  "listKeys: startAfter may be any string; next pages without gaps or repeats": {
    async run(b, at) {
      for (const n of TRICKY) await put(b, at(`kp/${n}`), n);
      await b.mkdir(at("kp/empty"));
      const base = `${keyOf(at("kp"))}/`;
      const all = [...TRICKY, "empty/"].map((n) => base + n).sort(compareKeys);
      for (const delimiter of [false, true]) {
        for (const limit of [1, 2, 1000]) {
          const q = { prefix: base, startAfter: "", delimiter, limit };
          const { items } = await allKeys(b, q);
          const whole = await b.listKeys({ ...q, limit: 1000 });
          expect(items.map((i) => i.key)).toEqual(whole.items.map((i) => i.key));
          if (!delimiter) expect(items.map((i) => i.key)).toEqual(all);
        }
      }
      const after = async (startAfter: string) =>
        (await allKeys(b, { prefix: base, startAfter, delimiter: false, limit: 3 })).items.map(
          (i) => i.key,
        );
      for (const s of ["a.t", "a/", "a/b", "a/bb", "a/c/", "b", "x/", "zzz", "\u{10FFFF}"]) {
        expect(await after(base + s)).toEqual(all.filter((k) => compareKeys(k, base + s) > 0));
      }
      expect(await after("")).toEqual(all);
    },
  },
  "listKeys: a bad prefix, startAfter or limit is EINVAL": {
    async run(b) {
      const q = { prefix: "", startAfter: "", delimiter: false, limit: 10 };
      await fails(b.listKeys({ ...q, prefix: "p".repeat(1025) }), "EINVAL");
      await fails(b.listKeys({ ...q, startAfter: "a\u0000" }), "EINVAL");
      await fails(b.listKeys({ ...q, limit: 0 }), "EINVAL");
      await fails(b.listKeys({ ...q, limit: 1001 }), "EINVAL");
    },
  },

  // ── read ──────────────────────────────────────────────────────────────
  "read: a file whole, with its entry; headOnly opens no body": {
    async run(b, at) {
      const { entry } = await put(b, at("rd/f"), "0123456789");
      const r = await b.read(at("rd/f"), { headOnly: false });
      expect(r).toMatchObject({ status: 200, entry: { size: 10, etag: entry.etag } });
      expect(await bodyText(r)).toBe("0123456789");
      const head = await b.read(at("rd/f"), { headOnly: true });
      expect(head).toMatchObject({ status: 200, entry: { size: 10, etag: entry.etag } });
      expect(head.status === 200 && head.body).toBeFalsy();
    },
  },
  "read: single ranges, suffix ranges and ranges past the end are 206": {
    async run(b, at) {
      await put(b, at("rg"), "0123456789");
      const cases: [string, number, number, string][] = [
        ["bytes=0-3", 0, 4, "0123"],
        ["bytes=7-", 7, 3, "789"],
        ["bytes=-2", 8, 2, "89"],
        ["bytes=8-100", 8, 2, "89"],
        ["bytes=-50", 0, 10, "0123456789"],
      ];
      for (const [range, offset, length, text] of cases) {
        const r = await b.read(at("rg"), { headOnly: false, range });
        expect({ range, status: r.status }).toEqual({ range, status: 206 });
        expect(r.status === 206 && r.range).toEqual({ offset, length });
        expect(r.entry.size).toBe(10);
        expect(await bodyText(r)).toBe(text);
      }
    },
  },
  "read: an unsatisfiable range is ERANGE, also on an empty file": {
    async run(b, at) {
      await put(b, at("ur"), "0123456789");
      await fails(b.read(at("ur"), { headOnly: false, range: "bytes=10-" }), "ERANGE");
      await fails(b.read(at("ur"), { headOnly: false, range: "bytes=-0" }), "ERANGE");
      await put(b, at("empty"), "");
      await fails(b.read(at("empty"), { headOnly: false, range: "bytes=0-" }), "ERANGE");
    },
  },
  "read: a malformed or multiple range is EINVAL": {
    async run(b, at) {
      await put(b, at("mr"), "0123456789");
      for (const range of ["bytes=a-b", "items=0-1", "bytes=5-2", "bytes=-", "bytes=0-1,3-4"]) {
        await fails(b.read(at("mr"), { headOnly: false, range }), "EINVAL");
      }
    },
  },
  "read: If-None-Match with the current ETag is 304, another tag serves": {
    async run(b, at) {
      const { entry } = await put(b, at("inm"), "v1");
      const etag = entry.etag ?? "";
      const same = await b.read(at("inm"), { headOnly: false, ifNoneMatch: etag });
      expect(same).toMatchObject({ status: 304, entry: { etag } });
      const other = await b.read(at("inm"), { headOnly: false, ifNoneMatch: '"nope"' });
      expect(other.status).toBe(200);
      expect(await bodyText(other)).toBe("v1");
      const future = new Date(Date.now() + 3_600_000).toUTCString();
      const ims = await b.read(at("inm"), { headOnly: false, ifModifiedSince: future });
      expect(ims.status).toBe(304);
    },
  },
  "read: If-Match with a stale ETag is EPRECONDITION": {
    async run(b, at) {
      const { entry } = await put(b, at("im"), "v1");
      await fails(b.read(at("im"), { headOnly: false, ifMatch: '"stale"' }), "EPRECONDITION");
      const ok = await b.read(at("im"), { headOnly: false, ifMatch: entry.etag ?? "" });
      expect(await bodyText(ok)).toBe("v1");
    },
  },
  "read: If-Range with a stale ETag serves the whole file": {
    async run(b, at) {
      const { entry } = await put(b, at("ir"), "0123456789");
      const fresh = await b.read(at("ir"), {
        headOnly: false,
        range: "bytes=0-1",
        ifRange: entry.etag ?? "",
      });
      expect(fresh.status).toBe(206);
      expect(await bodyText(fresh)).toBe("01");
      const stale = await b.read(at("ir"), {
        headOnly: false,
        range: "bytes=0-1",
        ifRange: '"old"',
      });
      expect(stale.status).toBe(200);
      expect(await bodyText(stale)).toBe("0123456789");
    },
  },
  "read: a directory is EISDIR, a missing file ENOENT": {
    async run(b, at) {
      await put(b, at("rdir/f"), "x");
      await fails(b.read(at("rdir"), { headOnly: false }), "EISDIR");
      await fails(b.read(at("rdir/nope"), { headOnly: false }), "ENOENT");
    },
  },

  // ── write ─────────────────────────────────────────────────────────────
  "write: creates parents; created is true for a new file, false when replaced": {
    async run(b, at) {
      const first = await put(b, at("w/a/b/c.txt"), "hello");
      expect(first).toMatchObject({ created: true, entry: { type: "file", size: 5 } });
      expect(await b.stat(at("w/a/b"))).toMatchObject({ type: "directory" });
      const again = await put(b, at("w/a/b/c.txt"), "world!");
      expect(again).toMatchObject({ created: false, entry: { size: 6 } });
      expect(again.entry.etag).not.toBe(first.entry.etag);
      expect(await readText(b, at("w/a/b/c.txt"))).toBe("world!");
      expect((await b.stat(at("w/a/b/c.txt"))).etag).toBe(again.entry.etag);
    },
  },
  "write: a body of unknown length is stored whole": {
    async run(b, at) {
      const text = "chunked body of unknown length ".repeat(20);
      const w = await b.write(at("ch"), chunked(text), NONE);
      expect(w).toMatchObject({ created: true, entry: { size: text.length } });
      expect(await readText(b, at("ch"))).toBe(text);
    },
  },
  "write: an empty file is a file of size 0": {
    async run(b, at) {
      expect(await put(b, at("e0"), "")).toMatchObject({ entry: { type: "file", size: 0 } });
      expect(await b.stat(at("e0"))).toMatchObject({ type: "file", size: 0 });
      expect(await readText(b, at("e0"))).toBe("");
    },
  },
  "write: a body shorter than its declared length is EINVAL and the old file stays": {
    async run(b, at) {
      await put(b, at("keep"), "original");
      await fails(b.write(at("keep"), short("0123456789", 20), NONE), "EINVAL");
      expect(await readText(b, at("keep"))).toBe("original");
    },
  },
  "write: onto a directory is EISDIR": {
    async run(b, at) {
      await put(b, at("wd/f"), "x");
      await b.mkdir(at("empty-dir"));
      await fails(put(b, at("wd"), "y"), "EISDIR");
      await fails(put(b, at("empty-dir"), "y"), "EISDIR");
      expect(await readText(b, at("wd/f"))).toBe("x");
      expect(await b.stat(at("wd"))).toMatchObject({ type: "directory" });
    },
  },
  "write: onto the root is EISDIR": {
    async run(b, at) {
      await fails(put(b, at(""), "y"), "EISDIR");
      expect(await b.stat(at(""))).toMatchObject({ type: "directory" });
    },
  },
  "write: below a file is ENOTDIR": {
    async run(b, at) {
      await put(b, at("file"), "x");
      await fails(put(b, at("file/g"), "y"), "ENOTDIR");
      await fails(put(b, at("file/deeper/g"), "y"), "ENOTDIR");
      expect(await b.stat(at("file"))).toMatchObject({ type: "file", size: 1 });
      await fails(b.stat(at("file/g")), "ENOENT");
    },
  },
  "write: If-None-Match * creates only; a second create is EPRECONDITION": {
    needs: "conditionalWrites",
    async run(b, at) {
      const once = { ifNoneMatch: ["*"] };
      expect(await put(b, at("once"), "first", once)).toMatchObject({ created: true });
      await fails(put(b, at("once"), "second", once), "EPRECONDITION");
      expect(await readText(b, at("once"))).toBe("first");
    },
  },
  "write: If-Match is compare-and-swap; If-Match on a missing file fails": {
    needs: "conditionalWrites",
    async run(b, at) {
      const v1 = await put(b, at("cas"), "v1");
      const v2 = await put(b, at("cas"), "v2", { ifMatch: [v1.entry.etag ?? ""] });
      expect(v2.created).toBe(false);
      await fails(put(b, at("cas"), "v3", { ifMatch: [v1.entry.etag ?? ""] }), "EPRECONDITION");
      expect(await readText(b, at("cas"))).toBe("v2");
      await fails(put(b, at("missing"), "x", { ifMatch: ["*"] }), "EPRECONDITION");
      expect(await put(b, at("cas"), "v4", { ifMatch: ["*"] })).toMatchObject({ created: false });
    },
  },

  // ── mkdir ─────────────────────────────────────────────────────────────
  "mkdir: is mkdir -p; created true, then false; the directory lists empty": {
    async run(b, at) {
      const made = await b.mkdir(at("x/y/z"));
      expect(made).toMatchObject({ created: true, entry: { type: "directory" } });
      expect(await b.mkdir(at("x/y/z"))).toMatchObject({ created: false });
      expect(await b.stat(at("x/y"))).toMatchObject({ type: "directory" });
      expect(await names(b, at("x/y/z"))).toEqual([]);
      expect(await names(b, at("x/y"))).toEqual(["z"]);
    },
  },
  "mkdir: at or below a file is ENOTDIR": {
    async run(b, at) {
      await put(b, at("mf"), "x");
      await fails(b.mkdir(at("mf")), "ENOTDIR");
      await fails(b.mkdir(at("mf/sub")), "ENOTDIR");
      expect(await b.stat(at("mf"))).toMatchObject({ type: "file" });
    },
  },

  // ── remove ────────────────────────────────────────────────────────────
  "remove: a file goes, and then it is ENOENT": {
    async run(b, at) {
      await put(b, at("rm/a"), "a");
      await put(b, at("rm/b"), "b");
      await b.remove(at("rm/a"), { recursive: false });
      await fails(b.stat(at("rm/a")), "ENOENT");
      await fails(b.remove(at("rm/a"), { recursive: false }), "ENOENT");
      expect(await names(b, at("rm"))).toEqual(["b"]);
    },
  },
  "remove: a non-empty directory needs recursive (ENOTEMPTY), then all of it goes": {
    async run(b, at) {
      await put(b, at("rt/a"), "a");
      await put(b, at("rt/deep/b"), "b");
      await fails(b.remove(at("rt"), { recursive: false }), "ENOTEMPTY");
      expect(await readText(b, at("rt/deep/b"))).toBe("b");
      await b.remove(at("rt"), { recursive: true });
      await fails(b.stat(at("rt")), "ENOENT");
      await fails(b.stat(at("rt/deep/b")), "ENOENT");
    },
  },
  "remove: an empty directory goes without recursive": {
    async run(b, at) {
      await b.mkdir(at("ed/inner"));
      await b.remove(at("ed/inner"), { recursive: false });
      await fails(b.stat(at("ed/inner")), "ENOENT");
      expect(await names(b, at("ed"))).toEqual([]);
    },
  },
  "remove: a missing path is ENOENT": {
    async run(b, at) {
      await fails(b.remove(at("never"), { recursive: true }), "ENOENT");
    },
  },

  // ── move (rename) ─────────────────────────────────────────────────────
  "move: a file keeps its bytes and ETag, into new parents; the source is gone": {
    needs: "rename",
    async run(b, at) {
      const { entry } = await put(b, at("mv/a"), "bytes");
      const moved = await b.move(at("mv/a"), at("mv2/sub/b"), { overwrite: false });
      expect(moved.entry).toMatchObject({ type: "file", etag: entry.etag });
      expect(await readText(b, at("mv2/sub/b"))).toBe("bytes");
      await fails(b.stat(at("mv/a")), "ENOENT");
    },
  },
  "move: a directory takes its subtree; siblings stay": {
    needs: "rename",
    async run(b, at) {
      await put(b, at("src/a"), "1");
      await put(b, at("src/sub/b"), "2");
      await put(b, at("src-sibling"), "stays");
      await b.move(at("src"), at("dst/moved"), { overwrite: false });
      expect(await names(b, at("dst/moved"))).toEqual(["a", "sub"]);
      expect(await readText(b, at("dst/moved/sub/b"))).toBe("2");
      await fails(b.stat(at("src")), "ENOENT");
      expect(await readText(b, at("src-sibling"))).toBe("stays");
    },
  },
  "move: a missing source is ENOENT, a directory into itself EINVAL": {
    needs: "rename",
    async run(b, at) {
      await put(b, at("md/x"), "1");
      await fails(b.move(at("nope"), at("x"), { overwrite: false }), "ENOENT");
      await fails(b.move(at("md"), at("md/inner"), { overwrite: false }), "EINVAL");
      expect(await readText(b, at("md/x"))).toBe("1");
    },
  },
  "move: onto an existing path without overwrite is EEXIST": {
    needs: "rename",
    async run(b, at) {
      await put(b, at("a"), "A");
      await put(b, at("b"), "B");
      await fails(b.move(at("a"), at("b"), { overwrite: false }), "EEXIST");
      expect(await readText(b, at("b"))).toBe("B");
      expect(await readText(b, at("a"))).toBe("A");
    },
  },
  "move: overwrite follows rename(2): EISDIR, ENOTDIR, ENOTEMPTY; a file replaces a file": {
    needs: "rename",
    async run(b, at) {
      await put(b, at("a"), "A");
      await put(b, at("b"), "B");
      await put(b, at("dir/x"), "x");
      await put(b, at("dir2/y"), "y");
      await b.mkdir(at("emptydir"));
      const o = { overwrite: true };
      await fails(b.move(at("a"), at("dir"), o), "EISDIR");
      await fails(b.move(at("dir"), at("a"), o), "ENOTDIR");
      await fails(b.move(at("dir"), at("dir2"), o), "ENOTEMPTY");
      await b.move(at("a"), at("b"), o);
      expect(await readText(b, at("b"))).toBe("A");
      await b.move(at("dir"), at("emptydir"), o);
      expect(await readText(b, at("emptydir/x"))).toBe("x");
    },
  },
  'move: overwrite "any" replaces whatever is there': {
    needs: "rename",
    async run(b, at) {
      await put(b, at("f"), "F");
      await put(b, at("full/y"), "y");
      await b.move(at("f"), at("full"), { overwrite: "any" });
      expect(await readText(b, at("full"))).toBe("F");
      await fails(b.stat(at("full/y")), "ENOENT");
    },
  },

  // ── versions ──────────────────────────────────────────────────────────
  "versions: each change names the version it made, one past the last; the last reads as the latest":
    {
      needs: "versions",
      async run(b, at) {
        const versions = b.versions;
        if (!versions) throw new Error("features.versions without versions");
        const made: number[] = [];
        const note = (r: { version?: number }) => {
          expect(r.version).toBeTypeOf("number");
          made.push(r.version as number);
        };
        note(await put(b, at("v/a"), "one"));
        note(await b.mkdir(at("v/d")));
        note(await b.copy(at("v/a"), at("v/d/a"), { overwrite: false, recursive: false }));
        if (b.features.rename) note(await b.move(at("v/a"), at("v/b"), { overwrite: false }));
        note(await b.remove(at("v/d"), { recursive: true }));
        for (let i = 1; i < made.length; i++) expect(made[i]).toBe((made[i - 1] as number) + 1);
        // (Older versions may be out of the retention window here: the latest is readable.)
        const latest = versions.view(await versions.resolve({ version: made.at(-1) as number }));
        await fails(latest.stat(at("v/d")), "ENOENT");
        expect((await latest.stat(at(b.features.rename ? "v/b" : "v/a"))).size).toBe(3);
      },
    },

  // ── copy ──────────────────────────────────────────────────────────────
  "copy: a file, into new parents; the copies are independent": {
    async run(b, at) {
      await put(b, at("c/x"), "one");
      const copied = await b.copy(at("c/x"), at("c2/sub/y"), {
        overwrite: false,
        recursive: false,
      });
      expect(copied.entry).toMatchObject({ type: "file", size: 3 });
      await put(b, at("c2/sub/y"), "two");
      expect(await readText(b, at("c/x"))).toBe("one");
      expect(await readText(b, at("c2/sub/y"))).toBe("two");
    },
  },
  "copy: a directory needs recursive (EISDIR), then copies the whole subtree": {
    async run(b, at) {
      await put(b, at("t/a"), "a");
      await put(b, at("t/deep/b"), "b");
      await fails(b.copy(at("t"), at("u"), { overwrite: false, recursive: false }), "EISDIR");
      const copied = await b.copy(at("t"), at("u"), { overwrite: false, recursive: true });
      expect(copied.entry).toMatchObject({ type: "directory" });
      expect(await readText(b, at("u/deep/b"))).toBe("b");
      expect(await readText(b, at("t/a"))).toBe("a");
    },
  },
  "copy: a missing source is ENOENT; into or onto itself EINVAL": {
    async run(b, at) {
      await put(b, at("d/f"), "1");
      await put(b, at("g"), "2");
      const o = { overwrite: false, recursive: true };
      await fails(b.copy(at("nope"), at("x"), o), "ENOENT");
      await fails(b.copy(at("d"), at("d/sub"), o), "EINVAL");
      await fails(b.copy(at("g"), at("g"), { overwrite: true, recursive: false }), "EINVAL");
      expect(await readText(b, at("g"))).toBe("2");
    },
  },
  "copy: onto an existing path without overwrite is EEXIST": {
    async run(b, at) {
      await put(b, at("g"), "2");
      await put(b, at("d/f"), "1");
      await fails(b.copy(at("g"), at("d/f"), { overwrite: false, recursive: false }), "EEXIST");
      await fails(b.copy(at("g"), at("d"), { overwrite: false, recursive: false }), "EEXIST");
      expect(await readText(b, at("d/f"))).toBe("1");
    },
  },
  "copy: overwrite follows rename(2) like move: EISDIR, ENOTDIR, ENOTEMPTY; a file replaces a file":
    {
      async run(b, at) {
        await put(b, at("a"), "A");
        await put(b, at("b"), "B");
        await put(b, at("dir/x"), "x");
        await put(b, at("dir2/y"), "y");
        await b.mkdir(at("emptydir"));
        const o = { overwrite: true, recursive: true };
        await fails(b.copy(at("a"), at("dir"), o), "EISDIR");
        await fails(b.copy(at("dir"), at("a"), o), "ENOTDIR");
        await fails(b.copy(at("dir"), at("dir2"), o), "ENOTEMPTY");
        // Nothing was changed by the refusals.
        expect(await readText(b, at("dir/x"))).toBe("x");
        expect(await readText(b, at("dir2/y"))).toBe("y");
        expect(await readText(b, at("a"))).toBe("A");
        await b.copy(at("a"), at("b"), o);
        expect(await readText(b, at("b"))).toBe("A");
        await b.copy(at("dir"), at("emptydir"), o);
        expect(await readText(b, at("emptydir/x"))).toBe("x");
      },
    },
  'copy: overwrite "any" replaces whatever is there': {
    async run(b, at) {
      await put(b, at("f"), "F");
      await put(b, at("full/y"), "y");
      await b.copy(at("f"), at("full"), { overwrite: "any", recursive: false });
      expect(await readText(b, at("full"))).toBe("F");
      await fails(b.stat(at("full/y")), "ENOENT");
      expect(await readText(b, at("f"))).toBe("F");
    },
  },

  // ── multipart uploads ─────────────────────────────────────────────────
  "uploads: create, parts, status, complete commit a file like write": {
    needs: "multipart",
    async run(b, at) {
      const full = fill(5 * MiB, 1);
      const last = fill(1000, 2);
      const info = await b.createUpload(at("up/big"), { partSize: 5 * MiB, conditions: NONE });
      expect(info).toMatchObject({ partSize: 5 * MiB });
      // Parts may arrive in any order.
      await b.uploadPart(info.uploadId, 2, last, last.byteLength);
      const p1 = await b.uploadPart(info.uploadId, 1, full, full.byteLength);
      expect(p1).toMatchObject({ partNumber: 1, size: 5 * MiB });
      const status = await b.uploadStatus(info.uploadId);
      expect(status.parts.map((p) => [p.partNumber, p.size])).toEqual([
        [1, 5 * MiB],
        [2, 1000],
      ]);
      expect(status.received).toBe(5 * MiB + 1000);
      const done = await b.completeUpload(info.uploadId);
      expect(done).toMatchObject({ created: true, entry: { type: "file", size: 5 * MiB + 1000 } });
      const tail = await b.read(at("up/big"), { headOnly: false, range: "bytes=-1000" });
      expect(
        new Uint8Array(await new Response(tail.status === 206 ? tail.body : null).arrayBuffer()),
      ).toEqual(last);
      await fails(b.uploadStatus(info.uploadId), "ENOENT");
    },
  },
  "uploads: every part but the last is partSize bytes (EINVAL otherwise)": {
    needs: "multipart",
    async run(b, at) {
      const info = await b.createUpload(at("up/rules"), { partSize: 5 * MiB, conditions: NONE });
      const big = fill(5 * MiB + 1, 3);
      await fails(b.uploadPart(info.uploadId, 1, big, big.byteLength), "EINVAL");
      const small = fill(10, 4);
      await b.uploadPart(info.uploadId, 1, small, small.byteLength);
      // A short part is the last one: nothing may follow it.
      const full = fill(5 * MiB, 5);
      await fails(b.uploadPart(info.uploadId, 2, full, full.byteLength), "EINVAL");
      await b.abortUpload(info.uploadId);
    },
  },
  "uploads: complete with a missing part is EINVAL": {
    needs: "multipart",
    async run(b, at) {
      const info = await b.createUpload(at("up/gap"), { partSize: 5 * MiB, conditions: NONE });
      const small = fill(10, 6);
      await b.uploadPart(info.uploadId, 2, small, small.byteLength);
      await fails(b.completeUpload(info.uploadId), "EINVAL");
      await fails(b.stat(at("up/gap")), "ENOENT");
      await b.abortUpload(info.uploadId);
    },
  },
  "uploads: an aborted or unknown upload is ENOENT": {
    needs: "multipart",
    async run(b, at) {
      const info = await b.createUpload(at("up/ab"), { partSize: 5 * MiB, conditions: NONE });
      await b.abortUpload(info.uploadId);
      const small = fill(10, 7);
      await fails(b.uploadPart(info.uploadId, 1, small, small.byteLength), "ENOENT");
      await fails(b.completeUpload(info.uploadId), "ENOENT");
      await fails(b.uploadStatus("0".repeat(32)), "ENOENT");
      await fails(b.stat(at("up/ab")), "ENOENT");
    },
  },
  "uploads: create fails fast like write: EISDIR, ENOTDIR, EPRECONDITION": {
    needs: "multipart",
    async run(b, at) {
      await put(b, at("ud/f"), "x");
      const o = { partSize: 5 * MiB, conditions: NONE };
      await fails(b.createUpload(at("ud"), o), "EISDIR");
      await fails(b.createUpload(at("ud/f/g"), o), "ENOTDIR");
      await fails(
        b.createUpload(at("ud/f"), { partSize: 5 * MiB, conditions: { ifNoneMatch: ["*"] } }),
        "EPRECONDITION",
      );
    },
  },
} satisfies Record<string, Case>;

export type CaseName = keyof typeof CASES;

/** The number of cases, for reports. */
export const CASE_COUNT = Object.keys(CASES).length;

/** Deterministic bytes, so a failure reproduces. */
function fill(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** Registers the suite for one backend or front-end. */
export function runBackendContract({ name, newBackend, root = "/", skip = [] }: ContractRun) {
  const skipped = new Map<string, string>();
  for (const entry of skip) {
    for (const test of entry.tests) {
      if (!(test in CASES)) throw new Error(`skip list names no case: ${test}`);
      skipped.set(test, entry.reason);
    }
  }
  const base = parsePath(root);
  const at = (p: string): FsPath => parsePath(p === "" ? base : `${base}/${p}`);
  describe(`Backend contract: ${name}`, () => {
    for (const [caseName, c] of Object.entries(CASES) as [string, Case][]) {
      const reason = skipped.get(caseName);
      if (reason !== undefined) {
        it.skip(`${caseName} (skipped: ${reason})`, () => {});
        continue;
      }
      it(caseName, async (ctx) => {
        const backend = await newBackend();
        if (c.needs && !declares(backend, c.needs)) {
          ctx.skip(`the backend does not declare ${c.needs}`);
          return;
        }
        await c.run(backend, at);
      });
    }
  });
}
