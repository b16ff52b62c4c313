#!/usr/bin/env node
// edgefs benchmark: `npm run bench` (BENCH_QUICK=1 for a scaled-down check).
//
// Starts one throwaway `wrangler dev` with the bare /_dev/bare routes enabled
// and measures, against it, in one run:
//   (a) a large file (256 MiB) up and down through edgefs vs the bare R2 route;
//   (b) 5,000 small (4 KiB) files created by 16 concurrent clients, then read
//       back, through edgefs (inline in the share's SQLite) vs the bare route;
//   (c) listing a 10,000-entry directory, and stat in a 100,000-file share vs
//       a 100-file share.
// Small-file rates are also set against a no-op request (GET /healthz), the
// most this server and machine can answer at all. The server is built from a
// snapshot of the working tree (see snapshot.mjs), so edits made during a run
// do not restart it. Every number is compared with a baseline measured in the
// same run; targets are reported (met / not met), never asserted. Results go to stdout as a
// markdown table and to bench/results/latest.json. Progress goes to stderr.
import { randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeRandomFile } from "./files.mjs";
import { withServer } from "./harness.mjs";
import { Client } from "./http.mjs";
import {
  loadAverage,
  machine,
  machineLine,
  markdownTable,
  problemOf,
  row,
  writeJson,
} from "./report.mjs";
import { gitState } from "./snapshot.mjs";
import { int, median, percentile, pool, progress, rotate, seconds } from "./stats.mjs";

/** @typedef {import("./report.mjs").Row} Row */
/** @typedef {import("./report.mjs").Problem} Problem */

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const QUICK = process.env.BENCH_QUICK === "1";
/** BENCH_SECTIONS=large (comma-separated: large, small, tree) runs only those. */
const SECTIONS = process.env.BENCH_SECTIONS?.split(",").map((s) => s.trim());
const MiB = 1024 * 1024;

const config = QUICK
  ? {
      largeMiB: 32,
      largeRounds: 3,
      downloadRounds: 5,
      smallFiles: 500,
      smallBytes: 4096,
      smallClients: 16,
      smallRounds: 3,
      listDirEntries: 1_000,
      bigShareDirs: 10, // big share = dirs × listDirEntries files
      smallShareFiles: 100,
      populateClients: 32,
      stats: 200,
      listRuns: 3,
    }
  : {
      largeMiB: 256,
      largeRounds: 3,
      downloadRounds: 5, // downloads are fast: more rounds, steadier median
      smallFiles: 5_000,
      smallBytes: 4096,
      smallClients: 16,
      smallRounds: 3,
      listDirEntries: 10_000,
      bigShareDirs: 10,
      smallShareFiles: 100,
      populateClients: 32,
      stats: 500,
      listRuns: 5,
    };

/** @param {number} i */
const name = (i) => `f${String(i).padStart(6, "0")}`;
/** @param {string} s */
const log = (s) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- (a) large

/**
 * Writes `mib` MiB of random bytes to a temp file; returns it with its SHA-256.
 * @param {string} dir
 * @param {number} mib
 */
function makeLargeFile(dir, mib) {
  const file = join(dir, "large.bin");
  const sha256 = writeRandomFile(file, mib * MiB);
  return { file, size: mib * MiB, sha256 };
}

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @returns {Promise<Row[]>}
 */
