// "Snapshots are exact" (docs/api.md "Versions and snapshots"): 8 writers
// each PUT a stream of small files, overwriting their own paths, while
// snapshots are taken in the middle of it. One logical clock orders what the
// client saw: a write's request sent, its answer in; a snapshot's request
// sent, its answer in. For every snapshot and every path:
// * a write answered before the snapshot was asked for is in it (or a later
//   write to that path is), with its exact bytes;
// * a write sent after the snapshot's answer came back is not in it;
// * a write in flight across it may go either way, but what the snapshot
//   holds is whole bytes of a write that was made to that path (no torn content);
// * nothing else is in it;
// * and the versions the answers name (Edgefs-Version) agree: the snapshot
//   holds, for each path, exactly the write of the highest version ≤ its own.
// The snapshot is read after the writers have overwritten everything and GC
// has had its grace period, so it must also keep the bytes it references.
import { beforeAll, describe, expect, it } from "vitest";
import {
  Edgefs,
  type FileEntry,
  INLINE_MAX,
  pool,
  prngBytes,
  sha256,
  sleep,
  uniqueName,
} from "./helpers.js";

const WRITERS = 8;
const WRITES_PER_WRITER = 40;
/** Each writer cycles over this many paths of its own: every path is overwritten 5 times. */
const PATHS_PER_WRITER = 8;
/** A snapshot is taken when this many writes (of all) have been answered. */
const SNAPSHOT_AT = [40, 120, 200];

const api = Edgefs.shared();
let share: string;

beforeAll(async () => {
  share = uniqueName("snapx");
  await api.createShare(share);
});

interface Write {
  path: string;
  sha: string;
  /** Clock ticks: request about to be sent; full answer received. */
  sent: number;
  answered: number;
  /** The version the write made (its answer's Edgefs-Version). */
  version: number;
}
interface Snap {
  name: string;
  sent: number;
  answered: number;
  version: number;
}

let clock = 0;
const tick = () => ++clock;

