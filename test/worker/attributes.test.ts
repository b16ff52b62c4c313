import { env } from "cloudflare:workers";
import { packTar } from "modern-tar";
import { describe, expect, it } from "vitest";
import { ShareBackend, shareStub } from "../../src/backends/share-backend";
import { configFrom } from "../../src/config";
import { SubrequestBudget } from "../../src/core/budget";
import type { FsError } from "../../src/core/errors";
import type { FsPath } from "../../src/core/paths";
import { shareClient } from "../../src/durable/share-client";
import { dav } from "./dav-helpers";
import { api, bytesOf, chunkedBody, expectError, json, newShare, put, stub } from "./helpers";

// A file's Content-Type and user metadata (core/attributes.ts), and the MD5
// ETag of a file written in one piece, as S3 tools compare it.

interface Entry {
  path: string;
  size: number;
  etag?: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

const INLINE_MAX = 65536;
const hex = (d: ArrayBuffer) =>
  Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
const md5 = async (bytes: Uint8Array | string) =>
  `"${hex(await crypto.subtle.digest("MD5", typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes))}"`;
const stat = async (s: string, path: string, query = "") =>
  json<Entry>(await api("GET", `/v1/shares/${s}/stat${path}${query}`));
const b64 = (text: string) => btoa(text);

describe("ETags are the MD5 of a file written in one piece", () => {
  it("inline and R2 files, with and without Content-Length: the same bytes give the same ETag", async () => {
    const s = await newShare();
    expect((await json<Entry>(await put(s, "/hello.txt", "hello"))).etag).toBe(
      '"5d41402abc4b2a76b9719d911017c592"',
    );
    const big = bytesOf(INLINE_MAX * 2 + 7, 3);
    const r2 = await json<Entry>(await put(s, "/big.bin", big));
    expect(r2.etag).toBe(await md5(big));
    const chunkedSmall = await json<Entry>(await put(s, "/small.bin", chunkedBody(bytesOf(100))));
    expect(chunkedSmall.etag).toBe(await md5(bytesOf(100)));
    // The same bytes elsewhere, and again in place: the same strong ETag.
    expect((await json<Entry>(await put(s, "/again.bin", big))).etag).toBe(r2.etag);
    expect((await json<Entry>(await put(s, "/big.bin", big))).etag).toBe(r2.etag);
    const got = await api("GET", `/v1/shares/${s}/files/big.bin`);
    expect(got.headers.get("etag")).toBe(r2.etag);
    await got.arrayBuffer();
    expect((await stat(s, "/again.bin")).etag).toBe(r2.etag);
  });

  it("If-Match still guards a write (compare-and-swap)", async () => {
    const s = await newShare();
    const first = await json<Entry>(await put(s, "/cas.txt", "v1"));
    const stale = await put(s, "/cas.txt", "v2", {
      "if-match": '"0123456789abcdef0123456789abcdef"',
    });
    await expectError(stale, 412, "EPRECONDITION");
    const ok = await put(s, "/cas.txt", "v2", { "if-match": first.etag as string });
    expect(ok.status).toBe(200);
    expect((await json<Entry>(ok)).etag).toBe(await md5("v2"));
    await expectError(
      await put(s, "/cas.txt", "v3", { "if-match": first.etag as string }),
      412,
      "EPRECONDITION",
    );
    await expectError(
      await put(s, "/cas.txt", "v3", { "if-none-match": "*" }),
      412,
      "EPRECONDITION",
    );
  });

  it("batch commit puts and tar upload entries", async () => {
    const s = await newShare();
    const big = "x".repeat(INLINE_MAX + 10);
    const res = await api("POST", `/v1/shares/${s}/commit`, {
      body: JSON.stringify({
        ops: [
          { op: "put", path: "/b/one.txt", content: b64("one") },
          { op: "put", path: "/b/big.txt", content: b64(big) },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect((await stat(s, "/b/one.txt")).etag).toBe(await md5("one"));
    expect((await stat(s, "/b/big.txt")).etag).toBe(await md5(big));
    const bigTar = bytesOf(INLINE_MAX + 100, 9);
    const archive = await packTar([
      {
        header: { name: "t/small.txt", size: 5, type: "file" },
        body: new TextEncoder().encode("small"),
      },
      { header: { name: "t/big.bin", size: bigTar.byteLength, type: "file" }, body: bigTar },
    ]);
    const tar = await api("PUT", `/v1/shares/${s}/files/x/`, {
      body: archive,
      headers: { "content-type": "application/x-tar" },
    });
    expect(tar.status).toBe(200);
    expect((await stat(s, "/x/t/small.txt")).etag).toBe(await md5("small"));
    expect((await stat(s, "/x/t/big.bin")).etag).toBe(await md5(bigTar));
  });
});

describe("Content-Type and user metadata", () => {
  it("round-trip through PUT, GET, HEAD and stat; listings carry the type only", async () => {
    const s = await newShare();
    for (const body of ["tiny", bytesOf(INLINE_MAX + 1)]) {
      const res = await put(s, "/d/report", body, {
        "content-type": "text/csv; charset=utf-8",
        "edgefs-meta-Owner": "alice",
        "edgefs-meta-run-id": "42",
      });
      expect(res.status).toBeLessThan(300);
      for (const method of ["GET", "HEAD"]) {
        const got = await api(method, `/v1/shares/${s}/files/d/report`);
        expect(got.headers.get("content-type")).toBe("text/csv; charset=utf-8");
        expect(got.headers.get("edgefs-meta-owner")).toBe("alice");
        expect(got.headers.get("edgefs-meta-run-id")).toBe("42");
        await got.arrayBuffer();
      }
      expect(await stat(s, "/d/report")).toMatchObject({
        contentType: "text/csv; charset=utf-8",
        metadata: { owner: "alice", "run-id": "42" },
      });
    }
    const list = await json<{ entries: Entry[] }>(await api("GET", `/v1/shares/${s}/list/d`));
    expect(list.entries[0]).toMatchObject({
      path: "report",
      contentType: "text/csv; charset=utf-8",
    });
    expect(list.entries[0]?.metadata).toBeUndefined();
    // A write without attributes leaves the file none (S3's PUT replaces the object).
    await put(s, "/d/report", new Uint8Array([1]));
    expect(await stat(s, "/d/report")).toMatchObject({
      contentType: "application/octet-stream",
      metadata: {},
    });
  });

  it("guesses the type from the name when none was stored, and ignores curl -d's form type", async () => {
    const s = await newShare();
    await put(s, "/a.json", new Uint8Array([123, 125]));
    await put(s, "/noext", new Uint8Array([1]));
    await put(s, "/form.csv", "a,b", { "content-type": "application/x-www-form-urlencoded" });
    const type = async (p: string) => {
      const r = await api("HEAD", `/v1/shares/${s}/files${p}`);
      return r.headers.get("content-type");
    };
    expect(await type("/a.json")).toBe("application/json");
    expect(await type("/noext")).toBe("application/octet-stream");
    expect(await type("/form.csv")).toBe("text/csv; charset=utf-8");
    expect((await stat(s, "/a.json")).contentType).toBe("application/json");
  });

  it("a stored active type comes as an attachment, whatever the name", async () => {
    const s = await newShare();
    await put(s, "/note.txt", "<script>", { "content-type": "text/html" });
    const got = await api("GET", `/v1/shares/${s}/files/note.txt`);
    expect(got.headers.get("content-type")).toBe("text/html");
    expect(got.headers.get("content-disposition")).toContain("attachment");
    expect(got.headers.get("content-security-policy")).toBe("sandbox");
    await got.text();
  });

  it("refuses attributes over S3's bounds and writes nothing", async () => {
    const s = await newShare();
    const tooMuch = await put(s, "/m.txt", "x", { "edgefs-meta-big": "v".repeat(2100) });
    const e = await expectError(tooMuch, 413, "ETOOLARGE");
    expect(e.message).toContain("metadata headers exceed 2 KiB");
    const spread: Record<string, string> = {};
    for (let i = 0; i < 30; i++) spread[`edgefs-meta-k${i}`] = "v".repeat(70);
    await expectError(await put(s, "/m.txt", bytesOf(INLINE_MAX + 5), spread), 413, "ETOOLARGE");
    await expectError(await put(s, "/m.txt", "x", { "content-type": "not a type" }), 400, "EINVAL");
    await expectError(await api("GET", `/v1/shares/${s}/stat/m.txt`), 404, "ENOENT");
    // Exactly 2 KiB of names and values is allowed.
    const ok = await put(s, "/m.txt", "x", { "edgefs-meta-k": "v".repeat(2047) });
    expect(ok.status).toBe(201);
  });

  it("travel with moves and copies; a copy with attributes replaces them", async () => {
    const s = await newShare();
    await put(s, "/src.txt", "data", { "content-type": "text/x-a", "edgefs-meta-tag": "one" });
    const mv = await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/src.txt", to: "/moved.txt" }),
    });
    expect(mv.status).toBeLessThan(300);
    expect(await stat(s, "/moved.txt")).toMatchObject({
      contentType: "text/x-a",
      metadata: { tag: "one" },
    });
    const cp = await api("POST", `/v1/shares/${s}/copy`, {
      body: JSON.stringify({ from: "/moved.txt", to: "/kept.txt" }),
    });
    expect(cp.status).toBeLessThan(300);
    const kept = await stat(s, "/kept.txt");
    expect(kept).toMatchObject({ contentType: "text/x-a", metadata: { tag: "one" } });
    expect(kept.etag).toBe(await md5("data"));
    const replaced = await stub(s).copy("/moved.txt" as FsPath, "/replaced.txt" as FsPath, {
      recursive: false,
      overwrite: true,
      attrs: JSON.stringify({ metadata: { tag: "two" } }),
    });
    expect(replaced.ok).toBe(true);
    const r = await stat(s, "/replaced.txt");
    expect(r).toMatchObject({ contentType: "text/plain; charset=utf-8", metadata: { tag: "two" } });
    expect(r.etag).toBe(kept.etag);
    // Onto itself with new attributes: S3's way to change them; bytes and ETag stay.
    const self = await stub(s).copy("/moved.txt" as FsPath, "/moved.txt" as FsPath, {
      recursive: false,
      overwrite: false,
      attrs: JSON.stringify({ contentType: "text/x-b" }),
    });
    expect(self.ok).toBe(true);
    expect(await stat(s, "/moved.txt")).toMatchObject({
      contentType: "text/x-b",
      metadata: {},
      etag: kept.etag,
    });
    expect(await (await api("GET", `/v1/shares/${s}/files/moved.txt`)).text()).toBe("data");
  });

  it("a directory's copy and restore carry its files' attributes", async () => {
    const s = await newShare();
    await put(s, "/dir/a.bin", "a", { "content-type": "text/x-a", "edgefs-meta-n": "1" });
    const cp = await api("POST", `/v1/shares/${s}/copy`, {
      body: JSON.stringify({ from: "/dir", to: "/dir2", recursive: true }),
    });
    expect(cp.status).toBeLessThan(300);
    expect(await stat(s, "/dir2/a.bin")).toMatchObject({
      contentType: "text/x-a",
      metadata: { n: "1" },
    });
    const snap = await api("POST", `/v1/shares/${s}/snapshots`, {
      body: JSON.stringify({ name: "s1" }),
    });
    expect(snap.status).toBe(201);
    await put(s, "/dir/a.bin", "b");
    const res = await api("POST", `/v1/shares/${s}/restore`, {
      body: JSON.stringify({ path: "/dir", snapshot: "s1" }),
    });
    expect(res.status).toBe(200);
    expect(await stat(s, "/dir/a.bin")).toMatchObject({
      contentType: "text/x-a",
      metadata: { n: "1" },
    });
  });

  it("an old version reads with its old attributes, and a restore brings them back", async () => {
    const s = await newShare();
    await put(s, "/doc.txt", "old", { "content-type": "text/x-old", "edgefs-meta-v": "1" });
    const snap = await api("POST", `/v1/shares/${s}/snapshots`, {
      body: JSON.stringify({ name: "before" }),
    });
    expect(snap.status).toBe(201);
    await put(s, "/doc.txt", "new", { "content-type": "text/x-new", "edgefs-meta-v": "2" });
    const old = await api("GET", `/v1/shares/${s}/files/doc.txt?snapshot=before`);
    expect(old.headers.get("content-type")).toBe("text/x-old");
    expect(old.headers.get("edgefs-meta-v")).toBe("1");
    expect(await old.text()).toBe("old");
    expect(await stat(s, "/doc.txt", "?snapshot=before")).toMatchObject({
      contentType: "text/x-old",
      metadata: { v: "1" },
    });
    const res = await api("POST", `/v1/shares/${s}/restore`, {
      body: JSON.stringify({ path: "/doc.txt", snapshot: "before" }),
    });
    expect(res.status).toBe(200);
    expect(await stat(s, "/doc.txt")).toMatchObject({
      contentType: "text/x-old",
      metadata: { v: "1" },
    });
  });

  it("WebDAV PUT stores the type and PROPFIND reports it (or the guessed one)", async () => {
    const s = await newShare();
    const putRes = await dav("PUT", s, "/w.dat", {
      body: "x",
      headers: { "content-type": "image/png" },
    });
    expect(putRes.status).toBe(201);
    await dav("PUT", s, "/page.md", { body: new Uint8Array([35]) });
    const found = await dav("PROPFIND", s, "/", { headers: { depth: "1" } });
    const xml = await found.text();
    expect(xml).toMatch(/w\.dat[\s\S]*?<D:getcontenttype>image\/png<\/D:getcontenttype>/);
    expect(xml).toMatch(
      /page\.md[\s\S]*?<D:getcontenttype>text\/markdown; charset=utf-8<\/D:getcontenttype>/,
    );
    expect((await api("HEAD", `/v1/shares/${s}/files/w.dat`)).headers.get("content-type")).toBe(
      "image/png",
    );
  });
});

describe("multipart uploads (ShareBackend)", () => {
  const backendOf = async () => {
    const name = `attrs-up-${Date.now().toString(36)}`;
    const share = shareClient(shareStub(env, "main", name));
    await share.createShare("main", name, true);
    const config = configFrom(env);
    return new ShareBackend(share, env.BLOBS, config, () => {}, new SubrequestBudget(1000));
  };

  it("an upload keeps its attributes for the file, which gets S3's multipart ETag", async () => {
    const backend = await backendOf();
    const path = "/up/model.bin" as FsPath;
    const upload = await backend.createUpload(path, {
      partSize: 5 * 1024 * 1024,
      conditions: {},
      attributes: { contentType: "application/x-model", metadata: { epoch: "3" } },
    });
    await backend.uploadPart(upload.uploadId, 1, bytesOf(1000), 1000);
    const partMd5 = new Uint8Array(await crypto.subtle.digest("MD5", bytesOf(1000)));
    const whole = new Uint8Array(await crypto.subtle.digest("MD5", partMd5));
    const etag = `"${[...whole].map((b) => b.toString(16).padStart(2, "0")).join("")}-1"`;
    const done = await backend.completeUpload(upload.uploadId);
    expect(done.entry).toMatchObject({
      etag,
      contentType: "application/x-model",
      metadata: { epoch: "3" },
    });
    expect(await backend.stat(path)).toMatchObject({ etag, metadata: { epoch: "3" } });
  });

  it("refuses attributes over the bounds when the upload is created", async () => {
    const backend = await backendOf();
    const e = await backend
      .createUpload("/up/x" as FsPath, {
        partSize: 5 * 1024 * 1024,
        conditions: {},
        attributes: { metadata: { k: "v".repeat(3000) } },
      })
      .catch((error: unknown) => error);
    expect((e as FsError).code).toBe("ETOOLARGE");
  });
});
