// What the WebDAV front-end costs over the native API, in one run against
// one server: small-file writes and reads, a 1,000-entry directory listing
// (PROPFIND Depth 1 against GET …/list/), and a large file both ways.
// WebDAV does more per request on purpose (PUT checks that the parent
// exists, PROPFIND adds properties and locks), so the ratios say what that
// costs; bytes stream through the same code, so large files should match.
//   npm run bench:dav
//   BENCH_QUICK=1 npm run bench:dav     fewer files, a 64 MiB file instead of 256 MiB
import { randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
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
const SMALL_FILES = quick ? 200 : 1000;
const SMALL_SIZE = 1024;
const LIST_ENTRIES = 1000;
const LARGE = (quick ? 64 : 256) * MiB;
const ROUNDS = 3;
const CONCURRENCY = 8;
const SHARE = "bench-dav";

/** Native and WebDAV URLs of one path of the benchmark share. */
const native = (/** @type {string} */ path) => `/v1/shares/${SHARE}/files${path}`;
const dav = (/** @type {string} */ path) => `/dav/main/${SHARE}${path}`;

/** @param {() => Promise<void>} fn */
async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Alternates the two sides round by round (so drift on a noisy machine hits
 * both) and returns the median time of each.
 * @param {(side: "native" | "dav", round: number) => Promise<void>} fn
 */
async function compare(fn) {
  /** @type {{ native: number[], dav: number[] }} */
  const times = { native: [], dav: [] };
  for (let round = 0; round < ROUNDS; round++) {
    /** @type {("native" | "dav")[]} */
    const order = round % 2 === 0 ? ["native", "dav"] : ["dav", "native"];
    for (const side of order) times[side].push(await timed(() => fn(side, round)));
  }
  return { native: median(times.native), dav: median(times.dav) };
}

/** @param {Client} client */
async function benchSmall(client) {
  const body = new Uint8Array(SMALL_SIZE);
  randomFillSync(body);
  const url = (/** @type {"native" | "dav"} */ side, /** @type {number} */ i) =>
    side === "native" ? native(`/small/n-${i}`) : dav(`/small/d-${i}`);
  await client.putBytes(native("/small/"), new Uint8Array(0), [200, 201]);
  const writes = await compare((side) =>
    pool(SMALL_FILES, CONCURRENCY, (i) => client.putBytes(url(side, i), body, [200, 201, 204])),
  );
  const reads = await compare((side) =>
    pool(SMALL_FILES, CONCURRENCY, async (i) => {
      await client.getBytes(url(side, i));
    }),
  );
  const rate = (/** @type {number} */ ms) => SMALL_FILES / (ms / 1000);
  return [
    row({
      id: "dav-small-put",
      what: `${SMALL_FILES} × 1 KiB PUT, ${CONCURRENCY} at a time`,
      unit: "files/s",
      digits: 0,
      edgefs: rate(writes.dav),
      baseline: rate(writes.native),
      baselineWhat: "native PUT",
      ratioOf: "WebDAV/native",
      target: { op: ">=", value: 0.7, informational: true },
    }),
    row({
      id: "dav-small-get",
      what: `${SMALL_FILES} × 1 KiB GET, ${CONCURRENCY} at a time`,
      unit: "files/s",
      digits: 0,
      edgefs: rate(reads.dav),
      baseline: rate(reads.native),
      baselineWhat: "native GET",
      ratioOf: "WebDAV/native",
      target: { op: ">=", value: 0.8, informational: true },
    }),
  ];
}

/** @param {Client} client */
async function benchListing(client) {
  const empty = new Uint8Array(0);
  await pool(LIST_ENTRIES, CONCURRENCY, (i) =>
    client.putBytes(native(`/listing/f-${String(i).padStart(5, "0")}`), empty, [200, 201]),
  );
  const listed = await compare(async (side) => {
    const res =
      side === "native"
        ? await client.request("GET", `/v1/shares/${SHARE}/list/listing/?limit=${LIST_ENTRIES}`, {
            expect: [200],
          })
        : await client.request("PROPFIND", dav("/listing/"), {
            expect: [207],
            headers: { depth: "1" },
          });
    const text = await res.text();
    const count =
      side === "native" ? JSON.parse(text).entries.length : text.split("<D:response>").length - 2;
    if (count !== LIST_ENTRIES)
      throw new Error(`${side} listed ${count} of ${LIST_ENTRIES} entries`);
  });
  return [
    row({
      id: "dav-propfind",
      what: `list ${LIST_ENTRIES} entries: PROPFIND Depth 1 (allprop)`,
      unit: "ms",
      digits: 0,
      edgefs: listed.dav,
      baseline: listed.native,
      baselineWhat: "native list",
      ratioOf: "WebDAV/native time",
      target: { op: "<=", value: 3, informational: true },
    }),
  ];
}

/** @param {Client} client */
async function benchLarge(client) {
  const dir = mkdtempSync(join(tmpdir(), "edgefs-bench-dav-"));
  const file = join(dir, "large.bin");
  try {
    writeRandomFile(file, LARGE);
    const path = (/** @type {"native" | "dav"} */ side) =>
      side === "native" ? native("/large-native.bin") : dav("/large-dav.bin");
    const up = await compare((side) =>
      client.putFile(path(side), file, LARGE, [200, 201, 204]).then(() => {}),
    );
    const down = await compare(async (side) => {
      const got = await client.getStream(path(side));
      if (got.bytes !== LARGE) throw new Error(`${side} GET returned ${got.bytes} bytes`);
    });
    const mibps = (/** @type {number} */ ms) => LARGE / MiB / (ms / 1000);
    return [
      row({
        id: "dav-large-put",
        what: `${LARGE / MiB} MiB PUT`,
        unit: "MiB/s",
        digits: 0,
        edgefs: mibps(up.dav),
        baseline: mibps(up.native),
        baselineWhat: "native PUT",
        ratioOf: "WebDAV/native",
        target: { op: ">=", value: 0.9, informational: true },
      }),
      row({
        id: "dav-large-get",
        what: `${LARGE / MiB} MiB GET`,
        unit: "MiB/s",
        digits: 0,
        edgefs: mibps(down.dav),
        baseline: mibps(down.native),
        baselineWhat: "native GET",
        ratioOf: "WebDAV/native",
        target: { op: ">=", value: 0.9, informational: true },
      }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const m = machine(root);
  console.log(`# edgefs WebDAV benchmark${quick ? " (BENCH_QUICK=1)" : ""}\n`);
  console.log(`machine: ${machineLine(m)}\n`);
  const source = await snapshot(root);
  /** @type {Awaited<ReturnType<typeof source.startServer>> | undefined} */
  let server;
  const rows = [];
  try {
    server = await source.startServer({});
    const client = new Client(server.url, server.token);
    try {
      await client.createShare(SHARE);
      rows.push(...(await benchSmall(client)));
      rows.push(...(await benchListing(client)));
      rows.push(...(await benchLarge(client)));
    } finally {
      client.close();
    }
  } finally {
    await server?.stop();
    source.remove();
  }
  console.log(markdownTable(rows));
  console.log(
    "\nEach pair is measured in alternating rounds against one server; medians of " +
      `${ROUNDS} rounds. "(info)" targets are this benchmark's own expectations, not the brief's.`,
  );
  writeJson(join(root, "bench", "results", "dav.json"), { machine: m, quick, results: rows });
}

await main();
