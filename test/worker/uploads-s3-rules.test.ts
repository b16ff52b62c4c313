import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { backendAt, type Runtime, shareTarget } from "../../src/backends/resolve";
import { SnapshotSource } from "../../src/backends/snapshot-backend";
import type { Backend } from "../../src/core/backend";
import { SubrequestBudget } from "../../src/core/budget";
import { FsError } from "../../src/core/errors";
import type { FsPath } from "../../src/core/paths";
import {
  api,
  bytesOf,
  chunkedBody,
  expectError,
  json,
  mountUnreachableBucket,
  newShare,
  put,
  sha256,
  shareId,
  unfinishedUploads,
} from "./helpers";

// S3's multipart rules over the Backend, as the S3 front-end drives them: the
// client picks part sizes, completion names parts by number and ETag. R2 (and
// miniflare's R2) wants every part but the last the same size and at least
// 5 MiB, so parts that are used before the last are 5 MiB here.
const MiB = 1024 * 1024;
const PART = 5 * MiB;

const rt: Runtime = {
  env,
  waitUntil: () => undefined,
  caller: { host: "edgefs.test", viaMount: false },
  subrequests: new SubrequestBudget(10_000),
};

async function storage(share: string): Promise<Backend> {
  return backendAt(rt, shareTarget(env, "main", share), "/" as FsPath, []);
}

const p = (path: string) => path as FsPath;

/** The FsError a call fails with (some backends throw before they return a promise). */
async function failure(call: Promise<unknown> | (() => Promise<unknown>)): Promise<FsError> {
  try {
    await (typeof call === "function" ? call() : call);
  } catch (e) {
    if (e instanceof FsError) return e;
    throw e;
  }
  throw new Error("the call succeeded");
}

async function md5(...chunks: Uint8Array[]): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("MD5", await new Blob(chunks).arrayBuffer()));
}
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** S3's ETag of an object uploaded as `parts`, computed independently of edgefs. */
async function s3MultipartEtag(parts: Uint8Array[]): Promise<string> {
  const digests = await Promise.all(parts.map((part) => md5(part)));
  return `"${hex(await md5(...digests))}-${parts.length}"`;
}

