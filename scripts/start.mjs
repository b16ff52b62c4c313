#!/usr/bin/env node
// Starts edgefs locally: `wrangler dev` (workerd) with R2 and Durable Objects
// persisted on disk. Knobs (../shared/DESIGN.md §4): PORT (default 8787),
// EDGEFS_DATA_DIR (default .edgefs), EDGEFS_ROOT_TOKEN (default: generated on
// first start and kept in <data dir>/root-token), EDGEFS_SIGNING_KEY (likewise,
// in <data dir>/signing-key). Ready when GET /healthz answers 200. The other
// EDGEFS_* settings (docs/settings.md) are passed through to the Worker.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { banner } from "../src/cli/banner.ts";
import descriptor from "../src/config/settings.json" with { type: "json" };

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`edgefs: PORT must be a port number, got ${process.env.PORT}`);
  process.exit(2);
}
const dataDir = resolve(process.env.EDGEFS_DATA_DIR ?? join(root, ".edgefs"));
mkdirSync(dataDir, { recursive: true, mode: 0o700 });

/** The root token: from the environment, else the one kept in the data dir, else a new one. */
function rootToken() {
  if (process.env.EDGEFS_ROOT_TOKEN)
    return { token: process.env.EDGEFS_ROOT_TOKEN, from: "EDGEFS_ROOT_TOKEN" };
  const file = join(dataDir, "root-token");
  if (existsSync(file)) return { token: readFileSync(file, "utf8").trim(), from: file };
  const token = `efs_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, from: `${file} (new)` };
}
const { token, from } = rootToken();

/**
 * A generated secret (signing key, secrets key): from the environment, else
 * the one kept in the data dir, else a new one kept there (mode 0600).
 * @param {string} variable @param {string} fileName
 */
function localKey(variable, fileName) {
  if (process.env[variable]) return process.env[variable];
  const file = join(dataDir, fileName);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const key = randomBytes(32).toString("base64url");
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

// Secrets and tunables reach the Worker through an env file private to the
// data dir, not the command line, so the token never shows in `ps`.
const { settings } = descriptor;
const passThrough = settings
  .filter((s) => s.kind === "var" || s.kind === "rotation")
  .map((s) => s.name);
const envFile = join(dataDir, "worker.env");
const lines = [
  `EDGEFS_ROOT_TOKEN=${token}`,
  `EDGEFS_SIGNING_KEY=${localKey("EDGEFS_SIGNING_KEY", "signing-key")}`,
  `EDGEFS_SECRETS_KEY=${localKey("EDGEFS_SECRETS_KEY", "secrets-key")}`,
];
for (const name of passThrough) if (process.env[name]) lines.push(`${name}=${process.env[name]}`);
writeFileSync(envFile, `${lines.join("\n")}\n`, { mode: 0o600 });

// The web browser's bundle, rebuilt if its sources changed since the last build.
const web = spawnSync(process.execPath, [join(root, "scripts", "build-web.mjs"), "--if-stale"], {
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, EDGEFS_BUILD_QUIET: "1" },
});
if (web.status !== 0) {
  console.error("edgefs: the web browser's bundle did not build (scripts/build-web.mjs)");
  process.exit(1);
}

const wrangler = spawn(
  process.execPath,
  [
    join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
    "dev",
    "--config",
    join(root, "wrangler.jsonc"),
    "--persist-to",
    join(dataDir, "state"),
    "--env-file",
    envFile,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    "0",
    "--show-interactive-dev-session=false",
    "--log-level",
    process.env.EDGEFS_LOG_LEVEL ?? "warn",
  ],
  {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      XDG_CONFIG_HOME: join(dataDir, "config"),
    },
  },
);

const url = `http://127.0.0.1:${port}`;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopping = true;
    wrangler.kill("SIGTERM");
  });
}
wrangler.on("exit", (code, signal) => {
  process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0)));
});

// Wait for /healthz with a bounded number of tries, then say how to use it.
for (let i = 0; i < 600 && !stopping && wrangler.exitCode === null; i++) {
  try {
    const res = await fetch(`${url}/healthz`);
    if (res.ok) {
      console.log(banner(url, dataDir, token, from));
      break;
    }
  } catch {
    // not listening yet
  }
  await new Promise((r) => setTimeout(r, 200));
}
