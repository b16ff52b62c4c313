import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import descriptor from "../config/settings.json" with { type: "json" };
import { banner } from "./banner.js";
import { UsageError } from "./output.js";

/**
 * `edgefs serve`: the embedded default of docs/architecture.md "How it runs" from the
 * installed package, without the repository or wrangler. It runs the Worker
 * bundled into dist/worker/ by `npm run build` in workerd through Miniflare's
 * API, with the knobs of `npm start` (scripts/start.mjs): PORT, EDGEFS_DATA_DIR,
 * EDGEFS_ROOT_TOKEN / EDGEFS_SIGNING_KEY / EDGEFS_SECRETS_KEY (else generated
 * into the data dir, mode 0600), the other EDGEFS_* settings passed through.
 * R2 and Durable Objects persist under <data dir>/state in the layout of
 * `wrangler dev --persist-to <data dir>/state`, so `npm start` and
 * `edgefs serve` can take turns on one data dir.
 */

/** What scripts/build-worker.mjs writes to dist/worker/worker.json from wrangler.jsonc. */
interface WorkerConfig {
  name: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  r2Buckets: Record<string, string>;
  durableObjects: Record<string, { className: string; useSQLite: boolean }>;
}

/** Settings passed through from the environment, as scripts/start.mjs does (src/config/settings.json). */
const PASS_THROUGH = descriptor.settings
  .filter((s) => s.kind === "var" || s.kind === "rotation")
  .map((s) => s.name);

/** How long to wait for GET /healthz after the runtime is listening. */
const READY_TIMEOUT_MS = 60_000;

interface ServeOptions {
  port?: string;
  data?: string;
  host: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run the gateway locally (workerd through Miniflare), R2 and Durable Objects kept in the data dir",
    )
    .option("--port <n>", "port to listen on (default: $PORT or 8787)")
    .option("--data <dir>", "data directory (default: $EDGEFS_DATA_DIR or ./.edgefs)")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .action((o: ServeOptions) => serve(o));
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a port number, got ${value}`);
  }
  return port;
}

/** The root token: from the environment, else the one kept in the data dir, else a new one. */
function rootToken(dataDir: string): { token: string; from: string } {
  const fromEnv = process.env.EDGEFS_ROOT_TOKEN;
  if (fromEnv) return { token: fromEnv, from: "EDGEFS_ROOT_TOKEN" };
  const file = join(dataDir, "root-token");
  if (existsSync(file)) return { token: readFileSync(file, "utf8").trim(), from: file };
  const token = `efs_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, from: `${file} (new)` };
}

/** A generated secret: from the environment, else kept in the data dir, else a new one kept there (0600). */
function localKey(dataDir: string, variable: string, fileName: string): string {
  const fromEnv = process.env[variable];
  if (fromEnv) return fromEnv;
  const file = join(dataDir, fileName);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const key = randomBytes(32).toString("base64url");
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** The Miniflare log level for EDGEFS_LOG_LEVEL (the names of wrangler's --log-level). */
function logLevel(name: string | undefined): number {
  // Values of miniflare's LogLevel enum: NONE 0, ERROR 1, WARN 2, INFO 3, DEBUG 4.
  const levels: Record<string, number> = { none: 0, error: 1, warn: 2, info: 3, log: 3, debug: 4 };
  return levels[(name ?? "warn").toLowerCase()] ?? 2;
}

async function serve(o: ServeOptions): Promise<void> {
  const port = parsePort(o.port ?? process.env.PORT ?? "8787");
  const host = o.host;
  const dataDir = resolve(o.data ?? process.env.EDGEFS_DATA_DIR ?? ".edgefs");

  const scriptPath = fileURLToPath(new URL("../worker/index.js", import.meta.url));
  const configPath = fileURLToPath(new URL("../worker/worker.json", import.meta.url));
  if (!existsSync(scriptPath) || !existsSync(configPath)) {
    throw new Error(
      `the bundled Worker is missing (${scriptPath}); in a checkout, run \`npm run build\` first`,
    );
  }
  const worker = JSON.parse(readFileSync(configPath, "utf8")) as WorkerConfig;

  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { token, from } = rootToken(dataDir);
  const bindings: Record<string, string> = {
    ...worker.vars,
    EDGEFS_ROOT_TOKEN: token,
    EDGEFS_SIGNING_KEY: localKey(dataDir, "EDGEFS_SIGNING_KEY", "signing-key"),
    EDGEFS_SECRETS_KEY: localKey(dataDir, "EDGEFS_SECRETS_KEY", "secrets-key"),
  };
  for (const name of PASS_THROUGH) {
    const value = process.env[name];
    if (value) bindings[name] = value;
  }

  // Loaded here, not at the top: the other commands need not pay for it.
  const { Log, Miniflare, buildPublicUrl, convertV4MiniflareOptions } = await import("miniflare");
  const level = logLevel(process.env.EDGEFS_LOG_LEVEL);
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host,
      port,
      log: new Log(level),
      logRequests: level >= 3,
      // No fetch of Cloudflare's Request.cf sample from the internet.
      cf: false,
      // `wrangler dev --persist-to <dir>` keeps its data in <dir>/v3.
      resourcePersistencePath: join(dataDir, "state", "v3"),
      name: worker.name,
      scriptPath,
      modules: true,
      compatibilityDate: worker.compatibilityDate,
      compatibilityFlags: worker.compatibilityFlags,
      bindings,
      r2Buckets: worker.r2Buckets,
      durableObjects: worker.durableObjects,
      // Alarms (GC, expiry of pending writes and uploads) run as with wrangler dev.
      unsafeTriggerHandlers: true,
    }),
  );

  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((r) => {
    stopped = r;
  });
  /** Disposes Miniflare once; `quiet` when the error that made us stop is reported already. */
  const stop = (quiet = false) => {
    stopping ??= mf
      .dispose()
      .catch((e: unknown) => {
        if (quiet) return;
        process.stderr.write(`edgefs: stopping: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      })
      .finally(stopped);
    return stopping;
  };
  // A second signal while stopping: exit now (Miniflare's exit hook still ends workerd).
  const onSignal = () => (stopping ? process.exit(1) : void stop());
  // Miniflare's constructor hooks these signals to kill workerd and exit at
  // once with 128+n. Take them over: dispose (workerd stopped and awaited),
  // then return, exit code 0. Its "exit" hook stays, as the last resort.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
    process.on(signal, onSignal);
  }

  let url: string;
  try {
    const ready = await mf.ready;
    url = buildPublicUrl({ hostname: host, port: Number(ready.port) || port });
    await waitHealthy(url, () => stopping !== undefined);
  } catch (e) {
    const interrupted = stopping !== undefined;
    await stop(true);
    if (interrupted) return; // a signal during startup: not an error
    throw e;
  }

  if (stopping === undefined) {
    console.log(banner(url, dataDir, token, from));
  }
  await done;
  for (const signal of signals) process.removeListener(signal, onSignal);
}

/** Bounded wait until GET /healthz answers 200. */
async function waitHealthy(url: string, cancelled: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!cancelled()) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the gateway at ${url} did not answer /healthz within ${READY_TIMEOUT_MS / 1000} s`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