async function fileBytes(share: string, path: string): Promise<Uint8Array> {
  const res = await api("GET", `/v1/shares/${share}/files${path}`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

describe("S3 multipart rules (client-picked part sizes)", () => {
  it("takes parts in any order (the short last one first) and re-sent parts; the file gets S3's multipart ETag", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare("s3up");
    const b = await storage(s);
    const one = bytesOf(PART, 1);
    const two = bytesOf(PART, 2);
    const three = bytesOf(1234, 3);
    const u = await b.createUpload(p("/media/clip.bin"), { conditions: {} });
    expect(u.partSize).toBeUndefined();
    // The short last part arrives first; part 2 is sent wrong, then again.
    const p3 = await b.uploadPart(u.uploadId, 3, three, three.byteLength);
    const wrong = await b.uploadPart(u.uploadId, 2, bytesOf(PART, 9), PART);
    const p2 = await b.uploadPart(u.uploadId, 2, two, two.byteLength);
    const p1 = await b.uploadPart(u.uploadId, 1, one, one.byteLength);
    // Each part's ETag is the quoted MD5 of its bytes.
    expect(p1.etag).toBe(`"${hex(await md5(one))}"`);
    expect(p2.etag).toBe(`"${hex(await md5(two))}"`);
    expect(p3).toEqual({ partNumber: 3, size: 1234, etag: `"${hex(await md5(three))}"` });
    expect(wrong.etag).not.toBe(p2.etag);
    const status = await b.uploadStatus(u.uploadId);
    expect(status.partSize).toBeUndefined();
    expect(status.parts).toEqual([p1, p2, p3]);
    // The replaced part's ETag no longer names part 2.
    const stale = await failure(
      b.completeUpload(u.uploadId, [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 2, etag: wrong.etag },
        { partNumber: 3, etag: p3.etag },
      ]),
    );
    expect({ code: stale.code, reason: stale.reason }).toEqual({
      code: "EINVAL",
      reason: "InvalidPart",
    });
    expect(stale.message).toContain("part 2");
    // Clients send ETags back quoted or bare.
    const done = await b.completeUpload(u.uploadId, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag.replaceAll('"', "") },
      { partNumber: 3, etag: p3.etag },
    ]);
    expect(done.entry).toMatchObject({ path: "/media/clip.bin", size: 2 * PART + 1234 });
    const etag = await s3MultipartEtag([one, two, three]);
    expect(done.entry.etag).toBe(etag);
    expect((await b.stat(p("/media/clip.bin"))).etag).toBe(etag);
    const res = await api("HEAD", `/v1/shares/${s}/files/media/clip.bin`);
    expect(res.headers.get("etag")).toBe(etag);
    expect(await sha256(await fileBytes(s, "/media/clip.bin"))).toBe(
      await sha256(await new Blob([one, two, three]).arrayBuffer()),
    );
    expect(await unfinishedUploads(`blobs/${await shareId(s)}/`)).toBe(0);
  });

  it("completes with a subset of the parts: the others are discarded", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare("s3up");
    const b = await storage(s);
    const one = bytesOf(PART, 11);
    const three = bytesOf(PART, 13);
    const u = await b.createUpload(p("/subset.bin"), { conditions: {} });
    const p1 = await b.uploadPart(u.uploadId, 1, one, PART);
    await b.uploadPart(u.uploadId, 2, bytesOf(777, 12), 777);
    const p3 = await b.uploadPart(u.uploadId, 3, three, PART);
    const done = await b.completeUpload(u.uploadId, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 3, etag: p3.etag },
    ]);
    expect(done.entry.size).toBe(2 * PART);
    expect(done.entry.etag).toBe(await s3MultipartEtag([one, three]));
    const back = await fileBytes(s, "/subset.bin");
    expect(await sha256(back)).toBe(await sha256(await new Blob([one, three]).arrayBuffer()));
    await expect(b.uploadStatus(u.uploadId)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await unfinishedUploads(`blobs/${await shareId(s)}/`)).toBe(0);
  });

  it("refuses a bad part list with S3's reasons, commits nothing and leaves the upload open", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare("s3up");
    const b = await storage(s);
    const u = await b.createUpload(p("/refused.bin"), { conditions: {} });
    const p1 = await b.uploadPart(u.uploadId, 1, bytesOf(PART, 21), PART);
    const p2 = await b.uploadPart(u.uploadId, 2, bytesOf(10, 22), 10);
    const cases: [string, { partNumber: number; etag: string }[], string, string][] = [
      [
        "descending",
        [
          { partNumber: 2, etag: p2.etag },
          { partNumber: 1, etag: p1.etag },
        ],
        "InvalidPartOrder",
        "part 1 follows part 2",
      ],
      [
        "a part twice",
        [
          { partNumber: 1, etag: p1.etag },
          { partNumber: 1, etag: p1.etag },
        ],
        "InvalidPartOrder",
        "part 1 follows part 1",
      ],
      [
        "a wrong ETag",
        [
          { partNumber: 1, etag: p2.etag },
          { partNumber: 2, etag: p2.etag },
        ],
        "InvalidPart",
        "part 1",
      ],
      [
        "a part never uploaded",
        [
          { partNumber: 1, etag: p1.etag },
          { partNumber: 5, etag: p2.etag },
        ],
        "InvalidPart",
        "part 5",
      ],
    ];
    for (const [what, parts, reason, names] of cases) {
      const e = await failure(b.completeUpload(u.uploadId, parts));
      expect({ what, code: e.code, reason: e.reason }).toEqual({ what, code: "EINVAL", reason });
      expect(e.message).toContain(names);
    }
    await expect(b.stat(p("/refused.bin"))).rejects.toMatchObject({ code: "ENOENT" });
    // Still open and not stuck "being completed": a right list commits.
    const done = await b.completeUpload(u.uploadId, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    expect(done.entry.size).toBe(PART + 10);
  });

  it("judges the parts' shape at completion: a small part before the last is EntityTooSmall, unequal parts InvalidPart", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare("s3up");
    const b = await storage(s);
    const u = await b.createUpload(p("/shape.bin"), { conditions: {} });
    // Small parts are taken as they arrive (S3 accepts them); only completion judges.
    const small = await b.uploadPart(u.uploadId, 1, bytesOf(1000, 31), 1000);
    const p2 = await b.uploadPart(u.uploadId, 2, bytesOf(PART, 32), PART);
    const tooSmall = await failure(
      b.completeUpload(u.uploadId, [
        { partNumber: 1, etag: small.etag },
        { partNumber: 2, etag: p2.etag },
      ]),
    );
    expect({ code: tooSmall.code, reason: tooSmall.reason }).toEqual({
      code: "EINVAL",
      reason: "EntityTooSmall",
    });
    expect(tooSmall.message).toContain("part 1 is 1000 bytes");
    // The same without naming parts: every part is used, and judged the same way.
    expect((await failure(b.completeUpload(u.uploadId))).reason).toBe("EntityTooSmall");

    // Two full-size parts of different sizes, then a last one.
    const big = await b.uploadPart(u.uploadId, 1, bytesOf(PART + 1, 33), PART + 1);
    const p3 = await b.uploadPart(u.uploadId, 3, bytesOf(100, 34), 100);
    const unequal = await failure(
      b.completeUpload(u.uploadId, [
        { partNumber: 1, etag: big.etag },
        { partNumber: 2, etag: p2.etag },
        { partNumber: 3, etag: p3.etag },
      ]),
    );
    expect({ code: unequal.code, reason: unequal.reason }).toEqual({
      code: "EINVAL",
      reason: "InvalidPart",
    });
    expect(unequal.message).toContain("part 2");
    expect(unequal.message).toContain("R2 multipart upload");
    expect(unequal.message).toContain("same size except the last");
    // Nothing was committed, and the upload is open still.
    await expect(b.stat(p("/shape.bin"))).rejects.toMatchObject({ code: "ENOENT" });
    expect((await b.uploadStatus(u.uploadId)).parts.map((x) => x.size)).toEqual([
      PART + 1,
      PART,
      100,
    ]);
    await b.abortUpload(u.uploadId);
  });

  it("refuses a last part bigger than the ones before it", { timeout: 60_000 }, async () => {
    const s = await newShare("s3up");
    const b = await storage(s);
    const u = await b.createUpload(p("/lastbig.bin"), { conditions: {} });
    const p1 = await b.uploadPart(u.uploadId, 1, bytesOf(PART, 41), PART);
    const p2 = await b.uploadPart(u.uploadId, 2, bytesOf(PART + 1, 42), PART + 1);
    const e = await failure(
      b.completeUpload(u.uploadId, [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 2, etag: p2.etag },
      ]),
    );
    expect({ code: e.code, reason: e.reason }).toEqual({ code: "EINVAL", reason: "InvalidPart" });
    expect(e.message).toContain("R2 multipart upload");
    await expect(b.stat(p("/lastbig.bin"))).rejects.toMatchObject({ code: "ENOENT" });
    expect((await b.uploadStatus(u.uploadId)).parts).toHaveLength(2);
    await b.abortUpload(u.uploadId);
  });

  it("takes a part copied from a ranged read of another file (UploadPartCopy), and refuses a short one", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare("s3up");
    const b = await storage(s);
    const source = bytesOf(PART + 4096, 51);
    expect((await put(s, "/source.bin", source)).status).toBe(201);
    const u = await b.createUpload(p("/copy.bin"), { conditions: {} });
    const read = await b.read(p("/source.bin"), {
      headOnly: false,
      range: `bytes=100-${PART + 99}`,
    });
    if (read.status !== 206 || !read.body) throw new Error("expected a ranged body");
    const copied = await b.uploadPart(u.uploadId, 1, read.body, read.range.length);
    expect(copied).toEqual({
      partNumber: 1,
      size: PART,
      etag: `"${hex(await md5(source.subarray(100, PART + 100)))}"`,
    });
    // A stream shorter than its declared length stores nothing.
    const short = await b.read(p("/source.bin"), { headOnly: false, range: "bytes=0-99" });
    if (short.status !== 206 || !short.body) throw new Error("expected a ranged body");
    expect((await failure(b.uploadPart(u.uploadId, 2, short.body, 200))).code).toBe("EINVAL");
    expect((await b.uploadStatus(u.uploadId)).parts.map((x) => x.partNumber)).toEqual([1]);
    const done = await b.completeUpload(u.uploadId, [{ partNumber: 1, etag: copied.etag }]);
    expect(await sha256(await fileBytes(s, "/copy.bin"))).toBe(
      await sha256(source.subarray(100, PART + 100)),
    );
    expect(done.entry.etag).toBe(await s3MultipartEtag([source.subarray(100, PART + 100)]));
  });
});

