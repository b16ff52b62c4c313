// A client that dies mid-upload leaves nothing visible and, after GC, no
// blob behind; an older version of the path survives intact
// (docs/architecture.md "Semantics users rely on": atomic writes).
import { beforeAll, describe, expect, it } from "vitest";
import {
  abortedPut,
  Edgefs,
  type FileEntry,
  INLINE_MAX,
  KiB,
  MiB,
  prngBytes,
  type RawAnswer,
  rawRequest,
  sha256,
  sleep,
  uniqueName,
} from "./helpers.js";

const server = Edgefs.shared();
let share: string;
let shareId: string;
/** Large (R2-backed) files committed in the share so far: the R2 count to expect. */
let committedLarge = 0;

/** Writes a file and remembers whether it occupies an R2 object. */
async function commit(path: string, data: Uint8Array): Promise<FileEntry> {
  const { status, body } = await server.put(share, path, data);
  expect(status, JSON.stringify(body)).toBe(201);
  if (data.byteLength > INLINE_MAX) committedLarge++;
  return body;
}

/** What a user sees of the share after an aborted upload, and what R2 holds after GC. */
async function expectNoTrace(path: string): Promise<void> {
  const stat = await server.stat(share, path);
  expect(stat.status).toBe(404);
  expect(stat.body.error).toMatchObject({ code: "ENOENT", path: `/${path}` });
  const get = await server.get(share, path);
  expect(get.status).toBe(404);
  // Let the GC grace (1 s) pass and the alarm run, then count.
  await sleep(2500);
  expect(await server.waitForR2Count(shareId, committedLarge)).toBe(committedLarge);
  // Nor an open multipart upload, whose parts R2 would keep (chunked bodies go multipart).
  expect(await server.waitForNoUnfinishedUploads(shareId)).toBe(0);
}

/** The file at `path` is still exactly `data` with the given ETag. */
async function expectIntact(
  path: string,
  data: Uint8Array,
  etag: string | undefined,
): Promise<void> {
  const got = await server.get(share, path);
  expect(got.status).toBe(200);
  expect(got.res.headers.get("etag")).toBe(etag);
  expect(got.bytes.byteLength).toBe(data.byteLength);
  expect(sha256(got.bytes)).toBe(sha256(data));
}

beforeAll(async () => {
  share = uniqueName("aborted");
  shareId = (await server.createShare(share)).id;
  // A bystander: an unrelated large file that must survive every abort and GC run.
  await commit("keep/bystander.bin", prngBytes(100, 2 * MiB));
});

describe.each([
  { kind: "with Content-Length", chunked: false },
  { kind: "chunked", chunked: true },
])("a 30 MiB upload $kind cut off halfway", ({ chunked }) => {
  const tag = chunked ? "chunked" : "known";

  it("leaves no file, no parent directory and no blob behind", async () => {
    const path = `new-${tag}/upload.bin`;
    const result = await abortedPut(server, server.route(share, "files", path), {
      seed: 1,
      total: 30 * MiB,
      // Past two 10 MiB parts for the chunked upload, so R2 already holds parts.
      cutAfter: chunked ? 25 * MiB : 15 * MiB,
      chunked,
    });
    expect(result.earlyStatus).toBeUndefined();
    await expectNoTrace(path);
    const dir = await server.stat(share, `new-${tag}`);
    expect(dir.status).toBe(404);
    const root = await server.json<{ entries: FileEntry[] }>(server.route(share, "list", ""));
    expect(root.body.entries.map((e) => e.path)).not.toContain(`new-${tag}`);
  });

  it("keeps the older version of the path byte-for-byte", async () => {
    const path = `old-${tag}/file.bin`;
    const old = prngBytes(chunked ? 3 : 4, 3 * MiB + 17);
    const entry = await commit(path, old);
    const result = await abortedPut(server, server.route(share, "files", path), {
      seed: 5,
      total: 30 * MiB,
      cutAfter: chunked ? 25 * MiB : 15 * MiB,
      chunked,
    });
    expect(result.earlyStatus).toBeUndefined();
    await expectIntact(path, old, entry.etag);
    const stat = await server.stat(share, path);
    expect(stat.body).toMatchObject({ type: "file", size: old.byteLength, etag: entry.etag });
    // After GC: exactly the committed blobs, so the old version's blob was not reclaimed...
    await sleep(2500);
    expect(await server.waitForR2Count(shareId, committedLarge)).toBe(committedLarge);
    expect(await server.waitForNoUnfinishedUploads(shareId)).toBe(0);
    // ...and it still reads back whole once the grace period is long over.
    await expectIntact(path, old, entry.etag);
  });
});

describe("a small upload cut off halfway", () => {
  it("keeps the older inline version and commits nothing", async () => {
    const path = "small/file.txt";
    const old = prngBytes(7, 10 * KiB);
    const entry = await commit(path, old);
    const result = await abortedPut(server, server.route(share, "files", path), {
      seed: 8,
      total: 60 * KiB,
      cutAfter: 30 * KiB,
      chunked: false,
    });
    expect(result.earlyStatus).toBeUndefined();
    await expectIntact(path, old, entry.etag);
    await expectNoTrace("small/never.txt");
  });
});

describe("a body shorter than its Content-Length", () => {
  /**
   * Sends the headers and `sent` bytes of a `declared`-byte body, then
   * half-closes the connection (FIN): the server sees the body end early.
   */
  async function truncatedPut(path: string, declared: number, sent: number): Promise<RawAnswer> {
    return rawRequest(
      server,
      `PUT ${server.route(share, "files", path)} HTTP/1.1\r\n` +
        `Authorization: Bearer ${server.token}\r\nContent-Length: ${declared}\r\n`,
      prngBytes(9, sent),
    );
  }

  it.each([
    { declared: 40 * KiB, sent: 20 * KiB },
    { declared: 8 * MiB, sent: 2 * MiB },
  ])("is refused ($sent of $declared bytes) and leaves nothing", async ({ declared, sent }) => {
    const path = `truncated/${declared}.bin`;
    const answer = await truncatedPut(path, declared, sent);
    expect(answer.status, answer.head).toBeGreaterThanOrEqual(400);
    await expectNoTrace(path);
  });
});

describe("after all the aborts", () => {
  it("the bystander file is still whole", async () => {
    const got = await server.download(share, "keep/bystander.bin");
    expect(got).toEqual({ status: 200, size: 2 * MiB, sha256: sha256(prngBytes(100, 2 * MiB)) });
  });
});
