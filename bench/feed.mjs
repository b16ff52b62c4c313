#!/usr/bin/env node
// edgefs change-feed benchmark (issue 19): `npm run bench:feed`
// (BENCH_WATCHERS=N, default 1,000; BENCH_QUICK=1 scales down).
//
// Starts one throwaway `wrangler dev` from a snapshot of the working tree and
// measures, in one run:
//   (a) the delay from a write (the moment its PUT is sent) to its event at
//       every watcher, with BENCH_WATCHERS watchers on one share (half SSE,
//       half WebSocket), against 2 watchers (1 SSE, 1 WebSocket) on another
//       share of the same server: p50 and p99 over every (write, watcher);
//   (b) writer throughput, sequential small PUTs from a few concurrent
//       writers, into the share with those watchers attached (all of them
//       receiving every event) against a share with none: writes/s.
// Every ratio is against a baseline measured in the same run; targets are
// reported (met / not met), never asserted. In (a) the watchers run in this
// process (one clock times a write and its deliveries); in (b) in a child
// process of their own, so the writers' event loop is not also the one that
// receives every event. On a small machine they still share its cores with
// the server: the ratio in (b) is what a local machine shows.
// Results go to stdout as a markdown table and to bench/results/feed-latest.json.
import { fork } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openWatchers } from "./feed-watchers.mjs";
import { log, runBench } from "./harness.mjs";
import { row } from "./report.mjs";
import { int, median, percentile, pool, rotate } from "./stats.mjs";

/** @typedef {import("./report.mjs").Row} Row */
/** @typedef {import("./report.mjs").Problem} Problem */
/** @typedef {import("./http.mjs").Client} Client */

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const QUICK = process.env.BENCH_QUICK === "1";

const watchers = Number(process.env.BENCH_WATCHERS ?? (QUICK ? 200 : 1_000));
if (!Number.isSafeInteger(watchers) || watchers < 2 || watchers % 2 !== 0) {
  throw new Error(`BENCH_WATCHERS must be an even number ≥ 2, got ${process.env.BENCH_WATCHERS}`);
}
/** Which watchers: "both" (half SSE, half WebSocket, the default), or only "sse" or "ws". */
const kind = process.env.BENCH_WATCHER_KIND ?? "both";
if (!["both", "sse", "ws"].includes(kind)) throw new Error(`BENCH_WATCHER_KIND: both, sse or ws`);
/** BENCH_SECTIONS=delay or throughput (comma-separated): only those. */
const only = (process.env.BENCH_SECTIONS ?? "").split(",").filter((x) => x !== "");
const config = {
  watchers,
  kind,
  /** Writes whose delay is measured, one at a time, spaced so each is its own fan-out round. */
  latencyWrites: QUICK ? 10 : 40,
  latencyGapMs: 300,
  writers: 4,
  writesPerWriter: QUICK ? 50 : 150,
  rounds: QUICK ? 1 : 3,
  fileBytes: 256,
  /** Bounded waits: for watchers to connect, and for a write's event to reach them all. */
  connectTimeoutMs: 60_000,
  deliverTimeoutMs: 30_000,
};

/** @param {Client} client @param {string} share */
async function nowCursor(client, share) {
  const page = /** @type {{ next: string }} */ (
    await client.getJson(`/v1/shares/${share}/changes`)
  );
  return page.next;
}

/**
 * `count` watchers of `share` from now on, in this process, all connected.
 * @param {Client} client
 * @param {{ url: string, token: string }} server
 * @param {string} share
 * @param {number} count
 * @param {(path: string, at: number) => void} onEvent
 */
async function attach(client, server, share, count, onEvent) {
  const since = await nowCursor(client, share);
  return openWatchers(
    { server, share, since, count, kind, connectTimeoutMs: config.connectTimeoutMs },
    onEvent,
  );
}

