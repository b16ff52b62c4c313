// S3 key listing of share storage (Backend.listKeys, src/durable/key-listing.ts):
// whole keys in UTF-8 byte order, against a model that sorts every key.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ShareBackend, shareStub } from "../../src/backends/share-backend";
import { configFrom } from "../../src/config";
import type { KeyItem, KeyPage, KeyQuery } from "../../src/core/backend";
import { SubrequestBudget } from "../../src/core/budget";
import { FsError } from "../../src/core/errors";
import { compareKeys } from "../../src/core/key-order";
import { parsePath } from "../../src/core/paths";
import { SORT_KEY } from "../../src/durable/key-listing";
import { MIGRATIONS } from "../../src/durable/schema";
import { type ShareApi, shareClient } from "../../src/durable/share-client";
import type { ShareDO } from "../../src/durable/share-do";
import { newShare } from "./helpers";

const LONG = (env as unknown as { EDGEFS_STRESS?: string }).EDGEFS_STRESS === "long";
const RUNS = LONG ? 1000 : 60;

/**
 * Names that a name-ordered walk puts in the wrong order: "." "-" " " "!"
 * "+" sort below "/" in bytes, so "a.txt" < "a/b"; U+FFFD sorts below an
 * emoji in UTF-8 but above it in UTF-16.
 */
const FILES = [
  "a.txt",
  "a-b",
  "a b",
  "a/b",
  "a/b.c/d",
  "a/b!",
  "a0",
  "ab",
  "x!",
  "x+1",
  "x.",
  "x/y",
  "x/y z/1",
  "é",
  "日本/x",
  "😀",
  "\uFFFD/q",
  "d/e/f",
];
/** Empty directories: each is the object "dir/". */
const EMPTY_DIRS = ["empty", "a/empty2", "z/zz/zzz", "d/e2", "x/y.d"];
/** Bucket mount points (empty directories of the share with a mounts row). */
const MOUNTS = ["mnt", "x/m"];

const BUCKET = {
  bucket: "data-bucket",
  endpoint: "http://127.0.0.1:9",
  region: "auto",
  keyPrefix: "",
  secret: null,
  readOnly: false,
  requesterPays: false,
  forcePathStyle: true,
};

async function newBackend(): Promise<{ backend: ShareBackend; api: ShareApi; share: string }> {
  const share = await newShare("keys");
  const api = shareClient(shareStub(env, "main", share));
  const budget = new SubrequestBudget(configFrom(env).subrequestBudget);
  return {
    backend: new ShareBackend(api, env.BLOBS, configFrom(env), () => {}, budget),
    api,
    share,
  };
}

async function write(b: ShareBackend, key: string, body = key): Promise<void> {
  const bytes = new TextEncoder().encode(body);
  await b.write(
    parsePath(`/${key}`),
    { stream: new Blob([bytes]).stream(), length: bytes.length },
    {},
  );
}

/** What every leaf of the tree is as a key: files, empty directories, mount points. */
type Leaf = { key: string; kind: "object" | "mount" };

/**
 * The model: S3's rule on a sorted list of every key. Without delimiter,
 * the leaves; with it, each leaf's key cut after the first "/" past the
 * prefix becomes a prefix item (once); then keys after startAfter.
 */
function model(
  leaves: readonly Leaf[],
  q: Omit<KeyQuery, "limit">,
): { kind: string; key: string }[] {
  const out = new Map<string, string>();
  for (const leaf of leaves) {
    if (!leaf.key.startsWith(q.prefix)) continue;
    const cut = q.delimiter ? leaf.key.indexOf("/", q.prefix.length) : -1;
    if (cut >= 0) out.set(leaf.key.slice(0, cut + 1), "prefix");
    else out.set(leaf.key, leaf.kind);
  }
  return [...out]
    .filter(([key]) => compareKeys(key, q.startAfter) > 0)
    .sort(([a], [b]) => compareKeys(a, b))
    .map(([key, kind]) => ({ kind, key }));
}

const brief = (items: KeyItem[]) => items.map((i) => ({ kind: i.kind, key: i.key }));

