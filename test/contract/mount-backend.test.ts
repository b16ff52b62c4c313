import { describe, expect, it } from "vitest";
import { MountBackend } from "../../src/backends/mount-backend";
import { SubrequestBudget } from "../../src/core/budget";
import { FsError } from "../../src/core/errors";
import type { FsPath } from "../../src/core/paths";
import { runBackendContract } from "./backend.case";
import { MemoryObjectStore } from "./memory-object-store";

const MOUNT = {
  path: "/mnt",
  createdAt: 0,
  bucket: "memory",
  endpoint: "memory:",
  region: "auto",
  keyPrefix: "team/",
  secret: null,
  readOnly: false,
  requesterPays: false,
  forcePathStyle: true,
};

/** The Paid plan's default, as EDGEFS_SUBREQUEST_BUDGET has it. */
const PAID = 10_000;

runBackendContract({
  name: "MountBackend over MemoryObjectStore",
  root: MOUNT.path,
  newBackend: async () =>
    new MountBackend(MOUNT, new MemoryObjectStore(), new SubrequestBudget(PAID)),
  skip: [
    {
      reason:
        "S3 directories are implied by keys: removing the last entry of a directory that only mkdir -p implied leaves no key, so the directory is gone too (as on Mountpoint for S3)",
      tests: ["remove: an empty directory goes without recursive"],
    },
  ],
});

/**
 * A request's subrequest budget on a bucket mount: each S3 call is one
 * subrequest. Each backend below is one request with a tiny budget.
 */
