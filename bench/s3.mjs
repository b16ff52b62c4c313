#!/usr/bin/env node
// What the S3 front-end costs over the native API: `npm run bench:s3`
// (BENCH_QUICK=1: a 32 MiB file, fewer rounds).
//
// Starts one throwaway `wrangler dev` (dev routes on, for seeding) from a
// snapshot of the working tree and measures, each S3 operation against the
// native request doing the same work on the same server in the same run
// (rounds rotate which contender goes first):
//   (1) a 256 MiB GetObject vs the native GET of the same file;
//   (2) a 256 MiB PutObject in one request with Content-Length, signed with
//       UNSIGNED-PAYLOAD, and again with the body's SHA-256 in
//       x-amz-content-sha256 (what boto3 sends over http: the Worker hashes
//       every byte to verify it), vs the native PUT;
//   (3) 1,000 × 4 KiB PutObjects (hashed payloads) from 16 concurrent clients
//       vs 1,000 native PUTs from 16 clients;
//   (4) ListObjectsV2 of 10,000 keys, every page of 1,000, vs the native
//       recursive JSON listing of the same directory paged with limit 1,000.
// S3 requests are signed with aws4fetch's AwsV4Signer in Node, not with the
// AWS SDK, so the client's own cost stays small; they are signed before the
// clock starts, except a listing's pages (each needs the token of the one
// before). Targets are reported (PASS / MISS), never asserted. Results go to
// stdout and to bench/results/s3-latest.json; progress goes to stderr.
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AwsV4Signer } from "aws4fetch";
import { rootS3Secret } from "../src/cli/banner.ts";
import { writeRandomFile } from "./files.mjs";
import { log, runBench } from "./harness.mjs";
import { HttpError } from "./http.mjs";
import { row } from "./report.mjs";
import { int, median, pool, rotate } from "./stats.mjs";

/** @typedef {import("./report.mjs").Row} Row */
/** @typedef {import("./report.mjs").Problem} Problem */
/** @typedef {import("./http.mjs").Client} Client */
/** @typedef {{ url: string, token: string }} Server */

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const QUICK = process.env.BENCH_QUICK === "1";
const MiB = 1024 * 1024;

const config = {
  largeMiB: QUICK ? 32 : 256,
  uploadRounds: 3,
  downloadRounds: QUICK ? 3 : 5,
  smallFiles: 1_000,
  smallBytes: 4096,
  smallClients: 16,
  smallRounds: 3,
  listKeys: 10_000,
  pageSize: 1_000,
  listRounds: QUICK ? 3 : 5,
  pageProbes: QUICK ? 5 : 30,
  region: "auto",
  signer: "aws4fetch AwsV4Signer (Node WebCrypto)",
};

/** @param {number} i */
const name = (i) => `f${String(i).padStart(6, "0")}`;

/**
 * Signs S3 requests for the root key pair (EFROOT, the secret derived from
 * the root token as `npm start` prints it) with aws4fetch.
 * @param {Server} server
 */
function s3Signer(server) {
  const secretAccessKey = rootS3Secret(server.token);
  /** The derived signing key, shared by every signature of the run (as an SDK caches it). */
  const cache = new Map();
  /**
   * @param {string} method
   * @param {string} path path-style, already encoded: /bucket/key?query
   * @param {Record<string, string>} [headers] signed as given (content-length and
   *   content-type are sent but, as aws4fetch does, not signed)
   * @returns {Promise<Record<string, string>>} the headers to send
   */
  return async (method, path, headers = {}) => {
    const signer = new AwsV4Signer({
      method,
      url: server.url + path,
      headers,
      accessKeyId: "EFROOT",
      secretAccessKey,
      service: "s3",
      region: config.region,
      cache,
    });
    const signed = await signer.sign();
    /** @type {Record<string, string>} */
    const out = {};
    signed.headers.forEach((value, name) => {
      out[name] = value;
    });
    return out;
  };
}

/** The MD5 of a file, hex: S3's ETag of an object written in one request. */
function md5Of(/** @type {string} */ file) {
  return new Promise((ok, fail) => {
    const hash = createHash("md5");
    createReadStream(file, { highWaterMark: MiB })
      .on("data", (c) => hash.update(c))
      .on("error", fail)
      .on("end", () => ok(hash.digest("hex")));
  });
}

