import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
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
  unfinishedUploads,
} from "./helpers";

const MiB = 1024 * 1024;
const PART = 5 * MiB; // R2's smallest part size

interface Upload {
  uploadId: string;
  path: string;
  partSize: number;
  expiresAt: number;
}
interface Status extends Upload {
  received: number;
  parts: { partNumber: number; size: number; etag: string }[];
}

async function create(
  share: string,
  body: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  return api("POST", `/v1/shares/${share}/uploads`, { body: JSON.stringify(body), headers });
}
async function start(
  share: string,
  path: string,
  headers?: Record<string, string>,
): Promise<Upload> {
  const res = await create(share, { path, partSize: PART }, headers);
  expect(res.status).toBe(201);
  return json<Upload>(res);
}
function part(share: string, id: string, n: number | string, bytes: Uint8Array) {
  return api("PUT", `/v1/shares/${share}/uploads/${id}/parts/${n}`, { body: bytes });
}
function complete(share: string, id: string, headers?: Record<string, string>) {
  return api("POST", `/v1/shares/${share}/uploads/${id}/complete`, { headers });
}
function status(share: string, id: string) {
  return api("GET", `/v1/shares/${share}/uploads/${id}`);
}

describe("multipart uploads", () => {
  it("uploads parts out of order, replaces a re-sent part, resumes from status, commits atomically", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    const file = bytesOf(2 * PART + 123_456, 11);
    const pieces = [file.slice(0, PART), file.slice(PART, 2 * PART), file.slice(2 * PART)];
    const u = await start(s, "/models/weights.bin");
    expect(u).toMatchObject({ path: "/models/weights.bin", partSize: PART });
    expect(u.uploadId).toMatch(/^[0-9a-f]{32}$/);
    // Last part first, then part 1; part 1 is sent twice, the first time wrong.
    expect((await part(s, u.uploadId, 3, pieces[2] as Uint8Array)).status).toBe(200);
    expect((await part(s, u.uploadId, 1, bytesOf(PART, 99))).status).toBe(200);
    const first = await json<{ partNumber: number; size: number; etag: string }>(
      await part(s, u.uploadId, 1, pieces[0] as Uint8Array),
    );
    expect(first).toMatchObject({ partNumber: 1, size: PART });
    // Nothing is visible before completion.
    await expectError(await api("GET", `/v1/shares/${s}/stat/models/weights.bin`), 404, "ENOENT");
    // A client that lost track asks what arrived, and sends only what is missing.
    const st = await json<Status>(await status(s, u.uploadId));
    expect(st.parts.map((p) => [p.partNumber, p.size])).toEqual([
      [1, PART],
      [3, 123_456],
    ]);
    expect(st.parts[0]?.etag).toBe(first.etag);
    expect(st.received).toBe(PART + 123_456);
    await expectError(await complete(s, u.uploadId), 400, "EINVAL"); // part 2 missing
    expect((await part(s, u.uploadId, 2, pieces[1] as Uint8Array)).status).toBe(200);
    const done = await complete(s, u.uploadId);
    expect(done.status).toBe(201);
    expect(await json(done)).toMatchObject({ path: "/models/weights.bin", size: file.byteLength });
    const back = await (await api("GET", `/v1/shares/${s}/files/models/weights.bin`)).arrayBuffer();
    expect(await sha256(back)).toBe(await sha256(file));
    // The upload is over: its id is gone; one blob, nothing pending.
    await expectError(await status(s, u.uploadId), 404, "ENOENT");
    expect(await stub(s).usage()).toMatchObject({ pending: 0, blobs: 1 });
    // R2's upload became the object: none is left open.
    expect(await unfinishedUploads(`blobs/${await shareId(s)}/`)).toBe(0);
  });

  it("enforces R2's part-size rules with errors that name the expected size", async () => {
    const s = await newShare();
    await expectError(await create(s, { path: "/x", partSize: PART - 1 }), 400, "EINVAL");
    await expectError(await create(s, { path: "/x", partSize: 5 * 1024 * MiB + 1 }), 400, "EINVAL");
    await expectError(await create(s, { path: "/../x" }), 400, "EINVAL");
    const u = await start(s, "/x");
    const tooBig = await expectError(
      await part(s, u.uploadId, 1, bytesOf(PART + 1)),
      400,
      "EINVAL",
    );
    expect(tooBig.message).toContain(String(PART));
    // A short part is the last one: nothing may follow it, and it may not precede others.
    expect((await part(s, u.uploadId, 2, bytesOf(1000))).status).toBe(200);
    const after = await expectError(await part(s, u.uploadId, 3, bytesOf(PART)), 400, "EINVAL");
    expect(after.message).toContain("part 2");
    expect((await part(s, u.uploadId, 1, bytesOf(PART))).status).toBe(200);
    await expectError(await part(s, u.uploadId, 1, bytesOf(10)), 400, "EINVAL");
    for (const n of ["0", "10001", "abc", "-1"]) {
      await expectError(await part(s, u.uploadId, n, bytesOf(10)), 400, "EINVAL");
    }
    const chunked = await api("PUT", `/v1/shares/${s}/uploads/${u.uploadId}/parts/2`, {
      body: chunkedBody(bytesOf(100)),
    });
    await expectError(chunked, 400, "EINVAL");
    expect((await complete(s, u.uploadId)).status).toBe(201);
    expect((await api("GET", `/v1/shares/${s}/stat/x`)).status).toBe(200);
  });

  it("a declared size refuses a short part 1 and a complete that does not add up; nothing is committed and the upload resumes", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    const size = 2 * PART + 1000;
    const file = bytesOf(size, 5);
    const res = await create(s, { path: "/declared.bin", partSize: PART, size });
    expect(res.status).toBe(201);
    const u = await json<Upload & { size: number }>(res);
    expect(u).toMatchObject({ partSize: PART, size });
    // A short part 1 is refused before any byte moves, naming the numbers.
    const short = await expectError(await part(s, u.uploadId, 1, bytesOf(1000)), 400, "EINVAL");
    expect(short.message).toBe(
      `part 1 is 1000 bytes, not ${PART}: the declared size of ${size} bytes is 3 parts of ${PART} bytes (the last holds the rest)`,
    );
    // The last part is exactly the rest: neither more nor less.
    const over = await expectError(await part(s, u.uploadId, 3, bytesOf(1001)), 400, "EINVAL");
    expect(over.message).toContain("part 3 is 1001 bytes, which would pass the declared size");
    expect(over.message).toContain("so part 3 is 1000 bytes");
    await expectError(await part(s, u.uploadId, 3, bytesOf(999)), 400, "EINVAL");
    const past = await expectError(await part(s, u.uploadId, 4, bytesOf(10)), 400, "EINVAL");
    expect(past.message).toContain("there is no part 4");
    // Two of three parts, then complete: refused, nothing committed.
    expect((await part(s, u.uploadId, 1, file.slice(0, PART))).status).toBe(200);
    expect((await part(s, u.uploadId, 2, file.slice(PART, 2 * PART))).status).toBe(200);
    const early = await expectError(await complete(s, u.uploadId), 400, "EINVAL");
    expect(early.message).toBe(
      `the parts add up to ${2 * PART} bytes, not the declared ${size}: part 3 is missing; nothing was committed, the upload stays open`,
    );
    await expectError(await api("GET", `/v1/shares/${s}/stat/declared.bin`), 404, "ENOENT");
    // The upload is still there: status shows the declared size; send the rest, complete.
    const st = await json<Status & { size: number }>(await status(s, u.uploadId));
    expect(st).toMatchObject({ size, received: 2 * PART });
    expect((await part(s, u.uploadId, 3, file.slice(2 * PART))).status).toBe(200);
    expect((await complete(s, u.uploadId)).status).toBe(201);
    const got = new Uint8Array(
      await (await api("GET", `/v1/shares/${s}/files/declared.bin`)).arrayBuffer(),
    );
    expect(await sha256(got)).toBe(await sha256(file));
  });

  it("a declared size is checked on create: a whole number, within R2's limits and 10,000 parts", async () => {
    const s = await newShare();
    for (const size of [-1, 1.5, "12", null]) {
      await expectError(await create(s, { path: "/z", size }), 400, "EINVAL");
    }
    const tooBig = await expectError(
      await create(s, { path: "/z", size: 5 * 1024 ** 4 }),
      413,
      "ETOOLARGE",
    );
    expect(tooBig.message).toContain(String(5 * 1024 ** 4));
    // 10,000 parts of 5 MiB hold 50,000 MiB: one byte more needs bigger parts.
    const parts = await expectError(
      await create(s, { path: "/z", partSize: PART, size: 10_000 * PART + 1 }),
      400,
      "EINVAL",
    );
    expect(parts.message).toContain(`takes 10001 parts of ${PART} bytes, more than 10000`);
    expect(parts.message).toContain(`use a partSize of at least ${PART + 1} bytes`);
    // Without a partSize, a size past 10,000 default parts gets bigger ones.
    const big = await json<Upload>(await create(s, { path: "/z", size: 1024 ** 4 }));
    expect(big.partSize).toBe(105 * MiB);
    // An empty file is one empty part.
    const empty = await json<Upload>(await create(s, { path: "/empty", size: 0 }));
    expect((await part(s, empty.uploadId, 1, new Uint8Array(0))).status).toBe(200);
    expect((await complete(s, empty.uploadId)).status).toBe(201);
    expect(await getText(s, "/empty")).toBe("");
  });

  it("holds parts to R2's exact ceilings: 5 GiB less 5 MiB a part, 5 TiB less 5 GiB a file", async () => {
    const s = await newShare();
    const ceiling = 5 * 1024 * MiB - 5 * MiB;
    await expectError(await create(s, { path: "/y", partSize: 5 * 1024 * MiB }), 400, "EINVAL");
    await expectError(await create(s, { path: "/y", partSize: ceiling + 1 }), 400, "EINVAL");
    const res = await create(s, { path: "/y", partSize: ceiling });
    expect(res.status).toBe(201);
    const u = await json<Upload>(res);
    // Part 1026 would start 1025 × 4.995 GiB = 5,120 GiB in: past the 5,115 GiB object limit.
    await expectError(await part(s, u.uploadId, 1026, bytesOf(10)), 413, "ETOOLARGE");
    expect((await part(s, u.uploadId, 1024, bytesOf(10))).status).toBe(200);
  });

  it("checks conditions at commit time, against the state then", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const u = await start(s, "/once.bin", { "if-none-match": "*" });
    expect((await part(s, u.uploadId, 1, bytesOf(1000))).status).toBe(200);
    // Someone else creates the file meanwhile: the create-only upload loses.
    await put(s, "/once.bin", "the other writer");
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(1);
    await expectError(await complete(s, u.uploadId), 412, "EPRECONDITION");
    expect(await getText(s, "/once.bin")).toBe("the other writer");
    await expectError(await status(s, u.uploadId), 404, "ENOENT");
    // Its object is reclaimed at once, and R2's upload aborted.
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(s))); i++);
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(0);
    // Compare-and-swap through an upload.
    const v = await json<{ etag: string }>(await api("GET", `/v1/shares/${s}/stat/once.bin`));
    const cas = await start(s, "/once.bin", { "if-match": v.etag });
    const raced = await start(s, "/once.bin", { "if-match": v.etag });
    expect((await part(s, cas.uploadId, 1, bytesOf(70_000))).status).toBe(200);
    expect((await part(s, raced.uploadId, 1, bytesOf(10))).status).toBe(200);
    expect((await complete(s, cas.uploadId)).status).toBe(200);
    // The second one read the same version, but the file changed before it completed.
    await expectError(await complete(s, raced.uploadId), 412, "EPRECONDITION");
    await expectError(await status(s, raced.uploadId), 404, "ENOENT");
    expect((await api("GET", `/v1/shares/${s}/stat/once.bin`)).status).toBe(200);
    await expectError(
      await create(s, { path: "/once.bin" }, { "if-match": v.etag }),
      412,
      "EPRECONDITION",
    );
  });

  it("fails fast at create on what would fail at commit", async () => {
    const s = await newShare();
    await put(s, "/dir/f", "x");
    await expectError(await create(s, { path: "/dir" }), 409, "EISDIR");
    await expectError(await create(s, { path: "/dir/f/g" }), 409, "ENOTDIR");
    await expectError(
      await create(s, { path: "/dir/f" }, { "if-none-match": "*" }),
      412,
      "EPRECONDITION",
    );
    await expectError(await create("no-such-share", { path: "/a" }), 404, "ENOENT");
  });

  it("respects leases at completion", async () => {
    const s = await newShare();
    const u = await start(s, "/locked/file");
    expect((await part(s, u.uploadId, 1, bytesOf(10))).status).toBe(200);
    const lease = await json<{ leaseId: string }>(
      await api("POST", `/v1/shares/${s}/leases`, { body: '{"path":"/locked"}' }),
    );
    await expectError(await complete(s, u.uploadId), 423, "ELOCKED");
    // Refused by a lease, the upload stays open for the holder to finish.
    expect((await complete(s, u.uploadId, { "edgefs-lease": lease.leaseId })).status).toBe(201);
  });

  it("abort releases everything; an empty upload cannot complete", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const u = await start(s, "/gone");
    expect((await part(s, u.uploadId, 1, bytesOf(PART))).status).toBe(200);
    const empty = await start(s, "/empty");
    await expectError(await complete(s, empty.uploadId), 400, "EINVAL");
    // Both R2 uploads are open, parts stored, yet no object is listed.
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(2);
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
    expect((await api("DELETE", `/v1/shares/${s}/uploads/${u.uploadId}`)).status).toBe(204);
    await expectError(await status(s, u.uploadId), 404, "ENOENT");
    await expectError(await part(s, u.uploadId, 2, bytesOf(10)), 404, "ENOENT");
    await expectError(await api("DELETE", `/v1/shares/${s}/uploads/${u.uploadId}`), 404, "ENOENT");
    await expectError(await status(s, "not-an-upload-id"), 400, "EINVAL");
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(s))); i++);
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
    // The aborted one is gone from R2; the empty one stays open (it was never aborted).
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(1);
    expect((await api("DELETE", `/v1/shares/${s}/uploads/${empty.uploadId}`)).status).toBe(204);
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(s))); i++);
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(0);
    await expectError(await api("GET", `/v1/shares/${s}/stat/gone`), 404, "ENOENT");
  });

  it("an upload not completed before its expiry is aborted and reclaimed by the alarm", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const u = await start(s, "/slow");
    expect((await part(s, u.uploadId, 1, bytesOf(PART))).status).toBe(200);
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(1);
    expect(u.expiresAt).toBeGreaterThan(Date.now() + 23 * 3600_000); // default 24 h
    await runInDurableObject(stub(s), async (_i, state) => {
      const past = Date.now() - 1;
      state.storage.sql.exec("UPDATE uploads SET expires_at = ?", past);
      state.storage.sql.exec("UPDATE pending SET expires_at = ?", past);
      await state.storage.setAlarm(Date.now());
    });
    await expectError(await status(s, u.uploadId), 404, "ENOENT");
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(s))); i++);
    expect(await stub(s).usage()).toMatchObject({ pending: 0, gc: 0, blobs: 0 });
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(0);
    const rows = await runInDurableObject(
      stub(s),
      (_i, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM upload_parts").one().n,
    );
    expect(rows).toBe(0);
  });
});
