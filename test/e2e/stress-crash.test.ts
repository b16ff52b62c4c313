// kill -9 of the whole server (wrangler and workerd) while uploads, multipart
// commits, moves and recursive deletes are in flight, then a restart on the
// same data directory (docs/architecture.md "Semantics users rely on": a crash
// at any point leaves the old or the new state): every path holds its
// previous complete version or the new complete one, acknowledged changes
// are all there, a moved or deleted directory is wholly before or wholly
// after, the listing agrees with stat, and GC reclaims whatever the crash
// orphaned.
// Short in `npm test`; EDGEFS_STRESS=long: 50 operations per crash, 3 crashes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";
import {
  Edgefs,
  type FileEntry,
  INLINE_MAX,
  KiB,
  LONG_STRESS,
  MiB,
  pool,
  prngBytes,
  sha256,
  sleep,
  stressCount,
} from "./helpers.js";
import { E2E_VARS } from "./server-vars.js";

const OPS = stressCount(12, 50);
const CRASHES = stressCount(1, 3);
const PART = 5 * MiB;
/** Reservations and multipart uploads orphaned by the crash expire after this long. */
const TTL_SECONDS = 10;
const VARS = {
  ...E2E_VARS,
  EDGEFS_PENDING_TTL_SECONDS: String(TTL_SECONDS),
  EDGEFS_UPLOAD_TTL_SECONDS: String(TTL_SECONDS),
};
const TIMEOUT = LONG_STRESS ? 900_000 : 300_000;

type Kind = "put" | "multipart" | "move" | "rmrf";
const KINDS: Kind[] = ["put", "multipart", "move", "rmrf"];

interface Slot {
  kind: Kind;
  i: number;
  /** put, multipart: the file; move: the source dir; rmrf: the dir. */
  path: string;
  oldData: Uint8Array;
  newData: Uint8Array;
  /** Files inside the directory of a move or rmrf slot, by name. */
  files: Map<string, Uint8Array>;
  uploadId?: string;
  acked: boolean;
  /** Requests of the change sent and not yet answered. */
  pending: number;
  /** A request of the change got no HTTP answer at all: the kill cut it. */
  cut: boolean;
}

const dataDir = mkdtempSync(join(tmpdir(), "edgefs-crash-"));
const token = `crash-${Math.random().toString(36).slice(2)}`;
let server: Awaited<ReturnType<typeof startServer>> | undefined;

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function put(api: Edgefs, share: string, path: string, data: Uint8Array): Promise<void> {
  const { status, body } = await api.put(share, path, data);
  expect(status, `${path}: ${JSON.stringify(body)}`).toBeLessThan(300);
}

/** Slot i of a round: its older state is written now, its change runs during the crash. */
async function prepare(api: Edgefs, share: string, round: number, i: number): Promise<Slot> {
  const kind = KINDS[i % 4] as Kind;
  const seed = round * 10_000 + i * 10;
  // Every other slot is R2-sized, the rest inline.
  const oldSize = i % 8 < 4 ? INLINE_MAX + 1 + i * 997 : 2 * KiB + i;
  const slot: Slot = {
    kind,
    i,
    path: `r${round}/${kind}/${i}`,
    oldData: prngBytes(seed, oldSize),
    newData: new Uint8Array(0),
    files: new Map(),
    acked: false,
    pending: 0,
    cut: false,
  };
  if (kind === "put" || kind === "multipart") {
    slot.path += ".bin";
    await put(api, share, slot.path, slot.oldData);
    const newSize =
      kind === "multipart" ? PART + 1 + i * 4099 : i % 8 < 4 ? MiB + i * 7001 : 3 * KiB;
    slot.newData = prngBytes(seed + 1, newSize);
  } else {
    const dir = kind === "move" ? `${slot.path}/src` : slot.path;
    for (const [name, size] of [
      ["a.txt", 100 + i],
      ["sub/b.bin", INLINE_MAX + 1 + i],
      ["sub/deeper/c.bin", 5 * KiB],
    ] as const) {
      const data = prngBytes(seed + name.length, size);
      slot.files.set(name, data);
      await put(api, share, `${dir}/${name}`, data);
    }
  }
  if (kind === "multipart") {
    const created = await api.json<{ uploadId: string }>(`/v1/shares/${share}/uploads`, {
      method: "POST",
      body: JSON.stringify({ path: `/${slot.path}`, partSize: PART }),
    });
    expect(created.status).toBe(201);
    slot.uploadId = created.body.uploadId;
    const part1 = await api.fetch(`/v1/shares/${share}/uploads/${slot.uploadId}/parts/1`, {
      method: "PUT",
      body: slot.newData.subarray(0, PART) as Uint8Array<ArrayBuffer>,
    });
    expect(part1.status).toBe(200);
  }
  return slot;
}

