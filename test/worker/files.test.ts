import { describe, expect, it } from "vitest";
import {
  api,
  bytesOf,
  chunkedBody,
  expectError,
  getText,
  json,
  newShare,
  put,
  r2Count,
  sha256,
  shareId,
  stub,
} from "./helpers";

// Backend-independent cases (the same for every backend and front-end) live in
// test/contract/backend.case.ts; what stays here is what the native API or share
// storage adds: status codes, headers, inline vs R2, blob accounting.

interface Entry {
  path: string;
  type: string;
  size: number;
  mtime: number;
  etag?: string;
}

const INLINE_MAX = 65536;

describe("PUT and GET", () => {
  it("writes atomically, creates parents, returns the entry and its ETag", async () => {
    const s = await newShare();
    const res = await put(s, "/a/b/c.txt", "hello");
    expect(res.status).toBe(201);
    const entry = await json<Entry>(res);
    expect(entry).toMatchObject({ path: "/a/b/c.txt", type: "file", size: 5 });
    expect(entry.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.headers.get("etag")).toBe(entry.etag);
    expect(await getText(s, "/a/b/c.txt")).toBe("hello");
    const parent = await json<Entry>(await api("GET", `/v1/shares/${s}/stat/a/b`));
    expect(parent.type).toBe("directory");
    // Overwrite: 200, new ETag.
    const again = await put(s, "/a/b/c.txt", "world!");
    expect(again.status).toBe(200);
    expect((await json<Entry>(again)).etag).not.toBe(entry.etag);
    expect(await getText(s, "/a/b/c.txt")).toBe("world!");
  });

  it("GET carries ETag, Last-Modified, Content-Length, Accept-Ranges; HEAD has no body", async () => {
    const s = await newShare();
    const entry = await json<Entry>(await put(s, "/f.bin", bytesOf(1000)));
    const res = await api("GET", `/v1/shares/${s}/files/f.bin`);
    expect(res.headers.get("etag")).toBe(entry.etag);
    expect(res.headers.get("content-length")).toBe("1000");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(Date.parse(res.headers.get("last-modified") ?? "")).toBe(
      Math.floor(entry.mtime / 1000) * 1000,
    );
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytesOf(1000));
    const head = await api("HEAD", `/v1/shares/${s}/files/f.bin`);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("1000");
    expect(head.headers.get("etag")).toBe(entry.etag);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it("keeps small files inline and large ones in R2, across overwrites both ways", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const small = bytesOf(INLINE_MAX, 2);
    const large = bytesOf(INLINE_MAX + 1, 3);
    await put(s, "/x", small);
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
    expect((await stub(s).usage()).blobs).toBe(0);
    await put(s, "/x", large);
    expect((await stub(s).usage()).blobs).toBe(1);
    expect(await r2Count(`blobs/${id}/`)).toBe(1);
    expect(await sha256(await (await api("GET", `/v1/shares/${s}/files/x`)).arrayBuffer())).toBe(
      await sha256(large),
    );
    // Back to small: the R2 blob is released to GC, the inline bytes are served.
    await put(s, "/x", small);
    const usage = await stub(s).usage();
    expect(usage.blobs).toBe(0);
    expect(usage.gc).toBe(1);
    expect(
      new Uint8Array(await (await api("GET", `/v1/shares/${s}/files/x`)).arrayBuffer()),
    ).toEqual(small);
  });

  it("accepts a chunked body of unknown length, small (inline) and large (R2 multipart)", async () => {
    const s = await newShare();
    const small = bytesOf(1000, 4);
    const r1 = await put(s, "/chunked-small", chunkedBody(small, 100));
    expect(r1.status).toBe(201);
    expect((await json<Entry>(r1)).size).toBe(1000);
    expect((await stub(s).usage()).blobs).toBe(0);
    // > one 10 MiB part, so the multipart path cuts and stitches parts.
    const big = bytesOf(21 * 1024 * 1024 + 123, 5);
    const r2 = await put(s, "/chunked-big", chunkedBody(big, 1 << 20));
    expect(r2.status).toBe(201);
    expect((await json<Entry>(r2)).size).toBe(big.byteLength);
    const back = await (await api("GET", `/v1/shares/${s}/files/chunked-big`)).arrayBuffer();
    expect(await sha256(back)).toBe(await sha256(big));
    expect((await stub(s).usage()).pending).toBe(0);
  });

  it("refuses a body shorter than its Content-Length and keeps the old version", async () => {
    const s = await newShare();
    await put(s, "/keep", "original");
    const res = await api("PUT", `/v1/shares/${s}/files/keep`, {
      body: chunkedBody(bytesOf(10)),
      headers: { "content-length": "20" },
    });
    await expectError(res, 400, "EINVAL");
    expect(await getText(s, "/keep")).toBe("original");
  });

  it("GET of a directory is EISDIR, of a missing file ENOENT", async () => {
    const s = await newShare();
    await put(s, "/d/f", "x");
    await expectError(await api("GET", `/v1/shares/${s}/files/d`), 409, "EISDIR");
    await expectError(await api("GET", `/v1/shares/${s}/files/`), 409, "EISDIR");
    const err = await expectError(await api("GET", `/v1/shares/${s}/files/d/nope`), 404, "ENOENT");
    expect(err.path).toBe("/d/nope");
  });

  it("type conflicts: a file over a directory is EISDIR, below a file ENOTDIR", async () => {
    const s = await newShare();
    await put(s, "/d/f", "x");
    await expectError(await put(s, "/d", "y"), 409, "EISDIR");
    await expectError(await put(s, "/d/f/g", "y"), 409, "ENOTDIR");
    await expectError(await put(s, "/d/f/g", bytesOf(INLINE_MAX + 10)), 409, "ENOTDIR");
    await expectError(await api("PUT", `/v1/shares/${s}/files/d/f/`), 409, "ENOTDIR");
    expect(await getText(s, "/d/f")).toBe("x");
  });
});

