// "Nothing lost" under concurrency (docs/architecture.md "Semantics users rely on"): many writers, each with
// files of its own (sizes up to 1 MiB, inline and R2), all of them also
// overwriting a set of shared paths, while readers read throughout. In the
// end every acknowledged write is there with its exact bytes, every shared
// path holds exactly one whole version some writer wrote, listings agree
// with stats, R2 holds exactly the blobs the tree points at, and no reader
// ever saw a partial or foreign file.
// Short in `npm test`; EDGEFS_STRESS=long: 32 writers × 300 files, 50 shared paths.
import { beforeAll, describe, expect, it } from "vitest";
import {
  Edgefs,
  type FileEntry,
  INLINE_MAX,
  LONG_STRESS,
  MiB,
  pool,
  prngBytes,
  readableOf,
  sha256,
  sleep,
  streamingInit,
  stressCount,
  uniqueName,
} from "./helpers.js";

const server = Edgefs.shared();
const WRITERS = stressCount(12, 32);
const OPS_PER_WRITER = stressCount(20, 300);
const SHARED_PATHS = stressCount(10, 50);
const READERS = stressCount(3, 8);
const TIMEOUT = LONG_STRESS ? 900_000 : 300_000;

/** One write a writer makes: its own file, or an overwrite of a shared path. */
interface Op {
  path: string;
  seed: number;
  size: number;
  shared: boolean;
  /** Sent chunked (no Content-Length) instead of with a length. */
  chunked: boolean;
}

/** Writer w's k-th write. Deterministic, so every version's hash is known up front. */
function op(w: number, k: number): Op {
  const seed = 1 + w * 100_000 + k;
  // A quarter of all writes go to R2 (just over the inline limit up to 1 MiB).
  const large = (w + k) % 4 === 0;
  const size = large
    ? INLINE_MAX + 1 + ((seed * 7919) % (MiB - INLINE_MAX))
    : (seed * 131) % (INLINE_MAX + 1);
  const shared = k % 3 === 2;
  const path = shared ? `shared/p${(w + k) % SHARED_PATHS}.bin` : `w${w % 4}/writer-${w}/f${k}.bin`;
  return { path, seed, size, shared, chunked: k % 5 === 4 };
}

interface Acked {
  op: Op;
  sha: string;
  etag: string;
  mtime: number;
}

