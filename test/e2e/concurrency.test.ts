// Concurrent writers (docs/architecture.md "Semantics users rely on"): writers to different paths never lose
// each other's files; writers to one path leave exactly one whole version
// (the last commit), and GC reclaims every superseded blob.
import { beforeAll, describe, expect, it } from "vitest";
import {
  Edgefs,
  type FileEntry,
  INLINE_MAX,
  KiB,
  pool,
  prngBytes,
  readableOf,
  sha256,
  sleep,
  streamingInit,
  uniqueName,
} from "./helpers.js";

const server = Edgefs.shared();
const WRITERS = 16;
const FILES_PER_WRITER = 20;

describe("16 concurrent writers to different paths", () => {
  let share: string;
  let shareId: string;

  beforeAll(async () => {
    share = uniqueName("conc-many");
    shareId = (await server.createShare(share)).id;
  });

  /** Writer w's file i: every 4th is over the inline limit; half go to one common directory. */
  const spec = (w: number, i: number) => {
    const n = w * FILES_PER_WRITER + i;
    const size = i % 4 === 0 ? INLINE_MAX + 1 + n * 97 : 1 + ((w * 131 + i * 17) % 8000);
    const path = i % 2 === 0 ? `common/sub/w${w}-f${i}.bin` : `w${w}/f${i}.bin`;
    return { path, size, seed: 1000 + n };
  };
  const all = Array.from({ length: WRITERS }, (_, w) =>
    Array.from({ length: FILES_PER_WRITER }, (_, i) => spec(w, i)),
  ).flat();

  it("all 320 files are present with their exact bytes", async () => {
    const statuses = await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const codes: number[] = [];
        for (let i = 0; i < FILES_PER_WRITER; i++) {
          const f = spec(w, i);
          const { status } = await server.put(share, f.path, prngBytes(f.seed, f.size));
          codes.push(status);
        }
        return codes;
      }),
    );
    expect(statuses.flat()).toEqual(all.map(() => 201));

    const listing = await server.json<{ entries: FileEntry[]; cursor?: string }>(
      `${server.route(share, "list", "")}?recursive=true`,
    );
    expect(listing.status).toBe(200);
    expect(listing.body.cursor).toBeUndefined();
    const files = listing.body.entries.filter((e) => e.type === "file");
    expect(files.map((e) => [e.path, e.size]).sort()).toEqual(
      all.map((f) => [f.path, f.size]).sort(),
    );
    const common = await server.json<{ entries: FileEntry[] }>(
      server.route(share, "list", "common/sub"),
    );
    expect(common.body.entries).toHaveLength((WRITERS * FILES_PER_WRITER) / 2);

    const mismatches = (
      await pool(all, 16, async (f) => {
        const got = await server.get(share, f.path);
        const ok = got.status === 200 && sha256(got.bytes) === sha256(prngBytes(f.seed, f.size));
        return ok ? undefined : `${f.path}: ${got.status}, ${got.bytes.byteLength} bytes`;
      })
    ).filter((m) => m !== undefined);
    expect(mismatches).toEqual([]);

    const large = all.filter((f) => f.size > INLINE_MAX).length;
    expect(large).toBe(WRITERS * (FILES_PER_WRITER / 4));
    expect(await server.r2Count(shareId)).toBe(large);
  });
});