describe("listUploads", () => {
  it("lists open uploads by key under a prefix, page by page; not staged, completed or aborted ones", async () => {
    const s = await newShare("s3list");
    const b = await storage(s);
    const make = async (path: string) =>
      (await b.createUpload(p(path), { conditions: {} })).uploadId;
    const a1 = await make("/logs/a.txt");
    const a2 = await make("/logs/a.txt");
    const c = await make("/logs/c.txt");
    const nested = await make("/logs/z/deep.txt");
    await make("/other/x.txt");
    const done = await make("/logs/b.txt");
    const aborted = await make("/logs/bb.txt");
    // A staged upload (batch commits) is no open S3 upload.
    const staged = await api("POST", `/v1/shares/${s}/uploads`, {
      body: JSON.stringify({ path: "/logs/staged.txt", stage: true }),
    });
    expect(staged.status).toBe(201);
    await b.uploadPart(done, 1, bytesOf(10), 10);
    await b.completeUpload(done);
    await b.abortUpload(aborted);

    const [first, second] = [a1, a2].sort();
    const expected = [
      ["/logs/a.txt", first],
      ["/logs/a.txt", second],
      ["/logs/c.txt", c],
      ["/logs/z/deep.txt", nested],
    ];
    const all = await b.listUploads({ prefix: "logs/", limit: 100 });
    expect(all.next).toBeUndefined();
    expect(all.uploads.map((u) => [u.path, u.uploadId])).toEqual(expected);
    for (const u of all.uploads) {
      expect(u.createdAt).toBeGreaterThan(0);
      expect(u.expiresAt).toBeGreaterThan(u.createdAt);
      expect(u.partSize).toBeUndefined();
    }

    // Two at a time, each page going on after the last one's key and id.
    const seen: (string | undefined)[][] = [];
    let after: { path: string; uploadId?: string } | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await b.listUploads({ prefix: "logs/", limit: 2, ...(after ? { after } : {}) });
      seen.push(...page.uploads.map((u) => [u.path, u.uploadId]));
      if (!page.next) break;
      expect(page.next).toEqual({
        path: page.uploads[1]?.path.slice(1),
        uploadId: page.uploads[1]?.uploadId,
      });
      after = page.next;
    }
    expect(seen).toEqual(expected);

    // A key without an upload id: after every upload of that key (S3's key-marker alone).
    const past = await b.listUploads({ prefix: "logs/", after: { path: "logs/a.txt" }, limit: 10 });
    expect(past.uploads.map((u) => u.uploadId)).toEqual([c, nested]);
    // A key prefix that is not a directory.
    const prefixed = await b.listUploads({ prefix: "logs/a", limit: 10 });
    expect(prefixed.uploads.map((u) => u.uploadId)).toEqual([first, second]);
    // No prefix: the whole share.
    expect((await b.listUploads({ prefix: "", limit: 100 })).uploads).toHaveLength(5);
  });

  it("is ENOTSUP under a bucket mount, and refused at a snapshot", async () => {
    const s = await newShare("s3list");
    await mountUnreachableBucket(s);
    const target = shareTarget(env, "main", s);
    const mount = await backendAt(rt, target, p("/bucket/x"), []);
    const refused = await failure(() => mount.listUploads({ prefix: "", limit: 10 }));
    expect(refused.code).toBe("ENOTSUP");
    expect(
      (await api("POST", `/v1/shares/${s}/snapshots`, { body: JSON.stringify({ name: "snap" }) }))
        .status,
    ).toBe(201);
    const snapshot = await new SnapshotSource(() => rt, target, { snapshot: "snap" }).backendAt(
      p("/f"),
    );
    expect((await failure(() => snapshot.listUploads({ prefix: "", limit: 10 }))).code).toBe(
      "EACCES",
    );
  });
});

