// Bounded load test (issue 9): autocannon with 64 connections on 127.0.0.1
// against one local server, a mix of stat (60 %), read (30 %) and write
// (10 %) of 1 KiB files — first all on one share (one Durable Object), then
// spread over 32 shares. Prints throughput, p50/p99 latency and errors
// (non-2xx answers, socket errors and timeouts all count) as a table and
// writes bench/results/load.json. Timings are reported, never asserted; the
// run exits 1 if any request failed, which `npm run test:stress` relies on.
//   npm run bench:load                 2 × 25 s
//   LOAD_SECONDS=10 npm run bench:load (at most 25)
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { machine, machineLine, writeJson } from "./report.mjs";
import { snapshot } from "./snapshot.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SECONDS = Math.min(25, Math.max(1, Number(process.env.LOAD_SECONDS ?? 25)));
const CONNECTIONS = 64;
const FILES_PER_SHARE = 200;
const MANY_SHARES = 32;
const BODY = "x".repeat(1024);

/**
 * @param {string} url @param {string} token @param {string} method @param {string} path
 * @param {string | undefined} [body]
 */
async function call(url, token, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
    body,
  });
  await res.arrayBuffer();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status}`);
}

/**
 * Creates `shares` and fills each with FILES_PER_SHARE files of 1 KiB.
 * @param {string} url @param {string} token @param {string[]} shares
 */
async function seed(url, token, shares) {
  for (const share of shares) {
    await call(url, token, "PUT", `/v1/shares/${share}`);
    const jobs = Array.from({ length: FILES_PER_SHARE }, (_, i) =>
      call(url, token, "PUT", `/v1/shares/${share}/files/f/${i}.txt`, BODY),
    );
    await Promise.all(jobs);
  }
}

/**
 * One autocannon run over `shares`: each connection cycles stat ×6, read ×3,
 * write ×1, every request on a random share and file.
 * @param {string} url @param {string} token @param {string[]} shares
 */
function run(url, token, shares) {
  const pick = () => {
    const share = shares[Math.floor(Math.random() * shares.length)];
    return `/v1/shares/${share}/%s/f/${Math.floor(Math.random() * FILES_PER_SHARE)}.txt`;
  };
  /** @param {"stat" | "files"} kind @returns {import("autocannon").Request} */
  const get = (kind) => ({
    method: "GET",
    setupRequest: (req) => ({ ...req, path: pick().replace("%s", kind) }),
  });
  /** @type {import("autocannon").Request} */
  const write = {
    method: "PUT",
    body: BODY,
    setupRequest: (req) => ({ ...req, path: pick().replace("%s", "files") }),
  };
  const requests = [...Array(6).fill(get("stat")), ...Array(3).fill(get("files")), write];
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    timeout: 20,
    headers: { authorization: `Bearer ${token}` },
    requests,
  });
}

/** @param {string} name @param {import("autocannon").Result} r */
function summary(name, r) {
  const errors = r.errors + r.timeouts + r.non2xx;
  return {
    scenario: name,
    requestsPerSecond: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    errors,
    non2xx: r.non2xx,
    socketErrors: r.errors,
    timeouts: r.timeouts,
  };
}

const source = await snapshot(root);
const server = await source.startServer();
/** @type {ReturnType<typeof summary>[]} */
const results = [];
try {
  const one = ["load-one"];
  const many = Array.from({ length: MANY_SHARES }, (_, i) => `load-many-${i}`);
  await seed(server.url, server.token, [...one, ...many]);
  results.push(summary("one share", await run(server.url, server.token, one)));
  results.push(summary(`${MANY_SHARES} shares`, await run(server.url, server.token, many)));
} finally {
  await server.stop();
  source.remove();
}

const m = machine(root);
console.log(
  `\nLoad: ${CONNECTIONS} connections, ${SECONDS} s per scenario, 60 % stat / 30 % read / 10 % write of 1 KiB files`,
);
console.log(machineLine(m));
console.log("\n| scenario | req/s | p50 ms | p99 ms | requests | errors |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const r of results) {
  console.log(
    `| ${r.scenario} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.requests} | ${r.errors} |`,
  );
}
writeJson(join(root, "bench", "results", "load.json"), {
  date: new Date().toISOString(),
  machine: m,
  connections: CONNECTIONS,
  seconds: SECONDS,
  mix: { stat: 0.6, read: 0.3, write: 0.1, fileBytes: 1024 },
  results,
});
const failed = results.reduce((n, r) => n + r.errors, 0);
if (failed > 0) {
  console.error(`\n${failed} requests failed (non-2xx, socket errors or timeouts)`);
  process.exitCode = 1;
}