describe(`${WRITERS} writers × ${OPS_PER_WRITER} writes, ${SHARED_PATHS} shared paths, ${READERS} readers`, () => {
  let share: string;
  let shareId: string;
  const ops = Array.from({ length: WRITERS }, (_, w) =>
    Array.from({ length: OPS_PER_WRITER }, (_, k) => op(w, k)),
  );
  /** Every version any writer may leave at a shared path, by hash. */
  const candidates = new Map<string, Set<string>>();
  for (const o of ops.flat().filter((x) => x.shared)) {
    const set = candidates.get(o.path) ?? new Set<string>();
    set.add(sha256(prngBytes(o.seed, o.size)));
    candidates.set(o.path, set);
  }
  const acked: Acked[] = [];
  const failures: string[] = [];
  const torn: string[] = [];
  let reads = 0;
  /** Reads that returned a complete known version (a 404 checks nothing). */
  let wholeReads = 0;

  beforeAll(async () => {
    share = uniqueName("stress-conc");
    shareId = (await server.createShare(share)).id;
  });

  async function write(o: Op): Promise<void> {
    const data = prngBytes(o.seed, o.size);
    const init = o.chunked
      ? streamingInit("PUT", readableOf([data.subarray(0, 1000), data.subarray(1000)]))
      : { method: "PUT", body: data as Uint8Array<ArrayBuffer> };
    const res = await server.fetch(server.route(share, "files", o.path), init);
    const text = await res.text();
    if (res.status !== 200 && res.status !== 201) {
      failures.push(`PUT ${o.path} (${o.size} B): ${res.status} ${text.slice(0, 200)}`);
      return;
    }
    const entry = JSON.parse(text) as FileEntry;
    acked.push({ op: o, sha: sha256(data), etag: entry.etag as string, mtime: entry.mtime });
  }

  /** A reader: each GET must be a whole version, never a prefix or a mix. */
  async function reader(r: number, writing: () => boolean): Promise<void> {
    for (let n = 0; writing() && n < 100_000; n++) {
      const pick =
        acked.length > 0 && n % 2 === 0 ? acked[(n * 7919 + r) % acked.length] : undefined;
      const path = pick && !pick.op.shared ? pick.op.path : `shared/p${(n + r) % SHARED_PATHS}.bin`;
      const got = await server.get(share, path);
      reads++;
      const length = Number(got.res.headers.get("content-length"));
      const sha = sha256(got.bytes);
      if (pick && !pick.op.shared) {
        // Read-after-write: an acknowledged file is there, whole.
        if (got.status !== 200 || sha !== pick.sha)
          torn.push(`${path}: ${got.status}, ${got.bytes.byteLength} B`);
        else wholeReads++;
      } else if (got.status === 200) {
        if (!candidates.get(path)?.has(sha) || length !== got.bytes.byteLength)
          torn.push(`${path}: ${got.bytes.byteLength} B, hash of no writer's version`);
        else wholeReads++;
      } else if (got.status !== 404) {
        torn.push(`${path}: ${got.status}`);
      }
    }
  }

  it(
    "every acknowledged write survives whole; shared paths hold one writer's version",
    async () => {
      let writing = true;
      const readers = Array.from({ length: READERS }, (_, r) => reader(r, () => writing));
      await Promise.all(
        ops.map(async (mine) => {
          for (const o of mine) await write(o);
        }),
      ).finally(() => {
        writing = false;
      });
      await Promise.all(readers);
      expect(failures).toEqual([]);
      expect(acked).toHaveLength(WRITERS * OPS_PER_WRITER);
      expect(torn).toEqual([]);
      expect(wholeReads, `${reads} reads, none of a whole version`).toBeGreaterThan(0);
      console.log(
        `${acked.length} writes acknowledged, ${reads} reads during the writes (${wholeReads} of a whole version), none torn`,
      );

      // Own files: exactly the acknowledged bytes.
      const own = acked.filter((a) => !a.op.shared);
      const lost = (
        await pool(own, 16, async (a) => {
          const got = await server.download(share, a.op.path);
          return got.status === 200 && got.sha256 === a.sha && got.size === a.op.size
            ? undefined
            : `${a.op.path}: ${got.status}, ${got.size} of ${a.op.size} B`;
        })
      ).filter((x) => x !== undefined);
      expect(lost).toEqual([]);

      // Shared paths: one whole version, written by a writer that got it acknowledged,
      // and no acknowledged write to that path committed after it (last writer wins).
      for (let p = 0; p < SHARED_PATHS; p++) {
        const path = `shared/p${p}.bin`;
        const writes = acked.filter((a) => a.op.path === path);
        if (writes.length === 0) continue;
        const got = await server.get(share, path);
        expect(got.status, path).toBe(200);
        const winner = writes.find((a) => a.etag === got.res.headers.get("etag"));
        expect(winner, `${path}: its ETag was acknowledged to no writer`).toBeDefined();
        expect(sha256(got.bytes), path).toBe(winner?.sha);
        expect(winner?.mtime, path).toBe(Math.max(...writes.map((a) => a.mtime)));
      }
    },
    TIMEOUT,
  );

  it(
    "the listing agrees with stat for every entry, and with what was written",
    async () => {
      const entries = await server.listAll(share);
      const files = entries.filter((e) => e.type === "file");
      const expected = new Set(acked.map((a) => a.op.path));
      expect(files.map((e) => e.path).sort()).toEqual([...expected].sort());
      const disagreements = (
        await pool(entries, 16, async (e) => {
          const { status, body } = await server.stat(share, e.path);
          const same =
            status === 200 &&
            body.type === e.type &&
            body.size === e.size &&
            body.etag === e.etag &&
            body.mtime === e.mtime;
          return same
            ? undefined
            : `${e.path}: list ${JSON.stringify(e)} vs stat ${JSON.stringify(body)}`;
        })
      ).filter((x) => x !== undefined);
      expect(disagreements).toEqual([]);

      // After the GC grace, R2 holds exactly the blobs of the files over the inline limit.
      const large = files.filter((e) => e.size > INLINE_MAX).length;
      await sleep(1500);
      expect(await server.waitForR2Count(shareId, large, 60_000)).toBe(large);
    },
    TIMEOUT,
  );
});