/** The change a slot makes while the server is killed. Sets `acked` on a 2xx answer. */
async function change(api: Edgefs, share: string, slot: Slot): Promise<void> {
  const ok = async (res: Promise<Response>) => {
    slot.pending++;
    let r: Response;
    try {
      r = await res;
      await r.arrayBuffer();
    } catch (e) {
      slot.cut = true; // no answer: the connection died with the server
      throw e;
    } finally {
      slot.pending--;
    }
    if (r.status >= 200 && r.status < 300) return true;
    throw new Error(`${slot.kind} ${slot.path}: ${r.status}`);
  };
  switch (slot.kind) {
    case "put":
      slot.acked = await ok(
        api.fetch(api.route(share, "files", slot.path), {
          method: "PUT",
          body: slot.newData as Uint8Array<ArrayBuffer>,
        }),
      );
      return;
    case "multipart": {
      const base = `/v1/shares/${share}/uploads/${slot.uploadId}`;
      await ok(
        api.fetch(`${base}/parts/2`, {
          method: "PUT",
          body: slot.newData.subarray(PART) as Uint8Array<ArrayBuffer>,
        }),
      );
      slot.acked = await ok(api.fetch(`${base}/complete`, { method: "POST" }));
      return;
    }
    case "move":
      slot.acked = await ok(
        api.fetch(`/v1/shares/${share}/move`, {
          method: "POST",
          body: JSON.stringify({ from: `/${slot.path}/src`, to: `/${slot.path}/dst` }),
        }),
      );
      return;
    case "rmrf":
      slot.acked = await ok(
        api.fetch(`${api.route(share, "files", slot.path)}?recursive=true`, { method: "DELETE" }),
      );
      return;
  }
}

/** A directory's files (relative names → hash), or undefined if it does not exist. */
async function dirFiles(
  api: Edgefs,
  share: string,
  dir: string,
): Promise<Map<string, string> | undefined> {
  const { status, body } = await api.json<{ entries: FileEntry[] }>(
    `${api.route(share, "list", dir)}?recursive=true`,
  );
  if (status === 404) return undefined;
  expect(status, dir).toBe(200);
  const out = new Map<string, string>();
  for (const e of body.entries.filter((x) => x.type === "file")) {
    const got = await api.download(share, `${dir}/${e.path}`);
    expect(got.status, `${dir}/${e.path}`).toBe(200);
    out.set(e.path, got.sha256);
  }
  return out;
}

