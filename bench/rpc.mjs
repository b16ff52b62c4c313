#!/usr/bin/env node
// edgefs RPC benchmark (issue 19): `npm run bench:rpc` (BENCH_ROUNDS, BENCH_OPS).
//
// A 4 KiB write + read of one file, N times, from a second Worker in the same
// workerd: through the Edgefs RPC entrypoint vs through the HTTP API over a
// service binding, in alternating rounds of one run. The two Workers are the
// ones vitest.rpc.config.ts sets up for the RPC tests — the example consumer,
// and the gateway's own bundle beside it (so run `npm run build` first; this
// script does) — and bench/rpc/rpc.bench-test.ts measures inside workerd.
// The ratio is HTTP time / RPC time (target ≥ 2: RPC at least twice as fast).
// Results: a markdown table on stdout and bench/results/rpc-latest.json.
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAverage, machine, machineLine, markdownTable, row, writeJson } from "./report.mjs";
import { median } from "./stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** @param {string} s */
const log = (s) => process.stderr.write(`${s}\n`);

log("building the gateway bundle (dist/worker) …");
const build = spawnSync("npm", ["run", "build"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
});
if (build.status !== 0) process.exit(build.status ?? 1);

log("running the two Workers in workerd (vitest.rpc.config.ts) …");
const run = spawnSync(
  process.execPath,
  [join(root, "node_modules", "vitest", "vitest.mjs"), "run", "--config", "vitest.rpc.config.ts"],
  {
    cwd: root,
    env: { ...process.env, EDGEFS_RPC_BENCH: "1" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: 15 * 60 * 1000,
  },
);
const line = `${run.stdout}\n${run.stderr}`.split("\n").find((l) => l.includes("BENCH_RESULT "));
if (!line) {
  log(run.stdout);
  log(run.stderr);
  throw new Error("the benchmark printed no result");
}
const result = JSON.parse(line.slice(line.indexOf("BENCH_RESULT ") + "BENCH_RESULT ".length));
/** @param {number[]} ms the rounds' times: µs per write + read of the median round */
const perOp = (ms) => (median(ms) / result.ops) * 1000;
const rpc = perOp(result.rpcMs);
const http = perOp(result.httpMs);
const rows = [
  row({
    id: "rpc-4k",
    what: `4 KiB write + read, ${result.ops} × ${result.rounds} rounds (median round)`,
    unit: "µs/op",
    digits: 0,
    // The ratio is the baseline's time over edgefs's: how many times faster RPC is.
    edgefs: http,
    baseline: rpc,
    baselineWhat: "over RPC; edgefs column: over HTTP",
    ratioOf: "HTTP time / RPC time",
    target: { op: ">=", value: 2 },
    details: result,
  }),
];
const m = machine(root);
process.stdout.write(`# edgefs RPC benchmark\n\n${machineLine(m)}\n\n${markdownTable(rows)}\n\n`);
process.stdout.write(
  `RPC: ${rpc.toFixed(0)} µs per write + read; HTTP over a service binding: ${http.toFixed(0)} µs; load ${loadAverage()}\n`,
);
writeJson(join(root, "bench", "results", "rpc-latest.json"), {
  machine: m,
  rows,
  load: loadAverage(),
});
