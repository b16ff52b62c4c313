// One benchmark run from start to report: a throwaway `wrangler dev` from a
// snapshot of the working tree, the sections in order (a failed section is
// reported and the next one runs), then the markdown table, the load average
// and the JSON file. Targets are compared in report.mjs, never asserted.
import { Client } from "./http.mjs";
import {
  loadAverage,
  machine,
  machineLine,
  markdownTable,
  problemOf,
  writeJson,
} from "./report.mjs";
import { gitState, snapshot } from "./snapshot.mjs";
import { seconds } from "./stats.mjs";

/** @typedef {import("./report.mjs").Row} Row */
/** @typedef {import("./report.mjs").Problem} Problem */
/** @typedef {(client: Client, problems: Problem[], server: { url: string, token: string }) => Promise<Row[]>} Section */

/**
 * Runs `fn` against a throwaway `wrangler dev` built from a snapshot of the
 * working tree (so edits during a run do not restart it), then stops the
 * server, also on Ctrl-C (it runs in its own process group).
 * @param {string} root the repository root
 * @param {Record<string, string>} vars the server's environment
 * @param {(client: Client, server: { url: string, token: string }) => Promise<void>} fn
 */
export async function withServer(root, vars, fn) {
  const started = performance.now();
  log("starting wrangler dev on a snapshot of the working tree …");
  const source = await snapshot(root);
  /** @type {Awaited<ReturnType<typeof source.startServer>>} */
  let server;
  try {
    server = await source.startServer({ vars });
  } catch (e) {
    source.remove();
    throw e;
  }
  const onSignal = () => {
    log("interrupted: stopping the server");
    server
      .stop()
      .finally(source.remove)
      .finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const client = new Client(server.url, server.token);
  try {
    log(`server ${server.url} ready after ${seconds(performance.now() - started)}`);
    await fn(client, server);
  } finally {
    client.close();
    await server.stop();
    source.remove();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** @param {string} s */
export const log = (s) => process.stderr.write(`${s}\n`);

/**
 * @param {{
 *   root: string,
 *   title: string,
 *   vars: Record<string, string>,
 *   resultsFile: string,
 *   config: Record<string, unknown>,
 *   sections: [string, Section][],
 *   footnote?: string,
 * }} run
 */
export async function runBench(run) {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const m = machine(run.root);
  const git = gitState(run.root);
  const loadAtStart = loadAverage();
  console.log(`# ${run.title}\n`);
  console.log(`machine: ${machineLine(m)}`);
  console.log(`code:    ${git.commit.slice(0, 12)}${git.dirty ? " + uncommitted changes" : ""}\n`);

  /** @type {Row[]} */
  const rows = [];
  /** @type {Problem[]} */
  const problems = [];
  /** @type {string[]} */
  const failedSections = [];
  /** The 1-minute load average when each section started and ended. */
  /** @type {Record<string, { start: number, end: number, seconds: number }>} */
  const sectionLoad = {};

  await withServer(run.root, run.vars, async (client, server) => {
    for (const [section, fn] of run.sections) {
      const t0 = performance.now();
      const start = loadAverage();
      try {
        rows.push(...(await fn(client, problems, server)));
      } catch (e) {
        failedSections.push(section);
        problems.push(problemOf(section, e));
        log(`section ${section} failed: ${e instanceof Error ? e.message : e}`);
      }
      const ms = performance.now() - t0;
      sectionLoad[section] = { start, end: loadAverage(), seconds: Math.round(ms / 100) / 10 };
      log(`section ${section}: ${seconds(ms)}`);
    }
  });

  const runtimeSeconds = Math.round((performance.now() - started) / 100) / 10;
  console.log(markdownTable(rows));
  console.log(
    `\nRatios compare edgefs with a baseline measured in the same run against the same server.${run.footnote ? ` ${run.footnote}` : ""}`,
  );
  const loadAtEnd = loadAverage();
  console.log(`\nruntime: ${runtimeSeconds} s`);
  console.log(
    `load average (1 min) at start ${loadAtStart}, at end ${loadAtEnd} on ${m.cores} cores ` +
      `(per section: ${Object.entries(sectionLoad)
        .map(([s, l]) => `${s} ${l.start}→${l.end}`)
        .join(", ")}): other processes on the machine compete with the server and the client.`,
  );
  if (problems.length > 0) {
    console.log(`\nproblems (${problems.length}):`);
    for (const p of problems) console.log(`- [${p.section}] ${p.message}`);
  }
  writeJson(run.resultsFile, {
    startedAt,
    runtimeSeconds,
    machine: m,
    git,
    loadAverage: { start: loadAtStart, end: loadAtEnd, sections: sectionLoad },
    config: run.config,
    results: rows,
    problems,
  });
  log(`\nwrote ${run.resultsFile}`);
  if (failedSections.length > 0) process.exitCode = 1;
  return rows;
}