describe("MountBackend within a subrequest budget", () => {
  const p = (s: string) => s as FsPath;

  /** A store holding `n` files under team/<dir>/. */
  async function storeWith(dir: string, n: number): Promise<MemoryObjectStore> {
    const store = new MemoryObjectStore();
    for (let i = 0; i < n; i++) {
      const key = `team/${dir}/f${String(i).padStart(5, "0")}`;
      await store.put(key, new TextEncoder().encode(key), key.length);
    }
    return store;
  }

  const request = (store: MemoryObjectStore, budget: number) =>
    new MountBackend(MOUNT, store, new SubrequestBudget(budget));

  async function refusal(call: Promise<unknown>): Promise<FsError> {
    const e = await call.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(FsError);
    expect((e as FsError).code).toBe("ETOOLARGE");
    return e as FsError;
  }

  it("a recursive copy that fits runs; one that does not is refused up front, nothing copied", async () => {
    // head, directory check, two destination checks, one listing page: 5; then a CopyObject a key.
    const small = await storeWith("small", 10);
    await request(small, 15).copy(p("/mnt/small"), p("/mnt/copy"), {
      overwrite: false,
      recursive: true,
    });
    expect(small.keys().filter((k) => k.startsWith("team/copy/"))).toHaveLength(10);

    const big = await storeWith("big", 11);
    const before = big.keys();
    const e = await refusal(
      request(big, 15).copy(p("/mnt/big"), p("/mnt/copy"), { overwrite: false, recursive: true }),
    );
    expect(e.message).toContain("11 objects");
    expect(e.message).toContain("budget of 15");
    expect(e.message).toContain("copy it in parts");
    expect(big.keys()).toEqual(before);
  });

  it('overwrite "any" counts the destination\'s deletion with the copy: refused, the destination stays', async () => {
    const store = await storeWith("src", 6);
    for (const k of ["team/dst/old1", "team/dst/old2"]) await store.put(k, new Uint8Array(1), 1);
    const before = store.keys();
    // 4 checks, a page of each directory, 1 DeleteObjects, 6 copies: 13.
    await refusal(
      request(store, 12).copy(p("/mnt/src"), p("/mnt/dst"), { overwrite: "any", recursive: true }),
    );
    expect(store.keys()).toEqual(before);
    await request(store, 13).copy(p("/mnt/src"), p("/mnt/dst"), {
      overwrite: "any",
      recursive: true,
    });
    expect(store.keys().filter((k) => k.startsWith("team/dst/"))).toEqual(
      before.filter((k) => k.startsWith("team/src/")).map((k) => k.replace("/src/", "/dst/")),
    );
  });

  it('overwrite "any" onto a directory that holds the source is EINVAL, the source kept', async () => {
    const store = await storeWith("a/b", 3);
    const before = store.keys();
    for (const recursive of [true, false]) {
      const from = recursive ? "/mnt/a/b" : "/mnt/a/b/f00000";
      const e = await request(store, PAID)
        .copy(p(from), p("/mnt/a"), { overwrite: "any", recursive })
        .catch((error: unknown) => error);
      expect(e).toBeInstanceOf(FsError);
      expect((e as FsError).code).toBe("EINVAL");
    }
    expect(store.keys()).toEqual(before);
  });

  it("a recursive delete costs a page and a DeleteObjects per 1,000 keys; too many is refused, nothing deleted", async () => {
    // 2,500 keys: head, three pages, three DeleteObjects = 7.
    const store = await storeWith("many", 2500);
    const e = await refusal(request(store, 6).remove(p("/mnt/many"), { recursive: true }));
    expect(e.message).toContain("2500 objects");
    expect(e.message).toContain("delete it in parts");
    expect(store.keys()).toHaveLength(2500);
    await request(store, 7).remove(p("/mnt/many"), { recursive: true });
    expect(store.keys()).toEqual([]);
  });

  it("a delete that cannot even count its keys says so: more than the keys it saw", async () => {
    const store = await storeWith("many", 2500);
    const e = await refusal(request(store, 3).remove(p("/mnt/many"), { recursive: true }));
    expect(e.message).toContain("more than 1000 objects");
    expect(store.keys()).toHaveLength(2500);
  });

  it("a listing with a tiny budget answers one page and a cursor; each later page is a new request", async () => {
    const store = await storeWith("d", 30);
    const seen: string[] = [];
    let cursor: string | undefined;
    let requests = 0;
    do {
      // A page is at most two S3 calls (the first also checks for a file of that name).
      const page = await request(store, 2).list({
        kind: "path",
        path: p("/mnt/d"),
        recursive: true,
        limit: 7,
        cursor,
      });
      seen.push(...page.entries.map((e) => e.path));
      cursor = page.cursor;
      requests++;
    } while (cursor);
    expect(seen).toHaveLength(30);
    expect(requests).toBe(5);
  });

  it("a glob over many keys scans one S3 page a request, then gives a cursor", async () => {
    const store = await storeWith("g", 1500);
    await store.put("team/g/zz.csv", new Uint8Array(1), 1);
    const first = await request(store, 1).list({
      kind: "glob",
      pattern: "/mnt/g/*.csv",
      limit: 1000,
    });
    expect(first.entries).toEqual([]);
    expect(first.cursor).toBeDefined();
    const second = await request(store, 1).list({
      kind: "glob",
      pattern: "/mnt/g/*.csv",
      limit: 1000,
      cursor: first.cursor,
    });
    expect(second.entries.map((e) => e.path)).toEqual(["/mnt/g/zz.csv"]);
  });

  it("a chunked PUT stops at the part the budget cannot pay for: aborted, the old file kept", async () => {
    const store = new MemoryObjectStore();
    await store.put("team/f", new TextEncoder().encode("old"), 3);
    const body = new Uint8Array(25 * 1024 * 1024);
    const stream = new Blob([body]).stream();
    // Three parts of 10 MiB: 2 checks + create + 3 parts + complete = 7.
    const e = await refusal(
      request(store, 6).write(p("/mnt/f"), { stream, length: undefined }, {}),
    );
    expect(e.message).toContain("grew past 2 parts");
    expect(e.message).toContain("send Content-Length");
    expect(store.pendingUploads()).toBe(0);
    const kept = await store.get("team/f", {});
    expect(await new Response(kept?.body).text()).toBe("old");
    // One subrequest more, and the same body is stored.
    await request(store, 7).write(
      p("/mnt/f"),
      { stream: new Blob([body]).stream(), length: undefined },
      {},
    );
    expect((await store.head("team/f"))?.size).toBe(body.byteLength);
  });
});

