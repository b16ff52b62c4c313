#!/usr/bin/env node
// edgefs volume benchmark (issue 17): `npm run bench:volumes`
// (BENCH_FILES=N for the big share, default 1,000,000; BENCH_QUICK=1 scales down).
//
// Starts one throwaway `wrangler dev` (dev routes on, versions kept for an
// hour) from a snapshot of the working tree and measures, in one run:
//   (1) 1,000 × 4 KiB files in ONE batch commit (POST …/commit) vs the same
//       files as 1,000 single PUTs from 16 concurrent clients: files/s;
//   (2) the same files as ONE tar upload (made by `tar -c` from a temp dir)
//       vs the same single PUTs: files/s;
//   (3) creating a snapshot in a share of BENCH_FILES files (seeded through
//       POST /_dev/seed) vs in a 100-file share: median time;
//   (4) stat and one list page (limit 1,000) at an old version vs at the
//       latest, in the big share after many of the listed files were
//       overwritten and deleted: median time.
// Every ratio is against a baseline measured in the same run; targets are
// reported (met / not met), never asserted. Results go to stdout as a
// markdown table and to bench/results/volumes-latest.json. Progress goes to stderr.
import { execFileSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { log, runBench } from "./harness.mjs";
import { row } from "./report.mjs";
import { int, median, pool, rotate } from "./stats.mjs";

/** @typedef {import("./report.mjs").Row} Row */
/** @typedef {import("./report.mjs").Problem} Problem */
/** @typedef {import("./http.mjs").Client} Client */

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const QUICK = process.env.BENCH_QUICK === "1";
const SEED_MAX = 100_000; // files per seeding call (src/durable/tree-seed.ts)

const bigFiles = Number(process.env.BENCH_FILES ?? (QUICK ? 100_000 : 1_000_000));
if (!Number.isSafeInteger(bigFiles) || bigFiles < SEED_MAX || bigFiles % SEED_MAX !== 0) {
  throw new Error(`BENCH_FILES must be a multiple of ${SEED_MAX}, got ${process.env.BENCH_FILES}`);
}
const config = {
  files: 1_000,
  fileBytes: 4096,
  clients: 16,
  rounds: QUICK ? 1 : 3,
  bigFiles,
  smallFiles: 100,
  snapshots: QUICK ? 3 : 9,
  /** In the big share's first directory: overwritten twice, then deleted, after the old version. */
  overwritten: 2_000,
  deleted: 1_000,
  reads: QUICK ? 50 : 300,
  pageLimit: 1_000,
  listRuns: QUICK ? 5 : 21,
  retentionSeconds: "3600",
};

/** @param {number} i */
const name = (i) => `f${String(i).padStart(6, "0")}`;
/** @param {number} i the seeded names: prefix f, index padded to 8 (tree-seed.ts) */
const seeded = (i) => `f${String(i).padStart(8, "0")}`;

/** @param {Client} client @param {string} path @param {unknown} json */
async function postJson(client, path, json) {
  const res = await client.request("POST", path, {
    body: new TextEncoder().encode(JSON.stringify(json)),
    headers: { "content-type": "application/json" },
    expect: [200, 201],
  });
  return /** @type {Record<string, unknown>} */ (await res.json());
}

/** @param {Client} client @param {string} share */
async function versionOf(client, share) {
  const info = /** @type {{ version: number }} */ (await client.getJson(`/v1/shares/${share}`));
  return info.version;
}

/** @param {Client} client @param {string} share @param {string} dir @param {number} count */
async function seed(client, share, dir, count) {
  const q = `dir=${encodeURIComponent(dir)}&count=${count}&prefix=f&content=abc`;
  await (await client.request("POST", `/_dev/seed/${share}?${q}`, { expect: [200] })).arrayBuffer();
}

// ------------------------------------------------------ (1), (2) batch and tar

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @returns {Promise<Row[]>}
 */
async function benchWrites(client, problems) {
  const { files: n, fileBytes, clients, rounds } = config;
  const kib = fileBytes / 1024;
  log(`\n(1, 2) ${int(n)} × ${kib} KiB files: one batch commit, one tar, ${clients} clients' PUTs`);
  const data = Array.from({ length: n }, () => randomFillSync(new Uint8Array(fileBytes)));
  /** @param {number} i */
  const bytesOf = (i) => /** @type {Uint8Array<ArrayBuffer>} */ (data[i]);
  const tmp = mkdtempSync(join(tmpdir(), "edgefs-bench-tar-"));
  /** @type {Buffer} */
  let tar;
  try {
    mkdirSync(join(tmp, "src"));
    for (let i = 0; i < n; i++) writeFileSync(join(tmp, "src", name(i)), bytesOf(i));
    execFileSync("tar", ["-c", "-f", join(tmp, "files.tar"), "-C", join(tmp, "src"), "."]);
    tar = readFileSync(join(tmp, "files.tar"));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const share = "writes";
  await client.createShare(share);
  const api = `/v1/shares/${share}`;

  /** @type {Record<"single" | "batch" | "tar", number[]>} */
  const rate = { single: [], batch: [], tar: [] };
  /** Bytes on the wire for one batch (JSON with base64) and one tar. */
  let batchBody = 0;
  for (let r = 0; r < rounds; r++) {
    for (const how of rotate(/** @type {const} */ (["single", "batch", "tar"]), r)) {
      const dir = `${how}-${r}`;
      // The batch's JSON is made before the clock starts, as the tar is.
      const body =
        how === "batch"
          ? new TextEncoder().encode(
              JSON.stringify({
                ops: data.map((bytes, i) => ({
                  op: "put",
                  path: `/${dir}/${name(i)}`,
                  content: Buffer.from(bytes).toString("base64"),
                })),
              }),
            )
          : new Uint8Array(tar);
      const t0 = performance.now();
      if (how === "single") {
        await pool(n, clients, (i) =>
          client.putBytes(`${api}/files/${dir}/${name(i)}`, bytesOf(i), [201]),
        );
      } else {
        // One request either way: a batch answers {count}, a tar upload {files}.
        const [method, url, type, field] =
          how === "batch"
            ? ["POST", `${api}/commit`, "application/json", "count"]
            : ["PUT", `${api}/files/${dir}/`, "application/x-tar", "files"];
        if (how === "batch") batchBody = body.byteLength;
        const res = await client.request(method, url, {
          body,
          headers: { "content-type": type },
          expect: [200],
        });
        const got = /** @type {Record<string, unknown>} */ (await res.json());
        if (got[field] !== n) {
          problems.push({
            section: "writes",
            message: `${how}: the answer's ${field} is ${got[field]}, expected ${n}`,
          });
        }
      }
      const perSecond = n / ((performance.now() - t0) / 1000);
      rate[how].push(perSecond);
      log(`  ${how.padEnd(6)} round ${r + 1}: ${int(perSecond)} files/s`);
    }
  }
  // What was written is what was sent: one file of each kind, every round's listing count.
  for (let r = 0; r < rounds; r++) {
    for (const how of ["single", "batch", "tar"]) {
      const i = (r * 337) % n;
      const got = await client.getBytes(`${api}/files/${how}-${r}/${name(i)}`);
      if (!Buffer.from(got).equals(bytesOf(i))) {
        problems.push({
          section: "writes",
          message: `${how}-${r}/${name(i)} reads back different bytes`,
        });
      }
      const page = /** @type {{ entries: unknown[] }} */ (
        await client.getJson(`${api}/list/${how}-${r}?limit=1000`)
      );
      if (page.entries.length !== n) {
        problems.push({
          section: "writes",
          message: `${how}-${r} lists ${page.entries.length} entries, expected ${n}`,
        });
      }
    }
  }
  const what = `${int(n)} × ${kib} KiB files`;
  const singles = `${int(n)} PUTs, ${clients} clients`;
  return [
    row({
      id: "volumes.batch",
      what: `${what} in one batch commit (${(batchBody / 1024 / 1024).toFixed(1)} MiB JSON), median of ${rounds}`,
      unit: "files/s",
      digits: 0,
      edgefs: median(rate.batch),
      baseline: median(rate.single),
      baselineWhat: singles,
      ratioOf: "batch/PUTs",
      target: { op: ">=", value: 10 },
      details: { samplesFilesPerSecond: rate, batchBodyBytes: batchBody },
    }),
    row({
      id: "volumes.tar",
      what: `${what} in one tar upload (${(tar.byteLength / 1024 / 1024).toFixed(1)} MiB, tar -c), median of ${rounds}`,
      unit: "files/s",
      digits: 0,
      edgefs: median(rate.tar),
      baseline: median(rate.single),
      baselineWhat: singles,
      ratioOf: "tar/PUTs",
      target: { op: ">=", value: 10 },
      details: { tarBytes: tar.byteLength },
    }),
  ];
}

// ------------------------------------------------- (3), (4) snapshots, old versions

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @returns {Promise<Row[]>}
 */
async function benchVersions(client, problems) {
  const { bigFiles: n, smallFiles, snapshots, reads, pageLimit, listRuns } = config;
  const big = "vol-big";
  const small = "vol-small";
  await client.createShare(big);
  await client.createShare(small);
  log(`\n(3) seeding ${int(n)} files in ${big} (${n / SEED_MAX} calls), ${smallFiles} in ${small}`);
  const seed0 = performance.now();
  for (let d = 0; d < n / SEED_MAX; d++) await seed(client, big, `/d${d}`, SEED_MAX);
  const seedMs = performance.now() - seed0;
  await seed(client, small, "/d0", smallFiles);
  const usage = /** @type {{ usage?: { files: number } }} */ (
    await client.getJson(`/v1/shares/${big}`)
  );
  log(`  seeded in ${(seedMs / 1000).toFixed(1)} s; usage ${JSON.stringify(usage.usage)}`);
  if (usage.usage?.files !== n) {
    problems.push({
      section: "versions",
      message: `${big} counts ${usage.usage?.files} files, expected ${n}`,
    });
  }

  // Each snapshot names a new version: one small PUT before it (untimed).
  const one = new TextEncoder().encode("x\n");
  /** @type {Record<"big" | "small", number[]>} */
  const snapMs = { big: [], small: [] };
  for (let r = 0; r < snapshots; r++) {
    for (const which of rotate(/** @type {const} */ (["big", "small"]), r)) {
      const share = which === "big" ? big : small;
      await client.putBytes(`/v1/shares/${share}/files/marks/${r}.txt`, one, [201]);
      const t0 = performance.now();
      const got = await postJson(client, `/v1/shares/${share}/snapshots`, { name: `s${r}` });
      snapMs[which].push(performance.now() - t0);
      if (typeof got.version !== "number") {
        problems.push({
          section: "snapshots",
          message: `snapshot answered ${JSON.stringify(got)}`,
        });
      }
    }
  }
  log(
    `  snapshot median: big ${median(snapMs.big).toFixed(1)} ms, small ${median(snapMs.small).toFixed(1)} ms`,
  );

  // (4) The old version: /d0 as seeded. Then its first `overwritten` files are
  // overwritten twice and the next `deleted` deleted, in batch commits of 1,000 ops.
  const old = await versionOf(client, big);
  log(
    `\n(4) old version ${old}: overwrite ${int(config.overwritten)} files of /d0 twice, delete ${int(config.deleted)}`,
  );
  const content = Buffer.from("changed\n").toString("base64");
  for (let pass = 0; pass < 2; pass++) {
    for (let at = 0; at < config.overwritten; at += 1000) {
      const ops = Array.from({ length: 1000 }, (_, i) => ({
        op: "put",
        path: `/d0/${seeded(at + i)}`,
        content,
      }));
      await postJson(client, `/v1/shares/${big}/commit`, { ops });
    }
  }
  for (let at = config.overwritten; at < config.overwritten + config.deleted; at += 1000) {
    const ops = Array.from({ length: 1000 }, (_, i) => ({
      op: "delete",
      path: `/d0/${seeded(at + i)}`,
    }));
    await postJson(client, `/v1/shares/${big}/commit`, { ops });
  }
  const latest = await versionOf(client, big);
  const target = `d0/${seeded(500)}`; // overwritten twice since the old version
  /** @param {string} path @param {string} query */
  const time = async (path, query) => {
    const t0 = performance.now();
    const res = await client.request("GET", `/v1/shares/${big}/${path}${query}`, { expect: [200] });
    const body = /** @type {{ size?: number, entries?: { path: string, size: number }[] }} */ (
      await res.json()
    );
    return { ms: performance.now() - t0, body };
  };
  /** @type {Record<"statOld" | "statNew" | "listOld" | "listNew", number[]>} */
  const ms = { statOld: [], statNew: [], listOld: [], listNew: [] };
  for (let i = 0; i < reads; i++) {
    for (const at of rotate(/** @type {const} */ (["Old", "New"]), i)) {
      const got = await time(`stat/${target}`, at === "Old" ? `?version=${old}` : "");
      ms[`stat${at}`].push(got.ms);
      const want = at === "Old" ? 3 : 8; // "abc" as seeded, "changed\n" now
      if (got.body.size !== want && i === 0) {
        problems.push({
          section: "versions",
          message: `stat ${target} (${at}) size ${got.body.size}, expected ${want}`,
        });
      }
    }
  }
  for (let i = 0; i < listRuns; i++) {
    for (const at of rotate(/** @type {const} */ (["Old", "New"]), i)) {
      const query = `?limit=${pageLimit}${at === "Old" ? `&version=${old}` : ""}`;
      const got = await time("list/d0", query);
      ms[`list${at}`].push(got.ms);
      // Both start at f00000000: seeded ("abc") at the old version, overwritten ("changed\n") now.
      const first = got.body.entries?.[0];
      const size = at === "Old" ? 3 : 8;
      if (
        i === 0 &&
        (got.body.entries?.length !== pageLimit ||
          first?.path !== seeded(0) ||
          first?.size !== size)
      ) {
        problems.push({
          section: "versions",
          message: `list /d0 (${at}) gave ${got.body.entries?.length} entries starting ${JSON.stringify(first)}, expected ${seeded(0)} of ${size} bytes`,
        });
      }
    }
  }
  log(
    `  stat median: old ${median(ms.statOld).toFixed(2)} ms, latest ${median(ms.statNew).toFixed(2)} ms; ` +
      `list: old ${median(ms.listOld).toFixed(1)} ms, latest ${median(ms.listNew).toFixed(1)} ms`,
  );
  const changed = `${int(config.overwritten)} of the page's dir overwritten twice, ${int(config.deleted)} deleted`;
  return [
    row({
      id: "volumes.snapshot",
      what: `create a snapshot in a ${int(n)}-file share, median of ${snapshots}`,
      unit: "ms",
      digits: 2,
      edgefs: median(snapMs.big),
      baseline: median(snapMs.small),
      baselineWhat: `${smallFiles}-file share`,
      ratioOf: "big/small",
      target: { op: "<=", value: 1.5 },
      details: { samplesMs: snapMs, seedMs },
    }),
    row({
      id: "volumes.stat.old",
      what: `stat a file at an old version (${latest - old} versions back: ${changed}), median of ${reads}`,
      unit: "ms",
      digits: 2,
      edgefs: median(ms.statOld),
      baseline: median(ms.statNew),
      baselineWhat: "at the latest",
      ratioOf: "old/latest",
      target: { op: "<=", value: 1.3 },
      details: { oldVersion: old, latestVersion: latest },
    }),
    row({
      id: "volumes.list.old",
      what: `one list page (limit ${int(pageLimit)}) of a ${int(SEED_MAX)}-entry dir at that old version, median of ${listRuns}`,
      unit: "ms",
      digits: 1,
      edgefs: median(ms.listOld),
      baseline: median(ms.listNew),
      baselineWhat: "at the latest",
      ratioOf: "old/latest",
      target: { op: "<=", value: 1.3 },
      details: { samplesMs: ms },
    }),
  ];
}

await runBench({
  root,
  title: `edgefs volume benchmark: batch commits, tar uploads, snapshots and old versions in a ${int(bigFiles)}-file share${QUICK ? " (BENCH_QUICK=1)" : ""}`,
  vars: { EDGEFS_DEV_ROUTES: "1", EDGEFS_VERSION_RETENTION_SECONDS: config.retentionSeconds },
  resultsFile: join(here, "results", QUICK ? "volumes-quick.json" : "volumes-latest.json"),
  config,
  sections: [
    ["writes", benchWrites],
    ["versions", benchVersions],
  ],
});
