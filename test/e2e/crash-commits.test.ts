// kill -9 of the whole server (wrangler and workerd) while a client streams
// batch commits (docs/api.md "Batch commits": all or nothing, one version),
// then a restart on the same data directory. Each batch writes 51 marked
// files (one over the inline limit, so it goes to R2 before the commit), puts
// one staged upload, deletes a file and moves another. After the restart,
// every batch is wholly there or wholly absent — never part — an answered one
// is there, one never sent is absent, and one the crash cut that did not land
// can still be committed with its staged upload. Then GC reclaims what the
// cut batches left in R2: it holds exactly the blobs of the large files.
// Kept under ~40 s so that it runs in `npm test`, like stress-crash.test.ts.
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
  pool,
  prngBytes,
  sha256,
  sleep,
} from "./helpers.js";
import { E2E_VARS } from "./server-vars.js";

const STREAMS = 2;
const BATCHES_PER_STREAM = 8;
const BATCHES = STREAMS * BATCHES_PER_STREAM;
const SMALL_FILES = 50;
/** Blobs a crash orphaned (written to R2 before a commit that never came) go after this. */
const PENDING_TTL_SECONDS = 4;
const VARS = { ...E2E_VARS, EDGEFS_PENDING_TTL_SECONDS: String(PENDING_TTL_SECONDS) };

const dataDir = mkdtempSync(join(tmpdir(), "edgefs-crash-commit-"));
const token = `crash-${Math.random().toString(36).slice(2)}`;
let server: Awaited<ReturnType<typeof startServer>> | undefined;

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Batch {
  b: number;
  /** Every file the batch puts, by path (the staged upload's included). */
  files: Map<string, Uint8Array>;
  staged: Uint8Array;
  uploadId: string;
  deleted: string;
  moveFrom: string;
  moveTo: string;
  moved: Uint8Array;
  sent: boolean;
  /** The commit's answer, if one came. */
  status?: number;
  /** The request got no HTTP answer: the kill cut it. */
  cut: boolean;
}

const base64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

function opsOf(batch: Batch) {
  return [
    ...[...batch.files]
      .filter(([path]) => !path.endsWith("/staged.bin"))
      .map(([path, data]) => ({ op: "put", path, content: base64(data) })),
    { op: "put", path: `/b${batch.b}/staged.bin`, uploadId: batch.uploadId },
    { op: "delete", path: batch.deleted },
    { op: "move", from: batch.moveFrom, to: batch.moveTo },
  ];
}

