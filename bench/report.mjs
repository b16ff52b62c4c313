// The benchmark's output: machine description, the markdown table and the
// JSON file. Targets are compared, never asserted: a missed target is
// reported as "no", and the run still succeeds.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { HttpError } from "./http.mjs";
import { fixed } from "./stats.mjs";

/**
 * @typedef {{ op: ">=" | "<=", value: number, informational?: boolean }} Target
 * @typedef {{
 *   id: string,
 *   what: string,
 *   unit: string,
 *   digits: number,
 *   edgefs: number,
 *   baseline: number | null,
 *   baselineWhat: string | null,
 *   ratio: number | null,
 *   ratioOf: string | null,
 *   target: Target | null,
 *   met: boolean | null,
 *   details?: Record<string, unknown>,
 * }} Row
 */

/**
 * A row with its ratio and verdict filled in.
 * @param {Omit<Row, "ratio" | "met">} row
 * @returns {Row}
 */
export function row(row) {
  const ratio = row.baseline === null || row.baseline === 0 ? null : row.edgefs / row.baseline;
  /** @type {boolean | null} */
  let met = null;
  if (row.target && ratio !== null && Number.isFinite(ratio)) {
    met = row.target.op === ">=" ? ratio >= row.target.value : ratio <= row.target.value;
  }
  return { ...row, ratio, met };
}

/** @param {string} root the repository root */
export function machine(root) {
  const cpus = os.cpus();
  /** @type {string | undefined} */
  let wrangler;
  try {
    const pkg = JSON.parse(readFileSync(`${root}/node_modules/wrangler/package.json`, "utf8"));
    wrangler = typeof pkg.version === "string" ? pkg.version : undefined;
  } catch {}
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    wrangler: wrangler ?? "unknown",
  };
}

/** @param {ReturnType<typeof machine>} m */
export function machineLine(m) {
  return `${m.cpu} · ${m.cores} cores · ${m.memoryGiB} GiB RAM · Node ${m.node} · ${m.os} · wrangler ${m.wrangler}`;
}

/** @param {Target | null} t */
function targetText(t) {
  if (!t) return "—";
  return `${t.op === ">=" ? "≥" : "≤"} ${t.value}${t.informational ? " (info)" : ""}`;
}

/** @param {boolean | null} met */
function metText(met) {
  if (met === null) return "—";
  return met ? "yes" : "**no**";
}

/**
 * The results as one markdown table.
 * @param {Row[]} rows
 */
export function markdownTable(rows) {
  const header = ["measurement", "edgefs", "baseline", "ratio", "target", "met"];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ];
  for (const r of rows) {
    const baseline =
      r.baseline === null ? "—" : `${fixed(r.baseline, r.digits)} ${r.unit} (${r.baselineWhat})`;
    const ratio = r.ratio === null ? "—" : `${fixed(r.ratio, 2)} (${r.ratioOf})`;
    lines.push(
      `| ${r.what} | ${fixed(r.edgefs, r.digits)} ${r.unit} | ${baseline} | ${ratio} | ${targetText(r.target)} | ${metText(r.met)} |`,
    );
  }
  return lines.join("\n");
}

/**
 * @param {string} file
 * @param {unknown} data
 */
export function writeJson(file, data) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** @typedef {{ section: string, message: string, request?: string, status?: number, body?: string }} Problem */

/** The 1-minute load average, to two decimals: every report states how busy the machine was. */
export const loadAverage = () => Math.round((os.loadavg()[0] ?? 0) * 100) / 100;

/**
 * What went wrong in a section, for the report: an HTTP failure with its
 * request and answer, anything else with its stack.
 * @param {string} section @param {unknown} e @returns {Problem}
 */
export function problemOf(section, e) {
  if (e instanceof HttpError) {
    return {
      section,
      message: e.message,
      request: `${e.method} ${e.url}`,
      status: e.status,
      body: e.body,
    };
  }
  return { section, message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}