describe("16 concurrent overwrites of one path", () => {
  /**
   * Writes `contents` to one path all at once, half of them with
   * Content-Length and half chunked, and returns each writer's answer.
   */
  async function race(share: string, path: string, contents: Uint8Array[]) {
    return Promise.all(
      contents.map(async (data, k) => {
        const init =
          k % 2 === 0
            ? { method: "PUT", body: data as Uint8Array<ArrayBuffer> }
            : streamingInit("PUT", readableOf([data.subarray(0, 1000), data.subarray(1000)]));
        const res = await server.fetch(server.route(share, "files", path), init);
        const text = await res.text();
        expect(res.status, text).toBeLessThan(300);
        const body = JSON.parse(text) as FileEntry;
        return { status: res.status, body, sha: sha256(data), size: data.byteLength };
      }),
    );
  }

  /** The path holds exactly one writer's bytes, whole, and that writer committed last. */
  async function expectOneWinner(
    share: string,
    path: string,
    results: Awaited<ReturnType<typeof race>>,
  ) {
    // Every write succeeded; exactly one of them created the file.
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(results.length - 1);
    const got = await server.get(share, path);
    expect(got.status).toBe(200);
    const etag = got.res.headers.get("etag");
    const winner = results.find((r) => r.body.etag === etag);
    expect(winner, `ETag ${etag} was returned to no writer`).toBeDefined();
    if (!winner) return winner;
    // The bytes are the ones that writer sent, completely.
    expect(got.bytes.byteLength).toBe(winner.size);
    expect(sha256(got.bytes)).toBe(winner.sha);
    // Last writer wins: no acknowledged write committed after the winner.
    expect(winner.body.mtime).toBe(Math.max(...results.map((r) => r.body.mtime)));
    const stat = await server.stat(share, path);
    expect(stat.body).toMatchObject({ type: "file", size: winner.size, etag });
    return winner;
  }

  it("large contents: one complete version remains, and exactly 1 blob after GC", async () => {
    const share = uniqueName("conc-one");
    const { id } = await server.createShare(share);
    const contents = Array.from({ length: WRITERS }, (_, k) =>
      prngBytes(500 + k, 100 * KiB + k * 1111),
    );
    // Readers poll the path while the writers race: each must see nothing yet
    // (404) or one writer's bytes whole, never a mix or a prefix.
    let writing = true;
    const seen: { status: number; etag: string | null; sha: string }[] = [];
    const readers = Array.from({ length: 4 }, async () => {
      for (let n = 0; n < 500 && writing; n++) {
        const got = await server.get(share, "hot/one.bin");
        seen.push({
          status: got.status,
          etag: got.res.headers.get("etag"),
          sha: sha256(got.bytes),
        });
      }
    });
    const results = await race(share, "hot/one.bin", contents).finally(() => {
      writing = false;
    });
    await Promise.all(readers);
    const torn = seen.filter((r) => {
      if (r.status === 404) return false;
      const writer = results.find((w) => w.body.etag === r.etag);
      return r.status !== 200 || writer === undefined || writer.sha !== r.sha;
    });
    expect(torn).toEqual([]);
    // The readers must have read a version while the writers raced, or they
    // checked nothing: count the reads that returned one writer's bytes whole.
    const whole = seen.filter(
      (r) => r.status === 200 && results.some((w) => w.body.etag === r.etag && w.sha === r.sha),
    ).length;
    expect(whole, `${seen.length} reads, none returned a whole version`).toBeGreaterThan(0);
    await expectOneWinner(share, "hot/one.bin", results);
    await sleep(1500);
    expect(await server.waitForR2Count(id, 1)).toBe(1);
    // The survivor is still readable after the superseded blobs are gone.
    const after = await server.get(share, "hot/one.bin");
    expect(results.map((r) => r.sha)).toContain(sha256(after.bytes));
  });

  it("mixed small and large contents: one complete version, and R2 holds only its blob", async () => {
    const share = uniqueName("conc-mixed");
    const { id } = await server.createShare(share);
    // Even k: inline-sized; odd k: R2-sized. Distinct lengths and bytes.
    const contents = Array.from({ length: WRITERS }, (_, k) =>
      prngBytes(700 + k, k % 2 === 0 ? 2 * KiB + k * 3001 : INLINE_MAX + 1 + k * 2003),
    );
    const results = await race(share, "hot/mixed.bin", contents);
    const winner = await expectOneWinner(share, "hot/mixed.bin", results);
    const expected = winner && winner.size > INLINE_MAX ? 1 : 0;
    await sleep(1500);
    expect(await server.waitForR2Count(id, expected)).toBe(expected);
  });
});