/** After the restart: the slot is wholly before or wholly after; after, if acknowledged. */
async function expectOldOrNew(api: Edgefs, share: string, slot: Slot): Promise<"old" | "new"> {
  const what = `${slot.kind} ${slot.path}${slot.acked ? " (acknowledged)" : ""}`;
  if (slot.kind === "put" || slot.kind === "multipart") {
    const got = await api.download(share, slot.path);
    expect(got.status, what).toBe(200);
    const state = got.sha256 === sha256(slot.newData) ? "new" : "old";
    if (state === "old") expect(got.sha256, `${what}: neither version`).toBe(sha256(slot.oldData));
    if (slot.acked) expect(state, what).toBe("new");
    return state;
  }
  const whole = new Map([...slot.files].map(([name, data]) => [name, sha256(data)]));
  if (slot.kind === "move") {
    const src = await dirFiles(api, share, `${slot.path}/src`);
    const dst = await dirFiles(api, share, `${slot.path}/dst`);
    const state = dst === undefined ? "old" : "new";
    expect(state === "old" ? src : dst, `${what}: not whole`).toEqual(whole);
    expect(state === "old" ? dst : src, `${what}: on both sides`).toBeUndefined();
    if (slot.acked) expect(state, what).toBe("new");
    return state;
  }
  const dir = await dirFiles(api, share, slot.path);
  const state = dir === undefined ? "new" : "old";
  if (dir !== undefined) expect(dir, `${what}: partly deleted`).toEqual(whole);
  if (slot.acked) expect(state, what).toBe("new");
  return state;
}

describe(`kill -9 during ${OPS} uploads, commits, moves and recursive deletes, ${CRASHES}×`, () => {
  it(
    "after each restart every change is wholly old or wholly new, and GC reclaims the orphans",
    async () => {
      server = await startServer({ dataDir, token, vars: VARS });
      let api = new Edgefs(server.url, token);
      const share = "crash";
      const { id: shareId } = await api.createShare(share);
      const tally = { old: 0, new: 0, acked: 0, inFlightAtKill: 0, cut: 0 };

      for (let round = 0; round < CRASHES; round++) {
        const slots = await pool(
          Array.from({ length: OPS }, (_, i) => i),
          4,
          (i) => prepare(api, share, round, i),
        );
        // All changes at once; the kill lands somewhere in the middle of them.
        // The kill follows the first acknowledgement closely, so that most changes
        // (the big uploads above all) are still in flight when it lands.
        let firstAck: () => void = () => undefined;
        const acked = new Promise<void>((r) => {
          firstAck = r;
        });
        const running = Promise.allSettled(
          slots.map((s) => change(api, share, s).finally(() => s.acked && firstAck())),
        );
        await Promise.race([acked, sleep(5000)]);
        await sleep((round * 37) % 60);
        const inFlight = slots.filter((s) => s.pending > 0).length;
        await server.kill();
        await running;
        // The kill must land mid-operation, or this round proved nothing about
        // crashes: changes were in flight when it came, and some never got an answer.
        const cut = slots.filter((s) => s.cut).length;
        expect(inFlight, `round ${round}: no change in flight at the kill`).toBeGreaterThan(0);
        expect(cut, `round ${round}: the kill cut no request`).toBeGreaterThan(0);
        tally.inFlightAtKill += inFlight;
        tally.cut += cut;

        server = await startServer({ dataDir, token, vars: VARS });
        api = new Edgefs(server.url, token);
        for (const s of slots) {
          tally[await expectOldOrNew(api, share, s)]++;
          if (s.acked) tally.acked++;
        }

        // The listing and stat agree on every entry.
        const entries = await api.listAll(share);
        for (const e of entries) {
          const { status, body } = await api.stat(share, e.path);
          expect(status, e.path).toBe(200);
          expect(body, e.path).toMatchObject({ type: e.type, size: e.size, mtime: e.mtime });
          expect(body.etag, e.path).toBe(e.etag);
        }

        // Orphans (blobs written before the crash, never committed; superseded and
        // deleted blobs whose GC the crash interrupted) are reclaimed: R2 ends up
        // holding exactly the blobs of the files over the inline limit.
        const large = entries.filter((e) => e.type === "file" && e.size > INLINE_MAX).length;
        await sleep((TTL_SECONDS + 2) * 1000);
        expect(await api.waitForR2Count(shareId, large, 90_000)).toBe(large);
        // And no multipart upload the crash interrupted is left open in R2.
        expect(await api.waitForNoUnfinishedUploads(shareId, 90_000)).toBe(0);
      }
      // For the record (and the README): how the crashes fell.
      console.log(`crash outcomes: ${JSON.stringify(tally)}`);
    },
    TIMEOUT,
  );
});