/**
 * fetch() with an S3 signature; throws HttpError unless the status is one of `expect`.
 * @param {Server} server
 * @param {string} method
 * @param {string} path
 * @param {Record<string, string>} headers signed headers
 * @param {number[]} expect
 * @param {Uint8Array<ArrayBuffer>} [body]
 */
async function s3Fetch(server, method, path, headers, expect, body) {
  const res = await fetch(server.url + path, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(60_000),
  });
  if (!expect.includes(res.status)) {
    const text = await res.text().catch((e) => `(body unreadable: ${e})`);
    throw new HttpError(method, path, res.status, text, expect);
  }
  return res;
}

// ------------------------------------------------------- (1), (2) a large file

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @param {Server} server
 * @returns {Promise<Row[]>}
 */
async function benchLarge(client, problems, server) {
  const { largeMiB, uploadRounds, downloadRounds } = config;
  const sign = s3Signer(server);
  const share = "s3-large";
  log(
    `\n(1, 2) ${largeMiB} MiB file: ${uploadRounds} upload rounds (native, S3 unsigned, S3 hashed) and ${downloadRounds} download rounds (native, S3)`,
  );
  const dir = mkdtempSync(join(tmpdir(), "edgefs-bench-s3-"));
  try {
    const file = join(dir, "large.bin");
    const size = largeMiB * MiB;
    const sha256 = writeRandomFile(file, size);
    const md5 = await md5Of(file);
    await client.createShare(share);
    /** @param {number} ms */
    const rate = (ms) => size / MiB / (ms / 1000);
    /** @type {Record<"native" | "unsigned" | "sha256", number[]>} */
    const up = { native: [], unsigned: [], sha256: [] };
    for (let r = 0; r < uploadRounds; r++) {
      for (const how of rotate(/** @type {const} */ (["native", "unsigned", "sha256"]), r)) {
        const key = `${how}/${r}.bin`;
        let path = client.fileUrl(share, key);
        /** @type {Record<string, string> | undefined} */
        let headers;
        let expect = [201];
        if (how !== "native") {
          path = `/${share}/${key}`;
          expect = [200];
          headers = {
            ...(await sign("PUT", path, {
              "x-amz-content-sha256": how === "sha256" ? sha256 : "UNSIGNED-PAYLOAD",
            })),
            "content-length": String(size),
            "content-type": "application/octet-stream",
          };
        }
        const t0 = performance.now();
        await client.putFile(path, file, size, expect, headers);
        const ms = performance.now() - t0;
        up[how].push(rate(ms));
        log(`  upload   ${how.padEnd(8)} round ${r + 1}: ${rate(ms).toFixed(1)} MiB/s`);
      }
    }
    // What S3 wrote is what was sent: its ETag is the bytes' MD5 (untimed).
    for (const how of ["unsigned", "sha256"]) {
      for (let r = 0; r < uploadRounds; r++) {
        const path = `/${share}/${how}/${r}.bin`;
        const res = await s3Fetch(server, "HEAD", path, await sign("HEAD", path), [200]);
        const etag = res.headers.get("etag");
        const length = Number(res.headers.get("content-length"));
        if (etag !== `"${md5}"` || length !== size) {
          problems.push({
            section: "large",
            message: `HEAD ${path}: ETag ${etag}, Content-Length ${length}; expected "${md5}", ${size}`,
            request: `HEAD ${path}`,
          });
        }
      }
    }
    // The same file both ways: the one the first native round wrote.
    const nativePath = client.fileUrl(share, "native/0.bin");
    const s3Path = `/${share}/native/0.bin`;
    const check = await client.getStream(s3Path, true, await sign("GET", s3Path));
    if (check.sha256 !== sha256) {
      problems.push({
        section: "large",
        message: `GetObject ${s3Path}: SHA-256 ${check.sha256} differs from the uploaded ${sha256}`,
        request: `GET ${s3Path}`,
      });
    }
    /** @type {Record<"native" | "s3", number[]>} */
    const down = { native: [], s3: [] };
    /** @type {Record<"native" | "s3", number[]>} */
    const headersAfterMs = { native: [], s3: [] };
    for (let r = 0; r < downloadRounds; r++) {
      for (const how of rotate(/** @type {const} */ (["native", "s3"]), r)) {
        const headers = how === "s3" ? await sign("GET", s3Path) : undefined;
        const t0 = performance.now();
        const got = await client.getStream(how === "s3" ? s3Path : nativePath, false, headers);
        const ms = performance.now() - t0;
        down[how].push(rate(ms));
        headersAfterMs[how].push(got.headersAt - t0);
        log(
          `  download ${how.padEnd(8)} round ${r + 1}: ${rate(ms).toFixed(1)} MiB/s (headers after ${(got.headersAt - t0).toFixed(1)} ms)`,
        );
        if (got.bytes !== size || got.contentLength !== size) {
          problems.push({
            section: "large",
            message: `${how} GET returned ${got.bytes} bytes (Content-Length ${got.contentLength}), expected ${size}`,
          });
        }
      }
    }
    const what = `${largeMiB} MiB`;
    const nativePut = "native PUT";
    return [
      row({
        id: "s3.get",
        what: `${what} GetObject, median of ${downloadRounds}`,
        unit: "MiB/s",
        digits: 1,
        edgefs: median(down.s3),
        baseline: median(down.native),
        baselineWhat: "native GET",
        ratioOf: "S3/native",
        target: { op: ">=", value: 0.95 },
        details: {
          samplesMiBps: down,
          medianHeadersAfterMs: {
            s3: median(headersAfterMs.s3),
            native: median(headersAfterMs.native),
          },
        },
      }),
      row({
        id: "s3.put.unsigned",
        what: `${what} PutObject, one request, Content-Length, UNSIGNED-PAYLOAD, median of ${uploadRounds}`,
        unit: "MiB/s",
        digits: 1,
        edgefs: median(up.unsigned),
        baseline: median(up.native),
        baselineWhat: nativePut,
        ratioOf: "S3/native",
        target: { op: ">=", value: 0.95 },
        details: { samplesMiBps: up },
      }),
      row({
        id: "s3.put.sha256",
        what: `${what} PutObject, one request, Content-Length, x-amz-content-sha256: <hex> (verified), median of ${uploadRounds}`,
        unit: "MiB/s",
        digits: 1,
        edgefs: median(up.sha256),
        baseline: median(up.native),
        baselineWhat: nativePut,
        ratioOf: "S3/native",
        target: { op: ">=", value: 0.95 },
      }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------ (3) small files

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @param {Server} server
 * @returns {Promise<Row[]>}
 */
async function benchSmall(client, problems, server) {
  const { smallFiles: n, smallBytes, smallClients: clients, smallRounds: rounds } = config;
  const sign = s3Signer(server);
  const share = "s3-small";
  log(`\n(3) ${int(n)} × ${smallBytes / 1024} KiB files, ${clients} clients, ${rounds} rounds`);
  await client.createShare(share);
  const data = Array.from({ length: n }, () => randomFillSync(new Uint8Array(smallBytes)));
  /** @param {number} i */
  const bytesOf = (i) => /** @type {Uint8Array<ArrayBuffer>} */ (data[i]);
  const hashes = data.map((d) => createHash("sha256").update(d).digest("hex"));
  /** @param {string} dir @param {number} i */
  const s3Path = (dir, i) => `/${share}/${dir}/${name(i)}`;
  /** @type {Record<"native" | "s3", number[]>} */
  const rate = { native: [], s3: [] };
  for (let r = 0; r < rounds; r++) {
    for (const how of rotate(/** @type {const} */ (["native", "s3"]), r)) {
      const dir = `${how}-${r}`;
      // Signed before the clock starts (x-amz-date stays well inside S3's 15 minutes).
      const signed =
        how === "s3"
          ? await Promise.all(
              data.map((_, i) =>
                sign("PUT", s3Path(dir, i), {
                  "x-amz-content-sha256": /** @type {string} */ (hashes[i]),
                }),
              ),
            )
          : [];
      const t0 = performance.now();
      if (how === "native") {
        await pool(n, clients, (i) =>
          client.putBytes(client.fileUrl(share, `${dir}/${name(i)}`), bytesOf(i), [201]),
        );
      } else {
        await pool(n, clients, async (i) => {
          const headers = /** @type {Record<string, string>} */ (signed[i]);
          const res = await s3Fetch(server, "PUT", s3Path(dir, i), headers, [200], bytesOf(i));
          await res.arrayBuffer();
        });
      }
      const perSecond = n / ((performance.now() - t0) / 1000);
      rate[how].push(perSecond);
      log(`  create ${how.padEnd(6)} round ${r + 1}: ${int(perSecond)} files/s`);
    }
  }
  // What was written is what was sent (untimed): one file per round of each, and the counts.
  for (let r = 0; r < rounds; r++) {
    for (const how of ["native", "s3"]) {
      const i = (r * 337) % n;
      const got = await client.getBytes(client.fileUrl(share, `${how}-${r}/${name(i)}`));
      if (!Buffer.from(got).equals(bytesOf(i))) {
        problems.push({
          section: "small",
          message: `${how}-${r}/${name(i)} reads back different bytes`,
        });
      }
      const page = /** @type {{ entries: unknown[] }} */ (
        await client.getJson(`/v1/shares/${share}/list/${how}-${r}?limit=1000`)
      );
      if (page.entries.length !== n) {
        problems.push({
          section: "small",
          message: `${how}-${r} lists ${page.entries.length} entries, expected ${n}`,
        });
      }
    }
  }
  return [
    row({
      id: "s3.small.put",
      what: `${int(n)} × ${smallBytes / 1024} KiB PutObject (hashed payloads), ${clients} clients, median of ${rounds}`,
      unit: "files/s",
      digits: 0,
      edgefs: median(rate.s3),
      baseline: median(rate.native),
      baselineWhat: `${int(n)} native PUTs, ${clients} clients`,
      ratioOf: "S3/native",
      target: { op: ">=", value: 0.9 },
      details: { samplesFilesPerSecond: rate },
    }),
  ];
}

// ---------------------------------------------------------------- (4) listing

/** @param {string} s the text of an XML element */
const unescapeXml = (s) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");

/**
 * @param {Client} client
 * @param {Problem[]} problems
 * @param {Server} server
 * @returns {Promise<Row[]>}
 */
async function benchList(client, problems, server) {
  const { listKeys: n, pageSize, listRounds: rounds } = config;
  const sign = s3Signer(server);
  const share = "s3-list";
  log(`\n(4) listing ${int(n)} keys in pages of ${int(pageSize)}, ${rounds} rounds`);
  await client.createShare(share);
  const q = `dir=%2Fd&count=${n}&prefix=f&content=abc`;
  await (await client.request("POST", `/_dev/seed/${share}?${q}`, { expect: [200] })).arrayBuffer();
  const maxPages = Math.ceil(n / pageSize) + 5; // bounded even if a listing never ends

  /** The native recursive listing, paged: returns the entries and pages seen. */
  const native = async () => {
    let cursor = /** @type {string | undefined} */ (undefined);
    let count = 0;
    let pages = 0;
    do {
      const query = `recursive=true&limit=${pageSize}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = /** @type {{ entries: unknown[], cursor?: string }} */ (
        await client.getJson(`/v1/shares/${share}/list/d?${query}`)
      );
      count += page.entries.length;
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined && pages < maxPages);
    return { count, pages };
  };
  /** ListObjectsV2 of the prefix d/, following continuation tokens; each page signed as it goes. */
  const s3 = async () => {
    let token = /** @type {string | undefined} */ (undefined);
    let count = 0;
    let pages = 0;
    do {
      const query = `list-type=2&max-keys=${pageSize}&prefix=d%2F${token === undefined ? "" : `&continuation-token=${encodeURIComponent(token)}`}`;
      const path = `/${share}?${query}`;
      const res = await s3Fetch(server, "GET", path, await sign("GET", path), [200]);
      const xml = await res.text();
      count += xml.split("<Key>").length - 1;
      const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml);
      token =
        next && xml.includes("<IsTruncated>true</IsTruncated>")
          ? unescapeXml(next[1] ?? "")
          : undefined;
      pages++;
    } while (token !== undefined && pages < maxPages);
    return { count, pages };
  };

  /** @type {Record<"native" | "s3", number[]>} */
  const ms = { native: [], s3: [] };
  /** @type {Record<"native" | "s3", number>} */
  const pagesOf = { native: 0, s3: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const how of rotate(/** @type {const} */ (["native", "s3"]), r)) {
      const t0 = performance.now();
      const got = how === "native" ? await native() : await s3();
      ms[how].push(performance.now() - t0);
      pagesOf[how] = got.pages;
      log(
        `  list ${how.padEnd(6)} round ${r + 1}: ${(performance.now() - t0).toFixed(1)} ms, ${got.pages} pages`,
      );
      if (got.count !== n) {
        problems.push({
          section: "list",
          message: `${how} listed ${got.count} keys, expected ${n}`,
        });
      }
    }
  }
  // Where a listing's time goes: one page of 1 key (the fixed cost of a
  // request: routing, SigV4, the Durable Object call) and one first page of
  // 1,000 keys, each side signed (S3) before its clock starts, interleaved.
  /** @type {Record<"one" | "full", Record<"native" | "s3", number[]>>} */
  const page = { one: { native: [], s3: [] }, full: { native: [], s3: [] } };
  for (let r = 0; r < config.pageProbes; r++) {
    for (const size of /** @type {const} */ (["one", "full"])) {
      const limit = size === "one" ? 1 : pageSize;
      for (const how of rotate(/** @type {const} */ (["native", "s3"]), r)) {
        const path =
          how === "native"
            ? `/v1/shares/${share}/list/d?recursive=true&limit=${limit}`
            : `/${share}?list-type=2&max-keys=${limit}&prefix=d%2F`;
        const headers = how === "s3" ? await sign("GET", path) : undefined;
        const t0 = performance.now();
        const res =
          how === "s3"
            ? await s3Fetch(
                server,
                "GET",
                path,
                /** @type {Record<string, string>} */ (headers),
                [200],
              )
            : await client.request("GET", path, { expect: [200] });
        await res.arrayBuffer();
        page[size][how].push(performance.now() - t0);
      }
    }
  }
  log(
    `  one page: 1 key ${median(page.one.s3).toFixed(1)} vs ${median(page.one.native).toFixed(1)} ms, ` +
      `1,000 keys ${median(page.full.s3).toFixed(1)} vs ${median(page.full.native).toFixed(1)} ms (S3 vs native)`,
  );
  return [
    row({
      id: "s3.list.page1",
      what: `one ListObjectsV2 page of 1 key, median of ${config.pageProbes}`,
      unit: "ms",
      digits: 2,
      edgefs: median(page.one.s3),
      baseline: median(page.one.native),
      baselineWhat: "native list, limit 1",
      ratioOf: "S3/native (time)",
      target: null,
      details: { samplesMs: page.one },
    }),
    row({
      id: "s3.list.page1000",
      what: `one ListObjectsV2 page of 1,000 keys, median of ${config.pageProbes}`,
      unit: "ms",
      digits: 2,
      edgefs: median(page.full.s3),
      baseline: median(page.full.native),
      baselineWhat: "native list, limit 1,000",
      ratioOf: "S3/native (time)",
      target: null,
      details: { samplesMs: page.full },
    }),
    row({
      id: "s3.list",
      what: `ListObjectsV2 of ${int(n)} keys, every page of ${int(pageSize)} (${pagesOf.s3} requests), median of ${rounds}`,
      unit: "ms",
      digits: 1,
      edgefs: median(ms.s3),
      baseline: median(ms.native),
      baselineWhat: `native list ?recursive=true, limit ${int(pageSize)} (${pagesOf.native} requests)`,
      ratioOf: "S3/native (time)",
      target: { op: "<=", value: 1.2 },
      details: { samplesMs: ms },
    }),
  ];
}

// ------------------------------------------------------------------- main

const rows = await runBench({
  root,
  title: `edgefs S3 API benchmark: S3 operations against the native API${QUICK ? " (BENCH_QUICK=1)" : ""}`,
  vars: { EDGEFS_DEV_ROUTES: "1" },
  resultsFile: join(here, "results", QUICK ? "s3-quick.json" : "s3-latest.json"),
  config,
  sections: [
    ["large", benchLarge],
    ["small", benchSmall],
    ["list", benchList],
  ],
  footnote:
    "S3 requests are signed in Node with aws4fetch's AwsV4Signer (not the AWS SDK, whose own CPU cost would be measured), before the clock starts except the listing's pages, which each need the previous page's token.",
});
console.log("");
for (const r of rows) {
  if (!r.target) continue;
  const verdict = r.met === null ? "—" : r.met ? "PASS" : "MISS";
  console.log(
    `${verdict.padEnd(4)}  ${r.id}: ${r.ratio === null ? "—" : r.ratio.toFixed(2)} ${r.ratioOf}, target ${r.target.op === ">=" ? "≥" : "≤"} ${r.target.value}`,
  );
}