describe("ranges", () => {
  const size = 100_000; // in R2
  const data = bytesOf(size, 7);

  for (const [label, bytes] of [
    ["R2", data],
    ["inline", data.slice(0, 1000)],
  ] as const) {
    it(`serves single ranges with 206 (${label})`, async () => {
      const s = await newShare();
      await put(s, "/r", bytes);
      const n = bytes.byteLength;
      const cases: [string, number, number][] = [
        ["bytes=0-9", 0, 9],
        ["bytes=10-", 10, n - 1],
        ["bytes=-5", n - 5, n - 1],
        [`bytes=${n - 3}-${n + 100}`, n - 3, n - 1],
        [`bytes=-${n + 50}`, 0, n - 1],
      ];
      for (const [range, first, last] of cases) {
        const res = await api("GET", `/v1/shares/${s}/files/r`, { headers: { range } });
        expect(res.status, range).toBe(206);
        expect(res.headers.get("content-range")).toBe(`bytes ${first}-${last}/${n}`);
        expect(res.headers.get("content-length")).toBe(String(last - first + 1));
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.slice(first, last + 1));
      }
    });
  }

  it("answers unsatisfiable ranges with 416 ERANGE and Content-Range */size", async () => {
    const s = await newShare();
    await put(s, "/r", data);
    for (const range of [`bytes=${size}-`, "bytes=9999999999-", "bytes=-0"]) {
      const res = await api("GET", `/v1/shares/${s}/files/r`, { headers: { range } });
      expect(res.headers.get("content-range")).toBe(`bytes */${size}`);
      await expectError(res, 416, "ERANGE");
    }
    await put(s, "/empty", "");
    await expectError(
      await api("GET", `/v1/shares/${s}/files/empty`, { headers: { range: "bytes=0-" } }),
      416,
      "ERANGE",
    );
  });
});

