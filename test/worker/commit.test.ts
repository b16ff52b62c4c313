import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  api,
  bytesOf,
  chunkedBody,
  expectError,
  getText,
  json,
  mountUnreachableBucket,
  newShare,
  put,
  r2Count,
  runAllGc,
  sha256,
  shareId,
  stub,
} from "./helpers";

const MiB = 1024 * 1024;
const PART = 5 * MiB;

const b64 = (bytes: Uint8Array | string): string => {
  const u8 = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) {
    s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  }
  return btoa(s);
};

function commit(share: string, body: unknown, headers?: Record<string, string>) {
  return api("POST", `/v1/shares/${share}/commit`, {
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers,
  });
}

async function version(share: string): Promise<number> {
  return (await json<{ version: number }>(await api("GET", `/v1/shares/${share}`))).version;
}

async function names(share: string, path = "/"): Promise<string[]> {
  const res = await api("GET", `/v1/shares/${share}/list${path}?recursive=true`);
  expect(res.status).toBe(200);
  return (await json<{ entries: { path: string }[] }>(res)).entries.map((e) => e.path).sort();
}

async function bytesAt(share: string, path: string): Promise<Uint8Array> {
  const res = await api("GET", `/v1/shares/${share}/files${path}`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

/** A staged upload of `bytes`, completed: its id. */
async function staged(share: string, path: string, bytes: Uint8Array): Promise<string> {
  const res = await api("POST", `/v1/shares/${share}/uploads`, {
    body: JSON.stringify({ path, stage: true, partSize: PART }),
  });
  expect(res.status).toBe(201);
  const { uploadId, staged: flag } = await json<{ uploadId: string; staged: boolean }>(res);
  expect(flag).toBe(true);
  for (let n = 1, at = 0; at < bytes.length || n === 1; n++, at += PART) {
    const part = await api("PUT", `/v1/shares/${share}/uploads/${uploadId}/parts/${n}`, {
      body: bytes.slice(at, at + PART),
    });
    expect(part.status).toBe(200);
  }
  const done = await api("POST", `/v1/shares/${share}/uploads/${uploadId}/complete`);
  expect(done.status).toBe(200);
  expect(await json(done)).toMatchObject({ uploadId, staged: true, size: bytes.length });
  return uploadId;
}

describe("batch commit", () => {
  it("applies every op in order as ONE new version, and answers {version, count}", async () => {
    const s = await newShare("batch");
    await put(s, "/old.txt", "old");
    await put(s, "/gone.txt", "bye");
    const before = await version(s);
    const res = await commit(s, {
      ops: [
        { op: "mkdir", path: "/empty" },
        { op: "put", path: "/a/one.txt", content: b64("one") },
        { op: "put", path: "/a/two.txt", content: b64("two") },
        { op: "copy", from: "/a", to: "/b", recursive: true },
        { op: "move", from: "/old.txt", to: "/a/renamed.txt" },
        { op: "delete", path: "/gone.txt" },
        { op: "put", path: "/a/one.txt", content: b64("one, again") },
      ],
    });
    expect(res.status).toBe(200);
    const body = await json<{ version: number; count: number }>(res);
    expect(body).toEqual({ version: before + 1, count: 7 });
    expect(res.headers.get("edgefs-version")).toBe(String(before + 1));
    expect(await version(s)).toBe(before + 1);
    expect(await names(s)).toEqual([
      "a",
      "a/one.txt",
      "a/renamed.txt",
      "a/two.txt",
      "b",
      "b/one.txt",
      "b/two.txt",
      "empty",
    ]);
    expect(await getText(s, "/a/one.txt")).toBe("one, again");
    expect(await getText(s, "/b/one.txt")).toBe("one");
    expect(await getText(s, "/a/renamed.txt")).toBe("old");
  });

  it("is all or nothing: a failing op in the middle leaves tree, version and R2 as they were", async () => {
    const s = await newShare("batch");
    const prefix = `blobs/${await shareId(s)}/`;
    await put(s, "/keep.txt", "kept");
    const before = await version(s);
    const listed = await names(s);
    const big = bytesOf(200 * 1024, 7); // over the 64 KiB inline limit: goes to R2 first
    const res = await commit(s, {
      ops: [
        { op: "put", path: "/new/big.bin", content: b64(big) },
        { op: "put", path: "/new/small.txt", content: b64("small") },
        { op: "delete", path: "/keep.txt" },
        { op: "move", from: "/does-not-exist", to: "/x" },
        { op: "mkdir", path: "/never" },
      ],
    });
    const error = await expectError(res, 404, "ENOENT");
    expect(error.message).toContain("op 3 (move /does-not-exist -> /x)");
    expect(await version(s)).toBe(before);
    expect(await names(s)).toEqual(listed);
    expect(await getText(s, "/keep.txt")).toBe("kept");
    await runAllGc(s);
    expect(await r2Count(prefix)).toBe(0);
    expect((await stub(s).usage()).pending).toBe(0);
  });

  it("stores mixed inline and R2 contents byte-identical, in one version", async () => {
    const s = await newShare("batch");
    const prefix = `blobs/${await shareId(s)}/`;
    const files = {
      "/mix/empty": new Uint8Array(0),
      "/mix/tiny": bytesOf(10, 1),
      "/mix/inline-max": bytesOf(64 * 1024, 2),
      "/mix/just-over": bytesOf(64 * 1024 + 1, 3),
      "/mix/one-mib": bytesOf(MiB, 4),
    };
    const before = await version(s);
    const res = await commit(s, {
      ops: Object.entries(files).map(([path, bytes]) => ({ op: "put", path, content: b64(bytes) })),
    });
    expect(res.status).toBe(200);
    expect((await json<{ version: number }>(res)).version).toBe(before + 1);
    for (const [path, bytes] of Object.entries(files)) {
      expect(await sha256(await bytesAt(s, path))).toBe(await sha256(bytes));
    }
    // Exactly the two contents over the inline limit went to R2.
    expect(await r2Count(prefix)).toBe(2);
  });

  it("force:false refuses with 409 EEXIST listing every existing put target, writing nothing", async () => {
    const s = await newShare("batch");
    await put(s, "/a.txt", "a");
    await put(s, "/c.txt", "c");
    const before = await version(s);
    const res = await commit(s, {
      force: false,
      ops: [
        { op: "put", path: "/a.txt", content: b64("A") },
        { op: "put", path: "/b.txt", content: b64("B") },
        { op: "put", path: "/c.txt", content: b64(bytesOf(100 * 1024)) },
      ],
    });
    const error = await expectError(res, 409, "EEXIST");
    expect(error.message).toContain("/a.txt");
    expect(error.message).toContain("/c.txt");
    expect(error.message).not.toContain("/b.txt");
    expect(await version(s)).toBe(before);
    expect(await getText(s, "/a.txt")).toBe("a");
    await expectError(await api("GET", `/v1/shares/${s}/files/b.txt`), 404, "ENOENT");
    // With new targets only, force:false commits.
    const ok = await commit(s, {
      force: false,
      ops: [{ op: "put", path: "/b.txt", content: b64("B") }],
    });
    expect(ok.status).toBe(200);
  });

  it("ifVersion: of two commits made against the same version, one wins and one gets 412", async () => {
    const s = await newShare("batch");
    await put(s, "/seed", "x");
    const v = await version(s);
    const [first, second] = await Promise.all([
      commit(s, { ifVersion: v, ops: [{ op: "put", path: "/who", content: b64("first") }] }),
      commit(s, { ifVersion: v, ops: [{ op: "put", path: "/who", content: b64("second") }] }),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 412]);
    const loser = first.status === 412 ? first : second;
    const winner = first.status === 200 ? "first" : "second";
    expect((await expectError(loser, 412, "EPRECONDITION")).message).toContain(`${v + 1}`);
    expect(await getText(s, "/who")).toBe(winner);
    expect(await version(s)).toBe(v + 1);
  });

  it("ifVersion that is stale refuses before any big content is stored", async () => {
    const s = await newShare("batch");
    const prefix = `blobs/${await shareId(s)}/`;
    await put(s, "/seed", "x");
    const v = await version(s);
    const res = await commit(s, {
      ifVersion: v - 1,
      ops: [{ op: "put", path: "/big", content: b64(bytesOf(300 * 1024)) }],
    });
    await expectError(res, 412, "EPRECONDITION");
    expect(await r2Count(prefix)).toBe(0);
  });

  it("respects leases: a batch touching a leased path needs Edgefs-Lease, and the refusal writes nothing", async () => {
    const s = await newShare("batch");
    const lease = await json<{ leaseId: string }>(
      await api("POST", `/v1/shares/${s}/leases`, {
        body: JSON.stringify({ path: "/locked", ttlSeconds: 60 }),
      }),
    );
    const ops = [
      { op: "put", path: "/free.txt", content: b64("free") },
      { op: "put", path: "/locked/file.txt", content: b64("locked") },
    ];
    const refused = await expectError(await commit(s, { ops }), 423, "ELOCKED");
    expect(refused.message).toContain("op 1");
    await expectError(await api("GET", `/v1/shares/${s}/files/free.txt`), 404, "ENOENT");
    const ok = await commit(s, { ops }, { "edgefs-lease": lease.leaseId });
    expect(ok.status).toBe(200);
    expect(await getText(s, "/locked/file.txt")).toBe("locked");
  });

  it("refuses a path under a bucket mount with 501 naming it, before anything is written", async () => {
    const s = await newShare("batch");
    await mountUnreachableBucket(s);
    const res = await commit(s, {
      ops: [
        { op: "put", path: "/ok.txt", content: b64("ok") },
        { op: "put", path: "/bucket/x.txt", content: b64("x") },
      ],
    });
    const error = await expectError(res, 501, "ENOTSUP");
    expect(error.message).toContain("op 1");
    expect(error.message).toContain("/bucket/x.txt");
    await expectError(await api("GET", `/v1/shares/${s}/files/ok.txt`), 404, "ENOENT");
    // A staged upload cannot be made for a path there either.
    const stagedThere = await api("POST", `/v1/shares/${s}/uploads`, {
      body: JSON.stringify({ path: "/bucket/big.bin", stage: true }),
    });
    expect((await expectError(stagedThere, 501, "ENOTSUP")).message).toContain("/bucket/big.bin");
  });

  it("applies the quota to the whole batch (507), writing nothing", async () => {
    const s = await newShare("batch");
    const q = await api("PUT", `/v1/shares/${s}/quota`, { body: JSON.stringify({ files: 2 }) });
    expect(q.status).toBe(200);
    const res = await commit(s, {
      ops: ["/1", "/2", "/3"].map((path) => ({ op: "put", path, content: b64(path) })),
    });
    const error = await expectError(res, 507, "ENOSPC");
    expect(error.message).toContain("op 2");
    expect(await names(s)).toEqual([]);
  });

  it("copies files freely, and small trees within one batch of rows, in the same version", async () => {
    const s = await newShare("batch");
    const ops = Array.from({ length: 150 }, (_, i) => ({
      op: "copy",
      from: "/f",
      to: `/copies/${i}`,
    }));
    const res = await commit(s, {
      ops: [
        { op: "put", path: "/f", content: b64("same") },
        { op: "put", path: "/tree/a", content: b64("a") },
        ...ops,
        { op: "copy", from: "/tree", to: "/tree2", recursive: true },
      ],
    });
    expect(res.status).toBe(200);
    expect(await getText(s, "/copies/149")).toBe("same");
    expect(await getText(s, "/tree2/a")).toBe("a");
  });

  it("refuses a recursive copy bigger than the batch's row budget with 413, rolling back", async () => {
    const s = await newShare("batch");
    // EDGEFS_BATCH_ROWS is 100 in these tests: 120 files do not fit one batch.
    const ops = Array.from({ length: 120 }, (_, i) => ({
      op: "put",
      path: `/src/f${i}`,
      content: b64("x"),
    }));
    expect((await commit(s, { ops })).status).toBe(200);
    const before = await version(s);
    const res = await commit(s, {
      ops: [
        { op: "mkdir", path: "/side" },
        { op: "copy", from: "/src", to: "/dst", recursive: true },
      ],
    });
    const error = await expectError(res, 413, "ETOOLARGE");
    expect(error.message).toContain("100");
    expect(await version(s)).toBe(before);
    await expectError(await api("GET", `/v1/shares/${s}/stat/side`), 404, "ENOENT");
    await runAllGc(s);
    expect((await stub(s).usage()).copies).toBe(0);
  });

  it("limits: too many ops, a body over 16 MiB, bad base64, a bad path, a content over 1 MiB: 400/413, nothing written", async () => {
    const s = await newShare("batch");
    const before = await version(s);
    const many = Array.from({ length: 10_001 }, () => ({ op: "mkdir", path: "/d" }));
    expect((await expectError(await commit(s, { ops: many }), 413, "ETOOLARGE")).message).toContain(
      "10000",
    );
    const huge = `{"ops":[{"op":"put","path":"/h","content":"${"A".repeat(16 * MiB + 4)}"}]}`;
    await expectError(await commit(s, huge), 413, "ETOOLARGE");
    // Without Content-Length the body is counted as it streams in, and refused past 16 MiB.
    const streamed = await api("POST", `/v1/shares/${s}/commit`, {
      body: chunkedBody(new TextEncoder().encode(huge)),
    });
    await expectError(streamed, 413, "ETOOLARGE");
    const bad64 = await commit(s, {
      ops: [
        { op: "mkdir", path: "/fine" },
        { op: "put", path: "/p", content: "not base64!" },
      ],
    });
    expect((await expectError(bad64, 400, "EINVAL")).message).toContain("op 1");
    const badPath = await commit(s, {
      ops: [
        { op: "mkdir", path: "/fine" },
        { op: "move", from: "/fine", to: "/a/../b" },
      ],
    });
    expect((await expectError(badPath, 400, "EINVAL")).message).toContain("op 1");
    const unknown = await commit(s, { ops: [{ op: "chmod", path: "/x" }] });
    expect((await expectError(unknown, 400, "EINVAL")).message).toContain("op 0");
    const tooBig = await commit(s, {
      ops: [{ op: "put", path: "/big", content: b64(bytesOf(MiB + 1)) }],
    });
    expect((await expectError(tooBig, 413, "ETOOLARGE")).message).toContain("op 0");
    expect(await names(s)).toEqual([]);
    expect(await version(s)).toBe(before);
  });

  it("takes a batch at the limit: 10,000 puts in one request, one version", async () => {
    const s = await newShare("batch");
    const before = await version(s);
    const ops = Array.from({ length: 10_000 }, (_, i) => ({
      op: "put",
      path: `/many/d${i % 10}/f${i}.txt`,
      content: b64(`file ${i}`),
    }));
    const res = await commit(s, { ops });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ version: before + 1, count: 10_000 });
    expect(await getText(s, "/many/d7/f9997.txt")).toBe("file 9997");
    const info = await json<{ usage: { files: number } }>(await api("GET", `/v1/shares/${s}`));
    expect(info.usage.files).toBe(10_000);
  });
  it("commits a body near 16 MiB of inline contents (one ShareDO call carries them all)", async () => {
    const s = await newShare("batch");
    const ops = Array.from({ length: 180 }, (_, i) => ({
      op: "put",
      path: `/full/${i}`,
      content: b64(bytesOf(64 * 1024, i + 1)),
    }));
    const body = JSON.stringify({ ops });
    expect(body.length).toBeGreaterThan(15 * MiB);
    const res = await commit(s, body);
    expect(res.status).toBe(200);
    expect(await sha256(await bytesAt(s, "/full/179"))).toBe(await sha256(bytesOf(64 * 1024, 180)));
    expect(await r2Count(`blobs/${await shareId(s)}/`)).toBe(0);
  });
});