/** What a bucket keeps besides the bytes: Content-Type and x-amz-meta-*, as S3 has them. */
describe("MountBackend file attributes", () => {
  const p = (s: string) => s as FsPath;
  const body = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return { stream: new Blob([bytes]).stream(), length: bytes.byteLength };
  };

  it("a write stores them on the object; stat and read return them", async () => {
    const store = new MemoryObjectStore();
    const backend = new MountBackend(MOUNT, store, new SubrequestBudget(PAID));
    const attributes = { contentType: "text/csv", metadata: { Owner: "alice" } };
    const written = await backend.write(p("/mnt/r.csv"), body("a,b"), {}, attributes);
    expect(written.entry).toMatchObject({ contentType: "text/csv", metadata: { owner: "alice" } });
    expect(await store.head("team/r.csv")).toMatchObject({
      contentType: "text/csv",
      metadata: { owner: "alice" },
    });
    expect(await backend.stat(p("/mnt/r.csv"))).toMatchObject({
      contentType: "text/csv",
      metadata: { owner: "alice" },
    });
    const read = await backend.read(p("/mnt/r.csv"), { headOnly: true });
    expect(read.entry).toMatchObject({ contentType: "text/csv", metadata: { owner: "alice" } });
    // Without attributes S3 labels the object binary/octet-stream: that is no type.
    await backend.write(p("/mnt/plain.json"), body("{}"), {});
    const plain = await backend.stat(p("/mnt/plain.json"));
    expect(plain.contentType).toBeUndefined();
    expect(plain.metadata).toBeUndefined();
  });

  it("a copy keeps the source's attributes, or replaces them when given (onto itself too)", async () => {
    const store = new MemoryObjectStore();
    const backend = new MountBackend(MOUNT, store, new SubrequestBudget(PAID));
    await backend.write(
      p("/mnt/a"),
      body("x"),
      {},
      { contentType: "text/x-a", metadata: { k: "1" } },
    );
    await backend.copy(p("/mnt/a"), p("/mnt/kept"), { overwrite: false, recursive: false });
    expect(await backend.stat(p("/mnt/kept"))).toMatchObject({
      contentType: "text/x-a",
      metadata: { k: "1" },
    });
    const replaced = await backend.copy(p("/mnt/a"), p("/mnt/new"), {
      overwrite: false,
      recursive: false,
      attributes: { metadata: { k: "2" } },
    });
    expect(replaced.entry.metadata).toEqual({ k: "2" });
    const stat = await backend.stat(p("/mnt/new"));
    expect(stat.metadata).toEqual({ k: "2" });
    expect(stat.contentType).toBeUndefined();
    await backend.copy(p("/mnt/a"), p("/mnt/a"), {
      overwrite: false,
      recursive: false,
      attributes: { contentType: "text/x-b" },
    });
    expect(await backend.stat(p("/mnt/a"))).toMatchObject({ contentType: "text/x-b", size: 1 });
  });

  it("refuses attributes over S3's 2 KiB before anything is stored", async () => {
    const store = new MemoryObjectStore();
    const backend = new MountBackend(MOUNT, store, new SubrequestBudget(PAID));
    const e = await backend
      .write(p("/mnt/big-meta"), body("x"), {}, { metadata: { k: "v".repeat(2048) } })
      .catch((error: unknown) => error);
    expect(e).toBeInstanceOf(FsError);
    expect((e as FsError).code).toBe("ETOOLARGE");
    expect(store.keys()).toEqual([]);
  });
});

/** A bucket edgefs cannot reach, as Node's fetch reports it: "fetch failed" with the system's code. */
describe("MountBackend when the bucket cannot be reached", () => {
  const p = (s: string) => s as FsPath;
  function failing(code: string): MemoryObjectStore {
    const store = new MemoryObjectStore();
    const fail = () =>
      Promise.reject(Object.assign(new TypeError("fetch failed"), { cause: { code } }));
    store.head = fail;
    store.list = fail;
    return store;
  }

  it.each([
    ["ENOTFOUND", "the host name s3.example.com does not resolve (ENOTFOUND)"],
    ["ECONNREFUSED", "s3.example.com refused the connection (ECONNREFUSED)"],
    ["ETIMEDOUT", "could not connect to s3.example.com (ETIMEDOUT: fetch failed)"],
  ])("%s is 502 EUPSTREAM naming the mount, the host and the cause", async (code, cause) => {
    const mount = { ...MOUNT, endpoint: "https://s3.example.com" };
    const backend = new MountBackend(mount, failing(code), new SubrequestBudget(PAID));
    const e = await backend.stat(p("/mnt/x")).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(FsError);
    expect((e as FsError).code).toBe("EUPSTREAM");
    expect((e as FsError).message).toBe(
      `bucket mount /mnt (memory at s3.example.com) unreachable: ${cause}`,
    );
  });
});

/**
 * Key listings of a mount as the S3 front-end asks for them: share keys
 * below the mount point ("mnt/…"), one ListObjectsV2 call a page.
 */