describe("conditional requests", () => {
  it("If-None-Match on GET gives 304 with the ETag; a different tag serves", async () => {
    const s = await newShare();
    const { etag } = await json<Entry>(await put(s, "/c", "v1"));
    const res = await api("GET", `/v1/shares/${s}/files/c`, {
      headers: { "if-none-match": etag ?? "" },
    });
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(etag);
    expect(await res.text()).toBe("");
    const other = await api("GET", `/v1/shares/${s}/files/c`, {
      headers: { "if-none-match": '"nope", W/"other"' },
    });
    expect(other.status).toBe(200);
    const ims = await api("GET", `/v1/shares/${s}/files/c`, {
      headers: { "if-modified-since": new Date(Date.now() + 60_000).toUTCString() },
    });
    expect(ims.status).toBe(304);
  });

  it("If-None-Match: * creates only; a second create is 412 EPRECONDITION", async () => {
    const s = await newShare();
    const h = { "if-none-match": "*" };
    expect((await put(s, "/once", "first", h)).status).toBe(201);
    await expectError(await put(s, "/once", "second", h), 412, "EPRECONDITION");
    await expectError(await put(s, "/once", bytesOf(INLINE_MAX * 2), h), 412, "EPRECONDITION");
    expect(await getText(s, "/once")).toBe("first");
  });

  it("If-Match is compare-and-swap: only the current ETag wins", async () => {
    const s = await newShare();
    const v1 = await json<Entry>(await put(s, "/cas", "v1"));
    const v2 = await json<Entry>(await put(s, "/cas", "v2", { "if-match": v1.etag ?? "" }));
    expect(v2.etag).not.toBe(v1.etag);
    // A writer that still holds v1's ETag loses, small or large.
    await expectError(
      await put(s, "/cas", "v3", { "if-match": v1.etag ?? "" }),
      412,
      "EPRECONDITION",
    );
    await expectError(
      await put(s, "/cas", bytesOf(INLINE_MAX + 1), { "if-match": v1.etag ?? "" }),
      412,
      "EPRECONDITION",
    );
    expect(await getText(s, "/cas")).toBe("v2");
    // If-Match on a missing file fails; If-Match: * needs the file to exist.
    await expectError(await put(s, "/missing", "x", { "if-match": "*" }), 412, "EPRECONDITION");
    expect((await put(s, "/cas", "v4", { "if-match": "*" })).status).toBe(200);
    // A failed large conditional write leaves nothing pending behind.
    expect((await stub(s).usage()).pending).toBe(0);
  });

  it("rejects malformed entity tags with EINVAL", async () => {
    const s = await newShare();
    await expectError(await put(s, "/x", "x", { "if-match": "no-quotes" }), 400, "EINVAL");
  });
});

describe("DELETE and mkdir", () => {
  it("deletes files; directories need recursive when not empty", async () => {
    const s = await newShare();
    await put(s, "/d/a", "1");
    await put(s, "/d/sub/b", bytesOf(INLINE_MAX + 5));
    expect((await api("DELETE", `/v1/shares/${s}/files/d/a`)).status).toBe(204);
    await expectError(await api("GET", `/v1/shares/${s}/files/d/a`), 404, "ENOENT");
    await expectError(await api("DELETE", `/v1/shares/${s}/files/d`), 409, "ENOTEMPTY");
    expect((await api("DELETE", `/v1/shares/${s}/files/d?recursive=true`)).status).toBe(204);
    await expectError(await api("GET", `/v1/shares/${s}/stat/d/sub/b`), 404, "ENOENT");
    await expectError(await api("GET", `/v1/shares/${s}/stat/d`), 404, "ENOENT");
    await expectError(await api("DELETE", `/v1/shares/${s}/files/d`), 404, "ENOENT");
    expect((await stub(s).usage()).blobs).toBe(0);
  });

  it("mkdir with a trailing slash is mkdir -p and idempotent; an empty dir deletes without recursive", async () => {
    const s = await newShare();
    const res = await api("PUT", `/v1/shares/${s}/files/x/y/z/`);
    expect(res.status).toBe(201);
    expect(await json<Entry>(res)).toMatchObject({ path: "/x/y/z", type: "directory" });
    expect((await api("PUT", `/v1/shares/${s}/files/x/y/z/`)).status).toBe(200);
    await expectError(
      await api("PUT", `/v1/shares/${s}/files/x/y/`, { body: "data" }),
      400,
      "EINVAL",
    );
    // The same bytes without a Content-Length (curl -T - to a dir/ URL) are not dropped either.
    await expectError(
      await api("PUT", `/v1/shares/${s}/files/inbox/`, { body: chunkedBody(bytesOf(10)) }),
      400,
      "EINVAL",
    );
    await expectError(await api("GET", `/v1/shares/${s}/stat/inbox`), 404, "ENOENT");
    expect((await api("DELETE", `/v1/shares/${s}/files/x/y/z`)).status).toBe(204);
    const y = await json<{ entries: Entry[] }>(await api("GET", `/v1/shares/${s}/list/x/y`));
    expect(y.entries).toEqual([]);
  });

  it("recursive delete of the root empties the share but keeps it", async () => {
    const s = await newShare();
    await put(s, "/a/b", "1");
    await expectError(await api("DELETE", `/v1/shares/${s}/files/`), 409, "ENOTEMPTY");
    expect((await api("DELETE", `/v1/shares/${s}/files/?recursive=true`)).status).toBe(204);
    const root = await json<{ entries: Entry[] }>(await api("GET", `/v1/shares/${s}/list/`));
    expect(root.entries).toEqual([]);
  });
});