async function benchLarge(client, problems) {
  const { largeMiB, largeRounds, downloadRounds } = config;
  log(
    `\n(a) ${largeMiB} MiB file, ${largeRounds} upload and ${downloadRounds} download rounds, edgefs and bare interleaved`,
  );
  const dir = mkdtempSync(join(tmpdir(), "edgefs-bench-"));
  try {
    const { file, size, sha256 } = makeLargeFile(dir, largeMiB);
    await client.createShare("large");
    /** @param {number} r */
    const edgefsPath = (r) => client.fileUrl("large", `big/${r}.bin`);
    /** @param {number} r */
    const barePath = (r) => client.bareUrl(`large/big/${r}.bin`);
    /** @type {{ edgefs: number[], bare: number[] }} */
    const up = { edgefs: [], bare: [] };
    /** @type {{ edgefs: number[], bare: number[] }} */
    const down = { edgefs: [], bare: [] };
    /** Time to response headers: the fixed cost of a read, before any byte moves. */
    /** @type {{ edgefs: number[], bare: number[] }} */
    const firstByteMs = { edgefs: [], bare: [] };
    /** @param {number} ms */
    const rate = (ms) => size / MiB / (ms / 1000);

    for (let r = 0; r < largeRounds; r++) {
      for (const target of rotate(/** @type {const} */ (["edgefs", "bare"]), r)) {
        const path = target === "edgefs" ? edgefsPath(r) : barePath(r);
        const t0 = performance.now();
        const text = await client.putFile(path, file, size, [201]);
        const ms = performance.now() - t0;
        up[target].push(rate(ms));
        log(`  upload   ${target.padEnd(6)} round ${r + 1}: ${rate(ms).toFixed(1)} MiB/s`);
        if (target === "edgefs") {
          const entry = JSON.parse(text);
          if (entry.size !== size) {
            problems.push({
              section: "large",
              message: `PUT ${path} answered size ${entry.size}, expected ${size}`,
              request: `PUT ${path}`,
              body: text.slice(0, 400),
            });
          }
        }
      }
    }
    // Integrity, untimed (hashing costs CPU); also warms both read paths.
    for (const path of [edgefsPath(0), barePath(0)]) {
      const got = await client.getStream(path, true);
      if (got.sha256 !== sha256) {
        problems.push({
          section: "large",
          message: `GET ${path}: SHA-256 ${got.sha256} differs from the uploaded ${sha256}`,
          request: `GET ${path}`,
        });
      }
    }
    for (let r = 0; r < downloadRounds; r++) {
      for (const target of rotate(/** @type {const} */ (["edgefs", "bare"]), r)) {
        const path = target === "edgefs" ? edgefsPath(r % largeRounds) : barePath(r % largeRounds);
        const t0 = performance.now();
        const got = await client.getStream(path);
        const ms = performance.now() - t0;
        down[target].push(rate(ms));
        firstByteMs[target].push(got.headersAt - t0);
        log(
          `  download ${target.padEnd(6)} round ${r + 1}: ${rate(ms).toFixed(1)} MiB/s (headers after ${(got.headersAt - t0).toFixed(1)} ms)`,
        );
        if (got.bytes !== size || got.contentLength !== size) {
          problems.push({
            section: "large",
            message: `GET ${path} returned ${got.bytes} bytes (Content-Length ${got.contentLength}), expected ${size}`,
            request: `GET ${path}`,
          });
        }
      }
    }
    const what = `${largeMiB} MiB file`;
    return [
      row({
        id: "large.upload",
        what: `${what}: upload (PUT with Content-Length), median of ${largeRounds}`,
        unit: "MiB/s",
        digits: 1,
        edgefs: median(up.edgefs),
        baseline: median(up.bare),
        baselineWhat: "bare R2",
        ratioOf: "edgefs/bare",
        target: { op: ">=", value: 0.95 },
        details: { samplesMiBps: up },
      }),
      row({
        id: "large.download",
        what: `${what}: download (GET), median of ${downloadRounds}`,
        unit: "MiB/s",
        digits: 1,
        edgefs: median(down.edgefs),
        baseline: median(down.bare),
        baselineWhat: "bare R2",
        ratioOf: "edgefs/bare",
        target: { op: ">=", value: 0.95 },
        details: {
          samplesMiBps: down,
          headersAfterMs: firstByteMs,
          medianHeadersAfterMs: {
            edgefs: median(firstByteMs.edgefs),
            bare: median(firstByteMs.bare),
          },
        },
      }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- (b) small

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @returns {Promise<Row[]>}
 */
async function benchSmall(client, problems) {
  const { smallFiles: n, smallBytes, smallClients: clients, smallRounds: rounds } = config;
  const kib = smallBytes / 1024;
  log(`\n(b) ${int(n)} × ${kib} KiB files, ${clients} concurrent clients, ${rounds} rounds`);
  const data = Array.from({ length: n }, () => randomFillSync(new Uint8Array(smallBytes)));
  /** @param {number} i */
  const bytesOf = (i) => /** @type {Uint8Array<ArrayBuffer>} */ (data[i]);
  /** @param {number} r @param {number} i */
  const edgefsPath = (r, i) => client.fileUrl(`small-${r}`, `d/${name(i)}`);
  /** @param {number} r @param {number} i */
  const barePath = (r, i) => client.bareUrl(`small-${r}/d/${name(i)}`);

  // Besides edgefs and bare R2, the same number of GET /healthz (no auth
  // check, no storage): the most requests per second this server and
  // machine can answer at all, which bounds every small-file ratio.
  // A rate, so fewer requests do.
  const noops = Math.min(n, 2000);
  /** @type {Record<"edgefs" | "bare" | "noop", number[]>} */
  const create = { edgefs: [], bare: [], noop: [] };
  for (let r = 0; r < rounds; r++) {
    await client.createShare(`small-${r}`);
    for (const target of rotate(/** @type {const} */ (["edgefs", "bare", "noop"]), r)) {
      const t0 = performance.now();
      if (target === "noop") {
        await pool(noops, clients, async () => {
          await (await client.request("GET", "/healthz", { expect: [200] })).arrayBuffer();
        });
      } else {
        const pathOf = target === "edgefs" ? edgefsPath : barePath;
        await pool(n, clients, (i) => client.putBytes(pathOf(r, i), bytesOf(i), [201]));
      }
      const perSecond = (target === "noop" ? noops : n) / ((performance.now() - t0) / 1000);
      create[target].push(perSecond);
      log(
        `  ${target === "noop" ? "healthz      " : `create ${target.padEnd(6)}`} round ${r + 1}: ${int(perSecond)} req/s`,
      );
    }
  }

  // Read back round 0's files, interleaved, pooling every request's latency.
  /** @type {{ edgefs: number[], bare: number[] }} */
  const latency = { edgefs: [], bare: [] };
  /** @type {{ edgefs: number[], bare: number[] }} */
  const readRate = { edgefs: [], bare: [] };
  let mismatches = 0;
  for (let r = 0; r < rounds; r++) {
    for (const target of rotate(/** @type {const} */ (["edgefs", "bare"]), r)) {
      const key = target;
      const pathOf = target === "edgefs" ? edgefsPath : barePath;
      const t0 = performance.now();
      await pool(n, clients, async (i) => {
        const s = performance.now();
        const got = await client.getBytes(pathOf(0, i));
        latency[key].push(performance.now() - s);
        if (!Buffer.from(got).equals(bytesOf(i))) mismatches++;
      });
      const perSecond = n / ((performance.now() - t0) / 1000);
      readRate[key].push(perSecond);
      log(
        `  read   ${target.padEnd(6)} round ${r + 1}: ${int(perSecond)} files/s, p50 ${percentile(latency[key].slice(-n), 50).toFixed(2)} ms`,
      );
    }
  }
  if (mismatches > 0) {
    problems.push({
      section: "small",
      message: `${mismatches} small-file reads returned bytes that differ from what was written`,
    });
  }
  const what = `${int(n)} × ${kib} KiB files, ${clients} clients`;
  return [
    row({
      id: "small.create",
      what: `${what}: create, median of ${rounds}`,
      unit: "files/s",
      digits: 0,
      edgefs: median(create.edgefs),
      baseline: median(create.bare),
      baselineWhat: "bare R2",
      ratioOf: "edgefs/bare",
      target: { op: ">=", value: 3 },
      details: {
        samplesFilesPerSecond: create,
        bestPossibleRatio: median(create.noop) / median(create.bare),
      },
    }),
    row({
      id: "small.create.ceiling",
      what: `${what}: create vs the no-op ceiling (GET /healthz), median of ${rounds}`,
      unit: "req/s",
      digits: 0,
      edgefs: median(create.edgefs),
      baseline: median(create.noop),
      baselineWhat: "GET /healthz",
      ratioOf: "edgefs/no-op",
      target: null,
    }),
    row({
      id: "small.read.p50",
      what: `${what}: read latency p50 (${int(rounds * n)} reads each)`,
      unit: "ms",
      digits: 2,
      edgefs: percentile(latency.edgefs, 50),
      baseline: percentile(latency.bare, 50),
      baselineWhat: "bare R2",
      ratioOf: "edgefs/bare",
      target: null,
      details: { readFilesPerSecond: readRate },
    }),
    row({
      id: "small.read.p99",
      what: `${what}: read latency p99`,
      unit: "ms",
      digits: 2,
      edgefs: percentile(latency.edgefs, 99),
      baseline: percentile(latency.bare, 99),
      baselineWhat: "bare R2",
      ratioOf: "edgefs/bare",
      target: null,
    }),
  ];
}

// ----------------------------------------------------------------- (c) tree

/**
 * Writes `dirs × perDir` tiny files into a share: d0/f000000 … d{dirs-1}/….
 * @param {Client} client
 * @param {string} share
 * @param {number} dirs
 * @param {number} perDir
 */
async function populate(client, share, dirs, perDir) {
  await client.createShare(share);
  const total = dirs * perDir;
  const body = new TextEncoder().encode("x\n");
  const t0 = performance.now();
  await pool(
    total,
    config.populateClients,
    (i) =>
      client.putBytes(
        client.fileUrl(share, `d${Math.floor(i / perDir)}/${name(i % perDir)}`),
        body,
        [201],
      ),
    progress(`populate ${share}`, total),
  );
  return total / ((performance.now() - t0) / 1000);
}

/**
 * Lists a directory to the end, following cursors; returns the entry count.
 * @param {Client} client
 * @param {string} share
 * @param {string} dir
 * @param {number} expected
 */
async function listAll(client, share, dir, expected) {
  const pageSize = 1000;
  const maxPages = Math.ceil(expected / pageSize) + 5; // bounded even if cursors never end
  let cursor = /** @type {string | undefined} */ (undefined);
  let count = 0;
  let pages = 0;
  do {
    const query = `limit=${pageSize}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page = /** @type {{ entries?: unknown, cursor?: unknown }} */ (
      await client.getJson(`/v1/shares/${share}/list/${dir}?${query}`)
    );
    if (!Array.isArray(page.entries)) throw new Error(`list ${share}/${dir}: no entries array`);
    count += page.entries.length;
    cursor = typeof page.cursor === "string" ? page.cursor : undefined;
    pages++;
  } while (cursor !== undefined && pages < maxPages);
  if (cursor !== undefined)
    throw new Error(`list ${share}/${dir}: still a cursor after ${pages} pages`);
  return { count, pages };
}

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @returns {Promise<Row[]>}
 */
async function benchTree(client, problems) {
  const { listDirEntries: perDir, bigShareDirs, smallShareFiles, stats, listRuns } = config;
  const bigTotal = bigShareDirs * perDir;
  log(
    `\n(c) tree: populating shares of ${int(smallShareFiles)}, ${int(perDir)} and ${int(bigTotal)} files (${config.populateClients} clients)`,
  );
  await populate(client, "tree-small", 1, smallShareFiles);
  await populate(client, "tree-dir", 1, perDir);
  const populateRate = await populate(client, "tree-big", bigShareDirs, perDir);

  // Listing: the same-size directory alone in its share vs inside the big share.
  const listDir = `d${Math.floor(bigShareDirs / 2)}`;
  /** @type {{ big: number[], alone: number[] }} */
  const listMs = { big: [], alone: [] };
  let pages = 0;
  for (let r = 0; r < listRuns; r++) {
    for (const which of rotate(/** @type {const} */ (["big", "alone"]), r)) {
      const [share, dir] = which === "big" ? ["tree-big", listDir] : ["tree-dir", "d0"];
      const t0 = performance.now();
      const got = await listAll(client, share, dir, perDir);
      const ms = performance.now() - t0;
      listMs[which].push(ms);
      pages = got.pages;
      if (got.count !== perDir) {
        problems.push({
          section: "tree",
          message: `listing ${share}/${dir} to the end gave ${got.count} entries, expected ${perDir}`,
          request: `GET /v1/shares/${share}/list/${dir}?limit=1000 (+cursors)`,
        });
      }
    }
    log(
      `  list round ${r + 1}: big ${listMs.big.at(-1)?.toFixed(0)} ms, alone ${listMs.alone.at(-1)?.toFixed(0)} ms`,
    );
  }

  // Stat one file, sequentially, alternating blocks of 50 between the shares.
  const smallPath = `/v1/shares/tree-small/stat/d0/${name(Math.floor(smallShareFiles / 2))}`;
  const bigPath = `/v1/shares/tree-big/stat/${listDir}/${name(Math.floor(perDir / 2))}`;
  for (let i = 0; i < 20; i++) {
    await client.getJson(smallPath);
    await client.getJson(bigPath);
  }
  /** @type {{ big: number[], small: number[] }} */
  const statMs = { big: [], small: [] };
  const block = 50;
  for (let done = 0, b = 0; done < stats; done += block, b++) {
    const count = Math.min(block, stats - done);
    for (const which of rotate(/** @type {const} */ (["small", "big"]), b)) {
      const path = which === "big" ? bigPath : smallPath;
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        await client.getJson(path);
        statMs[which].push(performance.now() - t0);
      }
    }
  }
  log(
    `  stat p50: big ${median(statMs.big).toFixed(3)} ms, small ${median(statMs.small).toFixed(3)} ms`,
  );

  return [
    row({
      id: "tree.list",
      what: `list a ${int(perDir)}-entry dir to the end (${pages} page${pages === 1 ? "" : "s"} of 1,000) in a ${int(bigTotal)}-file share, median of ${listRuns}`,
      unit: "ms",
      digits: 0,
      edgefs: median(listMs.big),
      baseline: median(listMs.alone),
      baselineWhat: "same dir alone in its share",
      ratioOf: "big/alone",
      target: { op: "<=", value: 1.2, informational: true },
      details: { samplesMs: listMs, entriesPerSecond: perDir / (median(listMs.big) / 1000) },
    }),
    row({
      id: "tree.stat.p50",
      what: `stat one file, ${int(bigTotal)}-file share vs ${int(smallShareFiles)}-file share: p50 of ${int(stats)}`,
      unit: "ms",
      digits: 3,
      edgefs: median(statMs.big),
      baseline: median(statMs.small),
      baselineWhat: `${int(smallShareFiles)}-file share`,
      ratioOf: "big/small",
      target: { op: "<=", value: 1.2 },
    }),
    row({
      id: "tree.stat.p99",
      what: `stat one file, ${int(bigTotal)}-file share vs ${int(smallShareFiles)}-file share: p99 of ${int(stats)}`,
      unit: "ms",
      digits: 3,
      edgefs: percentile(statMs.big, 99),
      baseline: percentile(statMs.small, 99),
      baselineWhat: `${int(smallShareFiles)}-file share`,
      ratioOf: "big/small",
      target: null,
    }),
    row({
      id: "tree.populate",
      what: `populate the ${int(bigTotal)}-file share: tiny PUTs, ${config.populateClients} clients`,
      unit: "files/s",
      digits: 0,
      edgefs: populateRate,
      baseline: null,
      baselineWhat: null,
      ratioOf: null,
      target: null,
    }),
  ];
}

// ----------------------------------------------------------------- main

/**
 * One line per missed target, with the context this run measured for it.
 * @param {Row[]} rows
 */
function notesOn(rows) {
  /** @type {string[]} */
  const notes = [];
  for (const r of rows) {
    if (r.met !== false) continue;
    let line = `missed: ${r.id} ratio ${r.ratio?.toFixed(2)} (${r.ratioOf}), target ${r.target?.op} ${r.target?.value}`;
    const best = r.details?.bestPossibleRatio;
    if (r.id === "small.create" && typeof best === "number") {
      line +=
        `; on this server a no-op GET /healthz manages only ${best.toFixed(2)}× the bare put rate, ` +
        "so per-request overhead of wrangler dev, not storage, bounds the ratio here";
    }
    const headers = /** @type {{ edgefs: number, bare: number } | undefined} */ (
      r.details?.medianHeadersAfterMs
    );
    if (r.id === "large.download" && headers) {
      line +=
        `; median time to response headers: edgefs ${headers.edgefs.toFixed(1)} ms, bare ${headers.bare.toFixed(1)} ms ` +
        "(edgefs first asks the ShareDO where the blob is): a fixed cost that weighs more the smaller the file";
    }
    notes.push(line);
  }
  return notes;
}

async function main() {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const m = machine(root);
  const git = gitState(root);
  const loadAtStart = loadAverage();
  console.log(`# edgefs benchmark${QUICK ? " (BENCH_QUICK=1: scaled down)" : ""}\n`);
  console.log(`machine: ${machineLine(m)}`);
  console.log(`code:    ${git.commit.slice(0, 12)}${git.dirty ? " + uncommitted changes" : ""}\n`);

  /** @type {Row[]} */
  const rows = [];
  /** @type {Problem[]} */
  const problems = [];
  /** @type {string[]} */
  const failedSections = [];

  await withServer(root, { EDGEFS_DEV_ROUTES: "1" }, async (client) => {
    /** @type {[string, (c: Client, p: Problem[]) => Promise<Row[]>][]} */
    const sections = [
      ["large", benchLarge],
      ["small", benchSmall],
      ["tree", benchTree],
    ];
    for (const [section, run] of sections) {
      if (SECTIONS && !SECTIONS.includes(section)) continue;
      const t0 = performance.now();
      try {
        rows.push(...(await run(client, problems)));
      } catch (e) {
        failedSections.push(section);
        problems.push(problemOf(section, e));
        log(`section ${section} failed: ${e instanceof Error ? e.message : e}`);
      }
      log(`section ${section}: ${seconds(performance.now() - t0)}`);
    }
  });

  const runtimeSeconds = Math.round((performance.now() - started) / 100) / 10;
  console.log(markdownTable(rows));
  console.log(
    "\nRatios compare edgefs with a baseline measured in the same run against the same server." +
      ' "(info)" targets are not part of the brief: DESIGN.md says listing cost grows with what is listed, not with the share.',
  );
  const notes = notesOn(rows);
  if (notes.length > 0) console.log(`\n${notes.map((n) => `- ${n}`).join("\n")}`);
  const loadAtEnd = loadAverage();
  console.log(`\nruntime: ${runtimeSeconds} s`);
  console.log(
    `load average (1 min) at start ${loadAtStart}, at end ${loadAtEnd} on ${m.cores} cores: ` +
      "other processes on the machine compete with the server and the client.",
  );
  if (problems.length > 0) {
    console.log(`\nproblems (${problems.length}):`);
    for (const p of problems) console.log(`- [${p.section}] ${p.message}`);
  }
  const file = join(here, "results", "latest.json");
  writeJson(file, {
    startedAt,
    runtimeSeconds,
    quick: QUICK,
    machine: m,
    git,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    config,
    results: rows,
    notes,
    problems,
  });
  log(`\nwrote ${file}`);
  if (failedSections.length > 0) process.exitCode = 1;
}

await main();
