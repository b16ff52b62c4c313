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
// reported (met / not met), never asserted. The watchers run in this process,
// so on a small machine they compete with the server for CPU: the ratio in (b)
// is what a local machine shows, a deployed Worker's watchers cost it nothing.
// Results go to stdout as a markdown table and to bench/results/feed-latest.json.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
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

/**
 * One watcher of a share's feed from now on: calls `onEvent(path, at)` for
 * each event as it arrives; `ready` resolves once it is connected.
 * @typedef {{ ready: Promise<void>, close: () => void, errors: string[] }} Watcher
 */

/**
 * @param {{ url: string, token: string }} server
 * @param {string} share
 * @param {string} since
 * @param {(path: string, at: number) => void} onEvent
 * @returns {Watcher}
 */
function sseWatcher(server, share, since, onEvent) {
  const abort = new AbortController();
  /** @type {string[]} */
  const errors = [];
  /** @type {() => void} */
  let connected = () => {};
  const ready = new Promise((ok) => {
    connected = /** @type {() => void} */ (ok);
  });
  (async () => {
    const res = await fetch(`${server.url}/v1/shares/${share}/changes?since=${since}`, {
      headers: { authorization: `Bearer ${server.token}`, accept: "text/event-stream" },
      signal: abort.signal,
    });
    if (res.status !== 200) throw new Error(`SSE: ${res.status} ${await res.text()}`);
    const reader = /** @type {ReadableStream<Uint8Array>} */ (res.body).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      connected(); // its first bytes ("retry: …") came: the stream is open
      const at = performance.now();
      buffer += decoder.decode(value, { stream: true });
      const frames = buffer.split("\n\n");
      buffer = /** @type {string} */ (frames.pop());
      for (const frame of frames) {
        if (!frame.includes("event: change")) continue;
        // Fields in any order (event, data, id): the data line is the event's JSON.
        const data = frame.split("\n").find((line) => line.startsWith("data: "));
        if (data) onEvent(/** @type {{ path: string }} */ (JSON.parse(data.slice(6))).path, at);
      }
    }
  })().catch((e) => {
    if (!abort.signal.aborted) errors.push(`SSE: ${e instanceof Error ? e.message : e}`);
    connected();
  });
  return { ready, close: () => abort.abort(), errors };
}

/**
 * @param {{ url: string, token: string }} server
 * @param {string} share
 * @param {string} since
 * @param {(path: string, at: number) => void} onEvent
 * @returns {Watcher}
 */
function socketWatcher(server, share, since, onEvent) {
  /** @type {string[]} */
  const errors = [];
  const url = `${server.url.replace(/^http/, "ws")}/v1/shares/${share}/changes/ws?since=${since}&limit=1000`;
  const ws = new WebSocket(url, ["edgefs", `edgefs.bearer.${server.token}`]);
  let closing = false;
  const ready = new Promise((ok) => {
    ws.addEventListener("open", () => ok(undefined));
    ws.addEventListener("error", () => {
      errors.push("WebSocket failed");
      ok(undefined);
    });
  });
  ws.addEventListener("message", (m) => {
    const at = performance.now();
    const frame = /** @type {{ changes?: { path: string }[], error?: unknown }} */ (
      JSON.parse(String(m.data))
    );
    if (frame.error) errors.push(`WebSocket: ${JSON.stringify(frame.error)}`);
    for (const e of frame.changes ?? []) onEvent(e.path, at);
  });
  ws.addEventListener("close", (e) => {
    if (!closing) errors.push(`WebSocket closed ${e.code} ${e.reason}`);
  });
  return {
    ready,
    close: () => {
      closing = true;
      ws.close(1000, "bench done");
    },
    errors,
  };
}

/** @param {Client} client @param {string} share */
async function nowCursor(client, share) {
  const page = /** @type {{ next: string }} */ (
    await client.getJson(`/v1/shares/${share}/changes`)
  );
  return page.next;
}

/**
 * `count` watchers of `share`, half SSE, half WebSocket, all connected.
 * @param {Client} client
 * @param {{ url: string, token: string }} server
 * @param {string} share
 * @param {number} count
 * @param {(path: string, at: number) => void} onEvent
 */
async function attach(client, server, share, count, onEvent) {
  const since = await nowCursor(client, share);
  /** @type {Watcher[]} */
  const all = [];
  // Opened in small groups: a thousand upgrades at once would be a bench of the proxy.
  for (let i = 0; i < count; i += 50) {
    const group = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      group.push(
        (kind === "both" ? j % 2 === 0 : kind === "sse")
          ? sseWatcher(server, share, since, onEvent)
          : socketWatcher(server, share, since, onEvent),
      );
    }
    await Promise.race([
      Promise.all(group.map((w) => w.ready)),
      new Promise((_, fail) =>
        setTimeout(() => fail(new Error("watchers did not connect")), config.connectTimeoutMs),
      ),
    ]);
    all.push(...group);
  }
  const errors = all.flatMap((w) => w.errors);
  if (errors.length > 0) throw new Error(`${errors.length} watchers failed: ${errors[0]}`);
  return {
    watchers: all,
    errors: () => all.flatMap((w) => w.errors),
    close: () => {
      for (const w of all) w.close();
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
  let delivered = 0;
  const attached = await attach(client, server, "watched", watchers, () => {
    delivered++;
  });
  log(`  ${int(watchers)} watchers connected to "watched"`);
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
        while (delivered < due && performance.now() < until) await sleep(50);
      }
    }
    // Every watcher gets every write in the end (bounded wait).
    const want = watchers * n * rounds;
    const until = performance.now() + 120_000;
    while (delivered < want && performance.now() < until) await sleep(50);
    if (delivered < want) {
      problems.push({
        section: "throughput",
        message: `watchers got ${int(delivered)} of ${int(want)} events`,
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
      details: { samplesWritesPerSecond: rate, delivered },
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