/** Every page from startAfter on, following `next` (bounded). */
async function allPages(
  list: (q: KeyQuery) => Promise<KeyPage>,
  q: KeyQuery,
): Promise<{ items: KeyItem[]; pages: KeyPage[] }> {
  const items: KeyItem[] = [];
  const pages: KeyPage[] = [];
  let startAfter = q.startAfter;
  for (let n = 0; n < 500; n++) {
    const page = await list({ ...q, startAfter });
    pages.push(page);
    items.push(...page.items);
    if (page.next === undefined) return { items, pages };
    expect(compareKeys(page.next, startAfter)).toBeGreaterThan(0);
    startAfter = page.next;
  }
  throw new Error("the listing did not end in 500 pages");
}

describe("listKeys on share storage", () => {
  let backend: ShareBackend;
  let api: ShareApi;
  const leaves: Leaf[] = [
    ...FILES.map((key) => ({ key, kind: "object" as const })),
    ...EMPTY_DIRS.map((d) => ({ key: `${d}/`, kind: "object" as const })),
    ...MOUNTS.map((m) => ({ key: `${m}/`, kind: "mount" as const })),
  ];
  const list = (q: KeyQuery) => backend.listKeys(q);

  beforeAll(async () => {
    ({ backend, api } = await newBackend());
    for (const key of FILES) await write(backend, key);
    for (const d of EMPTY_DIRS) await backend.mkdir(parsePath(`/${d}`));
    for (const m of MOUNTS) {
      await api.putMount(parsePath(`/${m}`), BUCKET);
    }
  });

  it("lists whole keys in byte order, not names depth first", async () => {
    const page = await list({ prefix: "", startAfter: "", delimiter: false, limit: 1000 });
    expect(page.next).toBeUndefined();
    expect(brief(page.items)).toEqual(
      model(leaves, { prefix: "", startAfter: "", delimiter: false }),
    );
    const keys = page.items.map((i) => i.key);
    // The cases that a walk by names gets wrong.
    expect(keys.indexOf("a.txt")).toBeLessThan(keys.indexOf("a/b"));
    expect(keys.indexOf("a b")).toBeLessThan(keys.indexOf("a/b"));
    expect(keys.indexOf("a-b")).toBeLessThan(keys.indexOf("a/b"));
    expect(keys.indexOf("x+1")).toBeLessThan(keys.indexOf("x/y"));
    expect(keys.indexOf("x/y")).toBeLessThan(keys.indexOf("x/y z/1"));
    expect(keys.indexOf("x/y z/1")).toBeLessThan(keys.indexOf("x/y.d/"));
    expect(keys.indexOf("x/m/")).toBeLessThan(keys.indexOf("x/y"));
    expect(keys.indexOf("\uFFFD/q")).toBeLessThan(keys.indexOf("😀"));
    expect(keys.slice(0, 6)).toEqual(["a b", "a-b", "a.txt", "a/b", "a/b!", "a/b.c/d"]);
  });

  it("files carry what stat gives; an empty directory is the object dir/, a full one no object", async () => {
    const page = await list({ prefix: "", startAfter: "", delimiter: false, limit: 1000 });
    const file = page.items.find((i) => i.key === "a.txt");
    expect(file).toEqual({
      kind: "object",
      key: "a.txt",
      entry: await backend.stat(parsePath("/a.txt")),
    });
    const empty = page.items.find((i) => i.key === "a/empty2/");
    expect(empty).toMatchObject({
      kind: "object",
      entry: { absolutePath: "/a/empty2", type: "directory", size: 0 },
    });
    const keys = page.items.map((i) => i.key);
    for (const full of ["a/", "d/", "d/e/", "x/", "z/", "z/zz/"]) expect(keys).not.toContain(full);
    expect(keys).toContain("z/zz/zzz/");
    expect(keys).toContain("d/e2/");
  });

  it("a prefix may end mid-name", async () => {
    const page = await list({ prefix: "a", startAfter: "", delimiter: false, limit: 1000 });
    expect(page.items.map((i) => i.key)).toEqual([
      "a b",
      "a-b",
      "a.txt",
      "a/b",
      "a/b!",
      "a/b.c/d",
      "a/empty2/",
      "a0",
      "ab",
    ]);
    const mid = await list({ prefix: "a/b", startAfter: "", delimiter: false, limit: 1000 });
    expect(mid.items.map((i) => i.key)).toEqual(["a/b", "a/b!", "a/b.c/d"]);
    const none = await list({ prefix: "a/q", startAfter: "", delimiter: false, limit: 10 });
    expect(none).toEqual({ items: [] });
    const belowFile = await list({ prefix: "a.txt/", startAfter: "", delimiter: false, limit: 10 });
    expect(belowFile).toEqual({ items: [] });
  });

  it("the delimiter rolls up each directory at the prefix's level into one prefix item", async () => {
    const root = await list({ prefix: "", startAfter: "", delimiter: true, limit: 1000 });
    expect(brief(root.items)).toEqual([
      { kind: "object", key: "a b" },
      { kind: "object", key: "a-b" },
      { kind: "object", key: "a.txt" },
      { kind: "prefix", key: "a/" },
      { kind: "object", key: "a0" },
      { kind: "object", key: "ab" },
      { kind: "prefix", key: "d/" },
      { kind: "prefix", key: "empty/" },
      { kind: "prefix", key: "mnt/" },
      { kind: "object", key: "x!" },
      { kind: "object", key: "x+1" },
      { kind: "object", key: "x." },
      { kind: "prefix", key: "x/" },
      { kind: "prefix", key: "z/" },
      { kind: "object", key: "é" },
      { kind: "prefix", key: "日本/" },
      { kind: "prefix", key: "\uFFFD/" },
      { kind: "object", key: "😀" },
    ]);
    const x = await list({ prefix: "x/", startAfter: "", delimiter: true, limit: 1000 });
    expect(brief(x.items)).toEqual([
      { kind: "prefix", key: "x/m/" },
      { kind: "object", key: "x/y" },
      { kind: "prefix", key: "x/y z/" },
      { kind: "prefix", key: "x/y.d/" },
    ]);
  });

  it("a prefix that ends at an empty directory's key lists it as the object dir/", async () => {
    const empty = await list({ prefix: "empty/", startAfter: "", delimiter: true, limit: 10 });
    expect(empty.items).toMatchObject([
      { kind: "object", key: "empty/", entry: { absolutePath: "/empty", type: "directory" } },
    ]);
    expect(
      await list({ prefix: "empty/", startAfter: "empty/", delimiter: true, limit: 10 }),
    ).toEqual({
      items: [],
    });
    const full = await list({ prefix: "d/", startAfter: "", delimiter: true, limit: 10 });
    expect(brief(full.items)).toEqual([
      { kind: "prefix", key: "d/e/" },
      { kind: "prefix", key: "d/e2/" },
    ]);
  });

  it("startAfter may be any string", async () => {
    const keysAfter = async (startAfter: string, delimiter = false) =>
      (await list({ prefix: "", startAfter, delimiter, limit: 3 })).items.map((i) => i.key);
    expect(await keysAfter("a.t")).toEqual(["a.txt", "a/b", "a/b!"]);
    expect(await keysAfter("a/")).toEqual(["a/b", "a/b!", "a/b.c/d"]);
    expect(await keysAfter("a/b.c/")).toEqual(["a/b.c/d", "a/empty2/", "a0"]);
    expect(await keysAfter("a/b.c/d")).toEqual(["a/empty2/", "a0", "ab"]);
    expect(await keysAfter("a/zzz/q")).toEqual(["a0", "ab", "d/e/f"]);
    expect(await keysAfter("c")).toEqual(["d/e/f", "d/e2/", "empty/"]);
    expect(await keysAfter("😀")).toEqual([]);
    expect(await keysAfter("\u{10FFFF}")).toEqual([]);
    // With delimiter a prefix item is its own key: at or inside it, it is behind.
    expect(await keysAfter("a/", true)).toEqual(["a0", "ab", "d/"]);
    expect(await keysAfter("a/b", true)).toEqual(["a0", "ab", "d/"]);
    expect(await keysAfter("a.txt", true)).toEqual(["a/", "a0", "ab"]);
  });

  it("mount points are mount items without delimiter, prefixes with it", async () => {
    const all = await list({ prefix: "", startAfter: "", delimiter: false, limit: 1000 });
    expect(all.items.filter((i) => i.kind === "mount")).toEqual([
      { kind: "mount", key: "mnt/" },
      { kind: "mount", key: "x/m/" },
    ]);
    expect(await list({ prefix: "mnt/", startAfter: "", delimiter: true, limit: 5 })).toEqual({
      items: [{ kind: "mount", key: "mnt/" }],
    });
    expect(await list({ prefix: "x/", startAfter: "", delimiter: false, limit: 1 })).toEqual({
      items: [{ kind: "mount", key: "x/m/" }],
      next: "x/m/",
    });
    // The caller resumes past the mount's own keys.
    const resumed = await list({ prefix: "x/", startAfter: "x/m/zzz", delimiter: false, limit: 5 });
    expect(resumed.items.map((i) => i.key)).toEqual(["x/y", "x/y z/1", "x/y.d/"]);
  });

  it(
    "pages through next: exactly the sorted keys, none lost or repeated (property)",
    async () => {
      const keys = leaves.map((l) => l.key);
      const pieces = [
        ...new Set(
          keys.flatMap((k) =>
            Array.from(k).map((_, i) =>
              Array.from(k)
                .slice(0, i + 1)
                .join(""),
            ),
          ),
        ),
      ];
      const text = fc.oneof(
        fc.constantFrom("", ...pieces),
        fc
          .array(
            fc.constantFrom("a", "b", "x", "y", ".", "/", "-", " ", "!", "é", "😀", "\uFFFD", "z"),
            {
              maxLength: 5,
            },
          )
          .map((cs) => cs.join("")),
      );
      await fc.assert(
        fc.asyncProperty(
          text,
          text,
          fc.boolean(),
          fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(1000)),
          fc.constantFrom(1, 2, 3, 7, undefined),
          async (prefix, startAfter, delimiter, limit, scanBudget) => {
            const q = { prefix, startAfter, delimiter, limit };
            const { items, pages } = await allPages((p) => api.listKeys(p, scanBudget), q);
            expect(brief(items)).toEqual(model(leaves, q));
            for (const page of pages) expect(page.items.length).toBeLessThanOrEqual(limit);
            if (scanBudget === undefined) {
              // Unbounded by the budget, a page is full unless it is the last.
              for (const page of pages.slice(0, -1)) expect(page.items).toHaveLength(limit);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    LONG ? 900_000 : 60_000,
  );

  it("refuses bad queries with EINVAL, never anything else", async () => {
    const base = { prefix: "", startAfter: "", delimiter: false, limit: 10 };
    const bad: KeyQuery[] = [
      { ...base, prefix: "p".repeat(1025) },
      { ...base, startAfter: "é".repeat(513) },
      { ...base, prefix: "a\u0000" },
      { ...base, startAfter: "a\nb" },
      { ...base, prefix: "\uD800" },
      { ...base, limit: 0 },
      { ...base, limit: 1001 },
      { ...base, limit: 1.5 },
      { ...base, delimiter: "yes" as unknown as boolean },
      { ...base, prefix: 7 as unknown as string },
    ];
    for (const q of bad) {
      const e = await backend.listKeys(q).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(e).toBeInstanceOf(FsError);
      expect((e as FsError).code).toBe("EINVAL");
    }
    // The longest allowed is fine.
    expect((await list({ ...base, prefix: "p".repeat(1024) })).items).toEqual([]);
  });
});

describe("listKeys bounds its work", () => {
  it("reads nothing outside the prefix: a tiny budget still answers a prefix in one page", async () => {
    const { backend, api } = await newBackend();
    for (let i = 0; i < 150; i++) await write(backend, `big/f${String(i).padStart(3, "0")}`);
    for (const key of ["zz1", "zz2", "zz3"]) await write(backend, key);
    const page = await api.listKeys(
      { prefix: "zz", startAfter: "", delimiter: false, limit: 10 },
      4,
    );
    expect(page).toMatchObject({ items: [{ key: "zz1" }, { key: "zz2" }, { key: "zz3" }] });
    expect(page.next).toBeUndefined();
    // Resuming deep inside a big directory reads from there, not from its start.
    const late = await api.listKeys(
      { prefix: "", startAfter: "big/f147", delimiter: false, limit: 3 },
      8,
    );
    expect(late.items.map((i) => i.key)).toEqual(["big/f148", "big/f149", "zz1"]);
  });

  it("a budget that runs out among empty directories answers early with next, and resumes there", async () => {
    const { backend, api } = await newBackend();
    // Nested directories that hold only further directories cost a row each and return nothing.
    const chain = Array.from({ length: 30 }, (_, i) => `c${i}`).join("/");
    await backend.mkdir(parsePath(`/deep/${chain}`));
    await write(backend, "later");
    const q = { prefix: "", startAfter: "", delimiter: false, limit: 10 };
    const first = await api.listKeys(q, 5);
    expect(first.items).toEqual([]);
    expect(first.next).toBeDefined();
    expect(`deep/${chain}/`.startsWith(first.next as string)).toBe(true);
    const { items, pages } = await allPages((p) => api.listKeys(p, 5), q);
    expect(items.map((i) => i.key)).toEqual([`deep/${chain}/`, "later"]);
    expect(pages.length).toBeGreaterThan(3);
    // The default budget answers it in one call.
    const whole = await api.listKeys(q);
    expect(whole.items.map((i) => i.key)).toEqual([`deep/${chain}/`, "later"]);
    expect(whole.next).toBeUndefined();
  });

  it("a full page says next only when more follows", async () => {
    const { backend } = await newBackend();
    for (const key of ["k1", "k2"]) await write(backend, key);
    const exact = await backend.listKeys({
      prefix: "",
      startAfter: "",
      delimiter: false,
      limit: 2,
    });
    expect(exact).toEqual({
      items: [expect.objectContaining({ key: "k1" }), expect.objectContaining({ key: "k2" })],
    });
    const short = await backend.listKeys({
      prefix: "",
      startAfter: "",
      delimiter: false,
      limit: 1,
    });
    expect(short.next).toBe("k1");
  });

  it("an empty share lists nothing", async () => {
    const { backend } = await newBackend();
    for (const delimiter of [false, true]) {
      expect(await backend.listKeys({ prefix: "", startAfter: "", delimiter, limit: 5 })).toEqual({
        items: [],
      });
    }
  });
});

describe("listKeys storage", () => {
  it("each directory step is one range of the key index, no sort", async () => {
    const { backend, share } = await newBackend();
    await write(backend, "a/b");
    await runInDurableObject(shareStub(env, "main", share), (_instance, state) => {
      const plan = state.storage.sql
        .exec<{ detail: string }>(
          `EXPLAIN QUERY PLAN SELECT name FROM nodes
           WHERE parent = 1 AND died IS NULL AND ${SORT_KEY} > 'a' AND ${SORT_KEY} >= 'a'
             AND ${SORT_KEY} < 'b' ORDER BY ${SORT_KEY} LIMIT 5`,
        )
        .toArray()
        .map((r) => r.detail)
        .join("; ");
      expect(plan).toContain("nodes_live_by_key");
      expect(plan).not.toContain("TEMP B-TREE");
    });
  });

  it("a share from before the key index gets it on upgrade and lists its existing files", async () => {
    const { backend, share } = await newBackend();
    for (const key of ["a/b", "a.txt", "c/"]) {
      if (key.endsWith("/")) await backend.mkdir(parsePath(`/${key}`));
      else await write(backend, key);
    }
    await runInDurableObject(
      shareStub(env, "main", share) as DurableObjectStub<ShareDO>,
      async (instance: ShareDO, state) => {
        const sql = state.storage.sql;
        // As deployed before the key index: without it, then its step run again
        // (found by content: later migrations follow it and must not rerun).
        sql.exec("DROP INDEX nodes_live_by_key");
        const step = MIGRATIONS.find((m) => m.includes("CREATE INDEX nodes_live_by_key"));
        sql.exec(step as string);
        const has = sql
          .exec("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'nodes_live_by_key'")
          .toArray();
        expect(has).toHaveLength(1);
        const page = await instance.listKeys({
          prefix: "",
          startAfter: "",
          delimiter: false,
          limit: 10,
        });
        expect(page.ok && page.value.items.map((i) => i.key)).toEqual(["a.txt", "a/b", "c/"]);
      },
    );
  });
});