async function commit(api: Edgefs, batch: Batch): Promise<number> {
  const res = await api.fetch(`/v1/shares/crash/commit`, {
    method: "POST",
    body: JSON.stringify({ ops: opsOf(batch) }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`batch ${batch.b}: ${res.status} ${text}`);
  return res.status;
}

/** The batch's effects after the restart: "all", "none", or a description of the part seen. */
async function stateOf(api: Edgefs, batch: Batch): Promise<"all" | "none"> {
  const seen: string[] = [];
  let present = 0;
  let absent = 0;
  const note = (there: boolean, what: string) => {
    if (there) present++;
    else absent++;
    seen.push(`${what}: ${there ? "applied" : "not applied"}`);
  };
  const got = await pool([...batch.files], 16, async ([path, data]) => {
    const res = await api.download("crash", path);
    if (res.status === 200) {
      expect(res.sha256, `batch ${batch.b} ${path}: bytes of no write`).toBe(sha256(data));
    } else expect(res.status, path).toBe(404);
    return { path, there: res.status === 200 };
  });
  for (const { path, there } of got) note(there, path);
  const del = await api.download("crash", batch.deleted);
  note(del.status === 404, `delete ${batch.deleted}`);
  const from = await api.download("crash", batch.moveFrom);
  const to = await api.download("crash", batch.moveTo);
  for (const side of [from, to]) {
    if (side.status === 200) expect(side.sha256).toBe(sha256(batch.moved));
  }
  expect(from.status === 200, `batch ${batch.b}: the move's source and target`).not.toBe(
    to.status === 200,
  );
  note(to.status === 200, `move ${batch.moveFrom} -> ${batch.moveTo}`);
  // Nothing else appeared under the batch's directory.
  const listing = await api.json<{ entries: FileEntry[] }>(
    `${api.route("crash", "list", `/b${batch.b}`)}?recursive=true`,
  );
  if (listing.status === 200) {
    const expected = [...batch.files.keys(), batch.moveTo].map((p) =>
      p.slice(`/b${batch.b}/`.length),
    );
    const files = listing.body.entries.filter((e) => e.type === "file").map((e) => e.path);
    expect(files.sort(), `batch ${batch.b}: its directory`).toEqual(expected.sort());
  } else expect(listing.status).toBe(404);
  expect(
    present === 0 || absent === 0,
    `batch ${batch.b} is partly applied:\n${seen.join("\n")}`,
  ).toBe(true);
  return present === 0 ? "none" : "all";
}

describe(`kill -9 during a stream of ${BATCHES} batch commits`, () => {
  it("after the restart every batch is wholly applied or not at all; unapplied ones still commit", async () => {
    const t0 = Date.now();
    const phases: Record<string, number> = {};
    const phase = (name: string) => {
      phases[name] = Date.now() - t0;
    };
    server = await startServer({ dataDir, token, vars: VARS });
    phase("started");
    let api = new Edgefs(server.url, token);
    const { id: shareId } = await api.createShare("crash");

    // Each batch's older state: the file it deletes and the file it moves, all in one commit.
    const batches: Batch[] = Array.from({ length: BATCHES }, (_, b) => {
      const files = new Map<string, Uint8Array>();
      for (let i = 0; i < SMALL_FILES; i++) {
        const marker = new TextEncoder().encode(`batch ${b} file ${i}\n`);
        const data = new Uint8Array(marker.byteLength + 200 + i);
        data.set(marker);
        data.set(prngBytes(b * 1000 + i, 200 + i), marker.byteLength);
        files.set(`/b${b}/f${i}.txt`, data);
      }
      files.set(`/b${b}/large.bin`, prngBytes(b * 1000 + 999, INLINE_MAX + 1 + b));
      const staged = prngBytes(b * 1000 + 998, 96 * KiB + b);
      files.set(`/b${b}/staged.bin`, staged);
      return {
        b,
        files,
        staged,
        uploadId: "",
        deleted: `/pre/${b}/doomed.txt`,
        moveFrom: `/pre/${b}/src.txt`,
        moveTo: `/b${b}/moved.txt`,
        moved: prngBytes(b * 1000 + 997, 300 + b),
        sent: false,
        cut: false,
      };
    });
    const seed = await api.json(`/v1/shares/crash/commit`, {
      method: "POST",
      body: JSON.stringify({
        ops: batches.flatMap((x) => [
          {
            op: "put",
            path: x.deleted,
            content: base64(new TextEncoder().encode(`doomed ${x.b}`)),
          },
          { op: "put", path: x.moveFrom, content: base64(x.moved) },
        ]),
      }),
    });
    expect(seed.status, JSON.stringify(seed.body)).toBe(200);
    // Each batch's staged upload: one part, completed, not committed.
    await pool(batches, 4, async (x) => {
      const created = await api.json<{ uploadId: string }>(`/v1/shares/crash/uploads`, {
        method: "POST",
        body: JSON.stringify({ path: `/b${x.b}/staged.bin`, stage: true }),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      x.uploadId = created.body.uploadId;
      const part = await api.fetch(`/v1/shares/crash/uploads/${x.uploadId}/parts/1`, {
        method: "PUT",
        body: x.staged as Uint8Array<ArrayBuffer>,
      });
      expect(part.status, await part.text()).toBe(200);
      const done = await api.json<{ staged?: boolean }>(
        `/v1/shares/crash/uploads/${x.uploadId}/complete`,
        { method: "POST" },
      );
      expect(done.body.staged).toBe(true);
    });

    phase("prepared");
    // The stream: each of STREAMS clients commits its batches one after another,
    // and stops sending once the kill has come. The kill follows the third answer.
    let killed = false;
    let answers = 0;
    let third: () => void = () => undefined;
    const thirdAnswer = new Promise<void>((r) => {
      third = r;
    });
    const stream = async (s: number) => {
      for (let k = 0; k < BATCHES_PER_STREAM && !killed; k++) {
        const batch = batches[s + k * STREAMS] as Batch;
        batch.sent = true;
        try {
          batch.status = await commit(api, batch);
          if (++answers === 3) third();
        } catch (e) {
          if (!(e instanceof Error && e.message.startsWith(`batch ${batch.b}:`))) batch.cut = true;
          else throw e;
        }
      }
    };
    const running = Promise.allSettled(Array.from({ length: STREAMS }, (_, s) => stream(s)));
    await Promise.race([thirdAnswer, sleep(20_000)]);
    killed = true;
    await server.kill();
    const outcomes = await running;
    expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
    const cut = batches.filter((x) => x.cut);
    const acked = batches.filter((x) => x.status === 200);
    // The kill must land mid-run, or this proved nothing about crashes.
    expect(acked.length, "no batch was answered before the kill").toBeGreaterThan(0);
    expect(cut.length, "the kill cut no commit").toBeGreaterThan(0);

    phase("killed");
    server = await startServer({ dataDir, token, vars: VARS });
    api = new Edgefs(server.url, token);
    phase("restarted");
    const tally = { all: 0, none: 0, acked: acked.length, cut: cut.length, unsent: 0 };
    const none: Batch[] = [];
    for (const x of batches) {
      const state = await stateOf(api, x);
      tally[state]++;
      if (x.status === 200) expect(state, `batch ${x.b} was answered 200`).toBe("all");
      if (!x.sent) {
        tally.unsent++;
        expect(state, `batch ${x.b} was never sent`).toBe("none");
      }
      if (state === "none") none.push(x);
    }
    expect(none.length, "every batch landed: the kill came too late").toBeGreaterThan(0);

    phase("checked");
    // What did not land commits now, staged upload and all: the crash left it staged.
    for (const x of none) {
      expect(await commit(api, x)).toBe(200);
      expect(await stateOf(api, x), `batch ${x.b} committed after the restart`).toBe("all");
    }

    phase("recommitted");
    // Blobs the cut commits had written to R2 (their large.bin) are reclaimed:
    // R2 ends up holding exactly the large files of the share.
    const large = (await api.listAll("crash")).filter(
      (e) => e.type === "file" && e.size > INLINE_MAX,
    ).length;
    expect(large).toBe(2 * BATCHES);
    await sleep((PENDING_TTL_SECONDS + 1) * 1000);
    expect(await api.waitForR2Count(shareId, large, 20_000)).toBe(large);
    phase("reclaimed");
    // For the record: how the crash fell, and where the time went (ms since the start).
    console.log(`crash-commits: ${JSON.stringify(tally)} ${JSON.stringify(phases)}`);
  }, 120_000);
});