describe("the native uploads API keeps its rules", () => {
  it("answers partSize, gives parts MD5 ETags and the file S3's multipart ETag", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare("s3native");
    const created = await api("POST", `/v1/shares/${s}/uploads`, {
      body: JSON.stringify({ path: "/n.bin", partSize: PART }),
    });
    expect(created.status).toBe(201);
    const u = await json<{ uploadId: string; partSize: number }>(created);
    expect(u.partSize).toBe(PART);
    const one = bytesOf(PART, 61);
    const two = bytesOf(99, 62);
    const send = (n: number, bytes: Uint8Array) =>
      api("PUT", `/v1/shares/${s}/uploads/${u.uploadId}/parts/${n}`, { body: bytes });
    const r2 = await json<{ etag: string }>(await send(2, two));
    expect(r2.etag).toBe(`"${hex(await md5(two))}"`);
    // The native rules stand: a part that is not the last must be partSize.
    await expectError(await send(1, bytesOf(PART - 1)), 400, "EINVAL");
    expect((await send(1, one)).status).toBe(200);
    const status = await json<{ partSize: number }>(
      await api("GET", `/v1/shares/${s}/uploads/${u.uploadId}`),
    );
    expect(status.partSize).toBe(PART);
    const done = await api("POST", `/v1/shares/${s}/uploads/${u.uploadId}/complete`);
    expect(done.status).toBe(201);
    expect((await json<{ etag: string }>(done)).etag).toBe(await s3MultipartEtag([one, two]));
  });

  it("a large PUT without Content-Length is stored in parts and gets the multipart ETag too", async () => {
    const s = await newShare("s3native");
    const body = bytesOf(200_000, 63);
    const res = await put(s, "/chunked.bin", chunkedBody(body));
    expect(res.status).toBe(201);
    expect((await json<{ etag: string }>(res)).etag).toBe(await s3MultipartEtag([body]));
  });

  it("a client-picked upload may declare its size: completion checks the parts add up", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare("s3native");
    const b = await storage(s);
    const u = await b.createUpload(p("/sized.bin"), { conditions: {}, size: PART + 5 });
    expect(u).toMatchObject({ size: PART + 5 });
    expect(u.partSize).toBeUndefined();
    const p1 = await b.uploadPart(u.uploadId, 1, bytesOf(PART, 71), PART);
    const short = await failure(b.completeUpload(u.uploadId, [{ partNumber: 1, etag: p1.etag }]));
    expect(short.code).toBe("EINVAL");
    expect(short.message).toContain(`not the declared ${PART + 5}`);
    const p2 = await b.uploadPart(u.uploadId, 2, bytesOf(5, 72), 5);
    const done = await b.completeUpload(u.uploadId, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    expect(done.entry.size).toBe(PART + 5);
  });
});
