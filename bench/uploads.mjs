import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeRandomFile } from "./files.mjs";
import { Client } from "./http.mjs";
import { machine, machineLine, markdownTable, row, writeJson } from "./report.mjs";
import { snapshot } from "./snapshot.mjs";
import { median, pool } from "./stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.env.BENCH_QUICK === "1";
const MiB = 1024 * 1024;
const SIZE = (quick ? 128 : 1024) * MiB;
const PART = (quick ? 16 : 64) * MiB;
const ROUNDS = quick ? 1 : 2;

/**
 * Resident memory (bytes) of every process in a process group, from /proc.
 * @param {number} pgid
 */
function groupRss(pgid) {
  let total = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      total += Number(fields[21]) * 4096;
    } catch {}
  }
  return total;
}

/**
 * Runs `fn` while sampling the group's memory; returns its duration and the peak.
 * @template T @param {number} pgid @param {() => Promise<T>} fn
 */
async function measured(pgid, fn) {
  let peak = groupRss(pgid);
  const timer = setInterval(() => {
    peak = Math.max(peak, groupRss(pgid));
  }, 100);
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return { ms: performance.now() - t0, peak };
}

/**
 * PUTs `size` bytes of `file` from `start` to `url` with a Content-Length.
 * @param {string} url @param {string} token @param {string} file @param {number} start @param {number} size
 */
function putRange(url, token, file, start, size) {
  return new Promise((ok, fail) => {
    const req = http.request(url, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-length": String(size) },
      timeout: 600_000,
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () =>
        res.statusCode === 200 ? ok(undefined) : fail(new Error(`${url} → ${res.statusCode}`)),
      );
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timed out`)));
    req.on("error", fail);
    createReadStream(file, { start, end: start + size - 1, highWaterMark: MiB }).pipe(req);
  });
}

/**
 * Uploads the file through the multipart API with `inFlight` parts at once.
 * @param {{ url: string, token: string }} server @param {string} file @param {number} size @param {number} inFlight @param {string} path
 */
async function multipart(server, file, size, inFlight, path) {
  const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
  const base = `${server.url}/v1/shares/bench`;
  const created = await fetch(`${base}/uploads`, {
    method: "POST",
    headers,
    body: JSON.stringify({ path, partSize: PART }),
  });
  if (created.status !== 201)
    throw new Error(`create upload → ${created.status}: ${await created.text()}`);
  const { uploadId } = /** @type {{ uploadId: string }} */ (await created.json());
  const parts = Math.ceil(size / PART);
  await pool(parts, inFlight, async (i) => {
    const start = i * PART;
    await putRange(
      `${base}/uploads/${uploadId}/parts/${i + 1}`,
      server.token,
      file,
      start,
      Math.min(PART, size - start),
    );
  });
  const done = await fetch(`${base}/uploads/${uploadId}/complete`, { method: "POST", headers });
  if (done.status !== 201 && done.status !== 200)
    throw new Error(`complete → ${done.status}: ${await done.text()}`);
}

const dir = mkdtempSync(join(tmpdir(), "edgefs-bench-uploads-"));
// Served from a copy of the tree, so edits made during a run cannot restart the Worker.
const source = await snapshot(root);
const server = await source.startServer();
try {
  const client = new Client(server.url, server.token);
  await client.createShare("bench");
  const file = join(dir, "big.bin");
  const small = join(dir, "small.bin");
  console.error(`writing ${SIZE / MiB} MiB of random data…`);
  writeRandomFile(file, SIZE);
  writeRandomFile(small, PART);
  const mibps = (/** @type {number} */ ms) => SIZE / MiB / (ms / 1000);

  // The memory baseline first, on the fresh server, before any big upload:
  // taken after the 1 GiB runs, it would include whatever they left behind,
  // and "memory does not grow with the file" would be unproven.
  const smallRun = await measured(server.pid, () =>
    multipart(server, small, PART, 1, "/one-part.bin"),
  );
  console.error(
    `baseline: one ${PART / MiB} MiB part, peak RSS ${(smallRun.peak / MiB).toFixed(0)} MiB`,
  );

  /** @type {Record<string, number[]>} */
  const runs = { put: [], m1: [], m4: [], m8: [] };
  /** @type {Record<string, number>} */
  const peaks = {};
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved, so machine noise spreads over every variant.
    const r = await measured(server.pid, () =>
      client.putFile(client.fileUrl("bench", `/put-${round}.bin`), file, SIZE, [200, 201]),
    );
    runs.put?.push(mibps(r.ms));
    for (const n of [1, 4, 8]) {
      const m = await measured(server.pid, () =>
        multipart(server, file, SIZE, n, `/multipart-${n}-${round}.bin`),
      );
      runs[`m${n}`]?.push(mibps(m.ms));
      peaks[`m${n}`] = Math.max(peaks[`m${n}`] ?? 0, m.peak);
      console.error(
        `round ${round + 1}: put ${r.ms.toFixed(0)} ms, multipart×${n} ${m.ms.toFixed(0)} ms`,
      );
    }
  }
  const put = median(runs.put ?? []);
  const rows = [1, 4, 8].map((n) =>
    row({
      id: `multipart-${n}`,
      what: `${SIZE / MiB} MiB via multipart, ${n} part${n > 1 ? "s" : ""} in flight (${PART / MiB} MiB parts)`,
      unit: "MiB/s",
      digits: 1,
      edgefs: median(runs[`m${n}`] ?? []),
      baseline: put,
      baselineWhat: "single streaming PUT",
      ratioOf: "multipart/PUT",
      target: null,
    }),
  );
  rows.push(
    row({
      id: "multipart-memory",
      what: `server peak RSS: ${SIZE / MiB} MiB, 8 in flight vs one ${PART / MiB} MiB part`,
      unit: "MiB",
      digits: 0,
      edgefs: (peaks.m8 ?? 0) / MiB,
      baseline: smallRun.peak / MiB,
      baselineWhat: `${PART / MiB} MiB upload, fresh server`,
      ratioOf: "large/small",
      target: { op: "<=", value: 1.5, informational: true },
    }),
  );
  const m = machine(root);
  console.log(`\n${machineLine(m)}\n\n${markdownTable(rows)}\n`);
  writeJson(join(root, "bench", "results", quick ? "uploads-quick.json" : "uploads.json"), {
    machine: m,
    quick,
    rows,
  });
  client.close();
} finally {
  await server.stop();
  source.remove();
  rmSync(dir, { recursive: true, force: true });
}