describe("staged uploads", () => {
  it("complete commits nothing; a batch's put op commits it where the op says, with other ops, in one version", async () => {
    const s = await newShare("staged");
    const big = bytesOf(PART + 123, 9);
    const id = await staged(s, "/incoming/big.bin", big);
    // Nothing is visible yet, at the upload's path or anywhere.
    await expectError(await api("GET", `/v1/shares/${s}/files/incoming/big.bin`), 404, "ENOENT");
    const before = await version(s);
    const res = await commit(s, {
      ops: [
        { op: "put", path: "/data/big.bin", uploadId: id },
        { op: "put", path: "/data/README", content: b64("about big.bin") },
      ],
    });
    expect(res.status).toBe(200);
    expect((await json<{ version: number }>(res)).version).toBe(before + 1);
    expect(await sha256(await bytesAt(s, "/data/big.bin"))).toBe(await sha256(big));
    expect(await getText(s, "/data/README")).toBe("about big.bin");
    // Used once: a second batch naming it is 404, naming the upload, and writes nothing.
    const again = await commit(s, {
      ops: [
        { op: "mkdir", path: "/again" },
        { op: "put", path: "/data/copy.bin", uploadId: id },
      ],
    });
    expect((await expectError(again, 404, "ENOENT")).message).toContain(id);
    await expectError(await api("GET", `/v1/shares/${s}/stat/again`), 404, "ENOENT");
  });

  it("a refused batch leaves the staged upload usable by the next one", async () => {
    const s = await newShare("staged");
    const bytes = bytesOf(1000, 3);
    const id = await staged(s, "/x", bytes);
    const refused = await commit(s, {
      ops: [
        { op: "put", path: "/x", uploadId: id },
        { op: "delete", path: "/missing" },
      ],
    });
    await expectError(refused, 404, "ENOENT");
    const ok = await commit(s, { ops: [{ op: "put", path: "/x", uploadId: id }] });
    expect(ok.status).toBe(200);
    expect(await sha256(await bytesAt(s, "/x"))).toBe(await sha256(bytes));
  });

  it("an unstaged or uncompleted upload cannot join a batch (400)", async () => {
    const s = await newShare("staged");
    const plain = await json<{ uploadId: string }>(
      await api("POST", `/v1/shares/${s}/uploads`, { body: JSON.stringify({ path: "/p" }) }),
    );
    const notStaged = await commit(s, {
      ops: [{ op: "put", path: "/p", uploadId: plain.uploadId }],
    });
    expect((await expectError(notStaged, 400, "EINVAL")).message).toContain("not staged");
    const open = await json<{ uploadId: string }>(
      await api("POST", `/v1/shares/${s}/uploads`, {
        body: JSON.stringify({ path: "/q", stage: true }),
      }),
    );
    const notDone = await commit(s, { ops: [{ op: "put", path: "/q", uploadId: open.uploadId }] });
    expect((await expectError(notDone, 400, "EINVAL")).message).toContain("not completed");
  });

  it("expires like other uploads: its blob is reclaimed and its id answers 404 in a batch", async () => {
    const s = await newShare("staged");
    const prefix = `blobs/${await shareId(s)}/`;
    const id = await staged(s, "/late", bytesOf(2000, 5));
    expect(await r2Count(prefix)).toBe(1);
    await runInDurableObject(stub(s), async (_i, state) => {
      const past = Date.now() - 1;
      state.storage.sql.exec("UPDATE uploads SET expires_at = ?", past);
      state.storage.sql.exec("UPDATE pending SET expires_at = ?", past);
    });
    await runAllGc(s);
    expect(await r2Count(prefix)).toBe(0);
    const res = await commit(s, { ops: [{ op: "put", path: "/late", uploadId: id }] });
    expect((await expectError(res, 404, "ENOENT")).message).toContain(id);
  });
});