/**
 * `count` watchers of `share` from now on, in a child process of their own
 * (bench/feed-watchers-child.mjs), which reports how many events they got.
 * @param {Client} client
 * @param {{ url: string, token: string }} server
 * @param {string} share
 * @param {number} count
 */
async function attachElsewhere(client, server, share, count) {
  const since = await nowCursor(client, share);
  const child = fork(join(here, "feed-watchers-child.mjs"), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const state = { delivered: 0, errors: /** @type {string[]} */ ([]) };
  const ready = new Promise((ok, fail) => {
    child.on("message", (m) => {
      const msg =
        /** @type {{ ready?: true, delivered?: number, errors?: string[], failed?: string }} */ (m);
      if (msg.delivered !== undefined) state.delivered = msg.delivered;
      if (msg.errors) state.errors = msg.errors;
      if (msg.ready) ok(undefined);
      if (msg.failed) fail(new Error(msg.failed));
    });
    child.on("exit", (code) => fail(new Error(`the watchers' process exited with ${code}`)));
  });
  child.send({ server, share, since, count, kind, connectTimeoutMs: config.connectTimeoutMs });
  await ready;
  return {
    delivered: () => state.delivered,
    errors: () => state.errors,
    close: () => {
      child.kill("SIGTERM");
    },
  };
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------- (a) delay

/**
 * Sequential writes to each share in turn; for each, the delay from sending
 * it to its event at every watcher.
 * @param {Client} client
 * @param {{ url: string, token: string }} server
 * @param {string} share
 * @param {number} count watchers
 * @param {string} label
 */
async function delays(client, server, share, count, label) {
  /** @type {Map<string, { sentAt: number, got: number[] }>} */
  const writes = new Map();
  const attached = await attach(client, server, share, count, (path, at) => {
    const w = writes.get(path);
    if (w) w.got.push(at - w.sentAt);
  });
  log(`  ${label}: ${int(count)} watchers connected`);
  const body = new Uint8Array(config.fileBytes);
  /** @type {number[]} */
  const samples = [];
  let late = 0;
  try {
    for (let i = 0; i < config.latencyWrites; i++) {
      const path = `/lat/f${i}`;
      const w = { sentAt: performance.now(), got: /** @type {number[]} */ ([]) };
      writes.set(path, w);
      await client.putBytes(`/v1/shares/${share}/files${path}`, body, [201]);
      // Bounded: every watcher's event, or the delivery timeout.
      const until = performance.now() + config.deliverTimeoutMs;
      while (w.got.length < count && performance.now() < until) await sleep(5);
      late += count - w.got.length;
      samples.push(...w.got);
      await sleep(config.latencyGapMs);
    }
  } finally {
    attached.close();
  }
  const errors = attached.errors();
  log(
    `  ${label}: p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms` +
      ` over ${int(samples.length)} deliveries${late ? `, ${late} missing` : ""}`,
  );
  return { samples, late, errors };
}

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @param {{ url: string, token: string }} server
 * @returns {Promise<Row[]>}
 */
async function benchDelay(client, problems, server) {
  log(`\n(a) delay from a write to its event: ${int(watchers)} watchers vs 2`);
  await client.createShare("delay-many");
  await client.createShare("delay-two");
  const many = await delays(client, server, "delay-many", watchers, `${int(watchers)} watchers`);
  const two = await delays(client, server, "delay-two", 2, "2 watchers");
  for (const [what, r] of [
    ["many", many],
    ["two", two],
  ]) {
    const got = /** @type {typeof many} */ (r);
    if (got.late > 0) {
      problems.push({ section: "delay", message: `${what}: ${got.late} events never arrived` });
    }
    if (got.errors.length > 0) {
      problems.push({ section: "delay", message: `${what}: ${got.errors.slice(0, 3).join("; ")}` });
    }
  }
  /** @param {number} p */
  const what = (p) =>
    `delay write → event, p${p}, ${int(watchers)} watchers on one share (½ SSE, ½ WebSocket), ${config.latencyWrites} writes`;
  return [50, 99].map((p) =>
    row({
      id: `feed.delay.p${p}`,
      what: what(p),
      unit: "ms",
      digits: 1,
      edgefs: percentile(many.samples, p),
      baseline: percentile(two.samples, p),
      baselineWhat: "2 watchers",
      ratioOf: `${int(watchers)}/2`,
      target: null,
      details: { deliveries: many.samples.length, baselineDeliveries: two.samples.length },
    }),
  );
}

// -------------------------------------------------------- (b) throughput

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @param {{ url: string, token: string }} server
 * @returns {Promise<Row[]>}
 */
async function benchThroughput(client, problems, server) {
  const { writers, writesPerWriter, rounds, fileBytes } = config;
  const n = writers * writesPerWriter;
  log(`\n(b) ${writers} writers × ${writesPerWriter} PUTs: ${int(watchers)} watchers vs none`);
  await client.createShare("watched");
  await client.createShare("unwatched");
  const attached = await attachElsewhere(client, server, "watched", watchers);
  log(`  ${int(watchers)} watchers connected to "watched" (in their own process)`);
  const body = new Uint8Array(fileBytes);
  /** @type {Record<"watched" | "unwatched", number[]>} */
  const rate = { watched: [], unwatched: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const share of rotate(/** @type {const} */ (["unwatched", "watched"]), r)) {
        const t0 = performance.now();
        await pool(writers, writers, async (w) => {
          for (let k = 0; k < writesPerWriter; k++) {
            await client.putBytes(`/v1/shares/${share}/files/r${r}/w${w}/f${k}`, body, [201]);
          }
        });
        const perSecond = n / ((performance.now() - t0) / 1000);
        rate[share].push(perSecond);
        log(`  ${share.padEnd(9)} round ${r + 1}: ${int(perSecond)} writes/s`);
        // The watchers' backlog is delivered before the next round (bounded), so
        // its fan-out does not slow the next round's writes to the other share.
        const until = performance.now() + 120_000;
        const due = watchers * n * rate.watched.length;
        while (attached.delivered() < due && performance.now() < until) await sleep(50);
      }
    }
    // Every watcher gets every write in the end (bounded wait).
    const want = watchers * n * rounds;
    const until = performance.now() + 120_000;
    while (attached.delivered() < want && performance.now() < until) await sleep(50);
    if (attached.delivered() < want) {
      problems.push({
        section: "throughput",
        message: `watchers got ${int(attached.delivered())} of ${int(want)} events`,
      });
    }
  } finally {
    attached.close();
  }
  const errors = attached.errors();
  if (errors.length > 0) {
    problems.push({ section: "throughput", message: errors.slice(0, 3).join("; ") });
  }
  return [
    row({
      id: "feed.throughput",
      what: `${writers} writers × ${writesPerWriter} sequential ${fileBytes} B PUTs with ${int(watchers)} watchers attached, median of ${rounds}`,
      unit: "writes/s",
      digits: 0,
      edgefs: median(rate.watched),
      baseline: median(rate.unwatched),
      baselineWhat: "no watchers",
      ratioOf: "watched/unwatched",
      target: { op: ">=", value: 0.9 },
      details: { samplesWritesPerSecond: rate, delivered: attached.delivered() },
    }),
  ];
}

await runBench({
  root,
  title: `edgefs change-feed benchmark: ${int(watchers)} watchers on one share (${kind === "both" ? "½ SSE, ½ WebSocket" : `${kind} only`})${QUICK ? " (BENCH_QUICK=1)" : ""}`,
  vars: {},
  resultsFile: join(here, "results", QUICK ? "feed-quick.json" : "feed-latest.json"),
  config,
  sections: /** @type {[string, import("./harness.mjs").Section][]} */ ([
    ["delay", benchDelay],
    ["throughput", benchThroughput],
  ]).filter(([name]) => only.length === 0 || only.includes(name)),
});