describe(`${WRITERS} writers, ${WRITERS * WRITES_PER_WRITER} writes, ${SNAPSHOT_AT.length} snapshots in the middle`, () => {
  it("each snapshot holds every write answered before it, none sent after it, no torn bytes", async () => {
    const writes: Write[] = [];
    const snaps: Snap[] = [];
    /** Every write's bytes by hash, to tell which write a snapshot's content came from. */
    const bySha = new Map<string, Write>();
    let answered = 0;
    const waiting: { at: number; go: () => void }[] = [];

    const writer = async (w: number) => {
      for (let i = 0; i < WRITES_PER_WRITER; i++) {
        const path = `/w${w}/p${i % PATHS_PER_WRITER}.bin`;
        // Mostly small (inline) files; every 8th write goes to R2.
        const size =
          (w + i) % 8 === 0 ? INLINE_MAX + 1 + w * 31 + i : 1 + ((w * 97 + i * 13) % 3000);
        const data = prngBytes(w * 1000 + i + 1, size);
        const sent = tick();
        const res = await api.fetch(api.route(share, "files", path), {
          method: "PUT",
          body: data as Uint8Array<ArrayBuffer>,
        });
        const text = await res.text();
        const done = tick();
        expect(res.status, `${path}: ${text}`).toBeLessThan(300);
        const write = {
          path,
          sha: sha256(data),
          sent,
          answered: done,
          version: Number(res.headers.get("edgefs-version")),
        };
        expect(write.version, `${path}: Edgefs-Version of the answer`).toBeGreaterThan(0);
        writes.push(write);
        bySha.set(write.sha, write);
        answered++;
        for (const waiter of waiting.filter((x) => x.at <= answered)) waiter.go();
      }
    };

    const snapshotter = async () => {
      for (const [k, at] of SNAPSHOT_AT.entries()) {
        if (answered < at) await new Promise<void>((go) => waiting.push({ at, go }));
        const name = `s${k}`;
        const sent = tick();
        const { status, body } = await api.json<{ name: string; version: number }>(
          `/v1/shares/${share}/snapshots`,
          { method: "POST", body: JSON.stringify({ name }) },
        );
        const done = tick();
        expect(status, JSON.stringify(body)).toBe(201);
        snaps.push({ name, sent, answered: done, version: body.version });
      }
    };

    await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), snapshotter()]);
    expect(snaps).toHaveLength(SNAPSHOT_AT.length);
    // Each snapshot must have had writes on both sides, or it tested nothing.
    for (const s of snaps) {
      expect(writes.some((x) => x.answered < s.sent)).toBe(true);
      expect(writes.some((x) => x.sent > s.answered)).toBe(true);
    }

    // Later snapshots name later versions.
    const versions = snaps.map((x) => x.version);
    expect(versions).toEqual([...new Set(versions)].sort((x, y) => x - y));

    // The versions the answers name agree with the clock: a write answered
    // before a snapshot was asked for is at or below its version, one sent
    // after it answered is above it; one writer's writes to a path grow.
    for (const s of snaps) {
      for (const x of writes) {
        if (x.answered < s.sent) {
          expect(x.version, `${x.path} answered before ${s.name}`).toBeLessThanOrEqual(s.version);
        }
        if (x.sent > s.answered) {
          expect(x.version, `${x.path} sent after ${s.name}`).toBeGreaterThan(s.version);
        }
      }
    }
    for (const path of new Set(writes.map((x) => x.path))) {
      const versions = writes
        .filter((x) => x.path === path)
        .sort((a, b) => a.sent - b.sent)
        .map((x) => x.version);
      expect(versions, path).toEqual([...versions].sort((a, b) => a - b));
    }

    // Everything has been overwritten since; give GC its grace (1 s) to reclaim
    // wrongly what the snapshots still reference.
    await sleep(2500);

    const tally = { before: 0, after: 0, inFlight: 0, inFlightIn: 0 };
    for (const s of snaps) {
      const listing = await api.json<{ entries: FileEntry[]; cursor?: string }>(
        `${api.route(share, "list", "")}?recursive=true&snapshot=${s.name}`,
      );
      expect(listing.status).toBe(200);
      expect(listing.body.cursor).toBeUndefined();
      const files = listing.body.entries.filter((e) => e.type === "file");
      const held = new Map<string, string>();
      await pool(files, 8, async (e) => {
        const res = await api.fetch(
          `${api.route(share, "files", e.path)}?snapshot=${encodeURIComponent(s.name)}`,
        );
        const bytes = new Uint8Array(await res.arrayBuffer());
        expect(res.status, `${s.name} ${e.path}`).toBe(200);
        expect(Number(res.headers.get("edgefs-version")), `${s.name} ${e.path}`).toBe(s.version);
        expect(bytes.byteLength, `${s.name} ${e.path}: listed size`).toBe(e.size);
        held.set(`/${e.path}`, sha256(bytes));
      });

      const paths = new Set(writes.map((x) => x.path));
      for (const path of paths) {
        // This path's writes, in the order its one writer made them.
        const mine = writes.filter((x) => x.path === path).sort((a, b) => a.sent - b.sent);
        const got = held.get(path);
        const what = `${s.name} (v${s.version}) ${path}`;
        // No torn or foreign content: the bytes of one write to this very path.
        const source = got === undefined ? undefined : bySha.get(got);
        if (got !== undefined) expect(source?.path, `${what}: bytes of no write`).toBe(path);
        // The last write answered before the snapshot was asked for: it, or a
        // later one sent before the snapshot answered, is what the snapshot holds.
        const before = mine.filter((x) => x.answered < s.sent).at(-1);
        const candidates = mine.filter(
          (x) => x.sent < s.answered && (before === undefined || x.sent >= before.sent),
        );
        if (before !== undefined)
          expect(got, `${what}: an acknowledged write is missing`).toBeDefined();
        if (candidates.length === 0) {
          expect(got, `${what}: a file written only after the snapshot`).toBeUndefined();
        }
        if (source !== undefined) {
          expect(
            candidates.includes(source),
            `${what}: holds the write sent at ${source.sent}, answered at ${source.answered}; the snapshot was sent at ${s.sent}, answered at ${s.answered}`,
          ).toBe(true);
        }
        // Exactly the write of the highest version at or below the snapshot's.
        expect(got, `${what}: not the write of the highest version ≤ v${s.version}`).toBe(
          mine.filter((x) => x.version <= s.version).at(-1)?.sha,
        );
        for (const x of mine) {
          if (x.answered < s.sent) tally.before++;
          else if (x.sent > s.answered) tally.after++;
          else {
            tally.inFlight++;
            if (got === x.sha) tally.inFlightIn++;
          }
        }
      }
      // Nothing else is in the snapshot.
      expect([...held.keys()].filter((p) => !paths.has(p))).toEqual([]);
    }
    // For the record: how the writes fell around the snapshots.
    console.log(`snapshot-exact: ${JSON.stringify(tally)}`);
  });
});