describe("MountBackend key listing", () => {
  const q = { prefix: "", startAfter: "", delimiter: false, limit: 1000 };

  async function storeOf(
    keys: string[],
  ): Promise<{ store: MemoryObjectStore; calls: () => number }> {
    const store = new MemoryObjectStore();
    for (const key of keys) await store.put(key, new TextEncoder().encode(key), key.length);
    let n = 0;
    const list = store.list.bind(store);
    store.list = (query) => {
      n++;
      return list(query);
    };
    return { store, calls: () => n };
  }
  const backend = (store: MemoryObjectStore) =>
    new MountBackend(MOUNT, store, new SubrequestBudget(PAID));
  const keys = (page: { items: { key: string }[] }) => page.items.map((i) => i.key);

  it("maps the key prefix away and the mount point's key in, in one S3 call", async () => {
    const { store, calls } = await storeOf(["team/a.txt", "team/a/b", "other/x", "team/b"]);
    const b = backend(store);
    const page = await b.listKeys(q);
    expect(keys(page)).toEqual(["mnt/a.txt", "mnt/a/b", "mnt/b"]);
    expect(page.items[0]).toMatchObject({
      kind: "object",
      entry: { absolutePath: "/mnt/a.txt", type: "file", size: 10 },
    });
    expect(calls()).toBe(1);
    // A prefix that stops above the mount point, or startAfter before it, takes all of it.
    expect(keys(await b.listKeys({ ...q, prefix: "m" }))).toEqual(keys(page));
    expect(keys(await b.listKeys({ ...q, startAfter: "ma" }))).toEqual(keys(page));
    expect(keys(await b.listKeys({ ...q, startAfter: "mnt/a.txt" }))).toEqual(["mnt/a/b", "mnt/b"]);
    // Keys elsewhere in the share are not the mount's.
    expect(await b.listKeys({ ...q, prefix: "other/" })).toEqual({ items: [] });
    expect(await b.listKeys({ ...q, startAfter: "n" })).toEqual({ items: [] });
  });

  it("with delimiter, a prefix above the mount point rolls it up; at it, its directories", async () => {
    const { store, calls } = await storeOf(["team/a/b", "team/c"]);
    const b = backend(store);
    expect(await b.listKeys({ ...q, delimiter: true })).toEqual({
      items: [{ kind: "prefix", key: "mnt/" }],
    });
    expect(calls()).toBe(0);
    const inside = await b.listKeys({ ...q, prefix: "mnt/", delimiter: true });
    expect(inside.items.map((i) => [i.kind, i.key])).toEqual([
      ["prefix", "mnt/a/"],
      ["object", "mnt/c"],
    ]);
    // A startAfter inside a rolled-up prefix is past it.
    expect(
      keys(await b.listKeys({ ...q, prefix: "mnt/", delimiter: true, startAfter: "mnt/a/" })),
    ).toEqual(["mnt/c"]);
  });

  it("a dir/ marker is an object only while its directory is empty; an empty bucket is mnt/", async () => {
    const { store } = await storeOf(["team/d/", "team/d/x", "team/e/"]);
    const b = backend(store);
    expect(keys(await b.listKeys(q))).toEqual(["mnt/d/x", "mnt/e/"]);
    expect((await b.listKeys(q)).items[1]).toMatchObject({
      kind: "object",
      entry: { absolutePath: "/mnt/e", type: "directory", size: 0 },
    });
    const empty = backend((await storeOf([])).store);
    expect(await empty.listKeys(q)).toMatchObject({ items: [{ kind: "object", key: "mnt/" }] });
    expect(await empty.listKeys({ ...q, startAfter: "mnt/" })).toEqual({ items: [] });
  });

  it("a marker that ends a truncated page is settled by one more call; bad keys are skipped", async () => {
    const { store, calls } = await storeOf(["team/a", "team/bad//x", "team/e/", "team/f"]);
    const b = backend(store);
    const first = await b.listKeys({ ...q, limit: 2 });
    expect(keys(first)).toEqual(["mnt/a", "mnt/e/"]);
    expect(first.next).toBe("mnt/e/");
    expect(calls()).toBe(2);
    const second = await b.listKeys({ ...q, limit: 2, startAfter: first.next as string });
    expect(second).toMatchObject({ items: [{ key: "mnt/f" }] });
    expect(second.next).toBeUndefined();
  });
});
