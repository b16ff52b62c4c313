#!/usr/bin/env node
// Bundles the Worker into dist/worker/index.js (an ES module, with its source
// map) for `edgefs serve`, which runs it through Miniflare from the installed
// package. `wrangler deploy --dry-run` bundles exactly what a deploy would
// upload, without talking to Cloudflare. Next to it, dist/worker/worker.json
// carries what serve needs from wrangler.jsonc (compatibility date, vars,
// bindings), so wrangler.jsonc stays the one place they are written down.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "dist", "worker");
const configHome = mkdtempSync(join(tmpdir(), "edgefs-wrangler-"));

// A clean directory, so no stale module from an earlier build ships.
rmSync(outDir, { recursive: true, force: true });
const run = spawnSync(
  process.execPath,
  [
    join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
    "deploy",
    "--dry-run",
    "--config",
    join(root, "wrangler.jsonc"),
    "--outdir",
    outDir,
  ],
  {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      XDG_CONFIG_HOME: configHome,
      WRANGLER_LOG: process.env.WRANGLER_LOG ?? "warn",
    },
  },
);
rmSync(configHome, { recursive: true, force: true });

if (run.error) throw run.error;
if (run.status !== 0) {
  console.error(`build-worker: wrangler exited with ${run.status ?? run.signal}`);
  process.exit(1);
}
// wrangler writes <outdir>/index.js (plus index.js.map and a README.md); the
// CLI looks for exactly this file.
if (!existsSync(join(outDir, "index.js"))) {
  console.error(`build-worker: wrangler did not write ${join(outDir, "index.js")}`);
  process.exit(1);
}
// Only the bundle, its map and worker.json belong in the package.
rmSync(join(outDir, "README.md"), { force: true });

const { unstable_readConfig, unstable_getDurableObjectClassNameToUseSQLiteMap } = await import(
  "wrangler"
);
/**
 * The parts of wrangler's resolved config used here (wrangler's own types do
 * not resolve under this tsconfig).
 * @type {{
 *   name: string,
 *   compatibility_date: string,
 *   compatibility_flags: string[],
 *   vars: Record<string, unknown>,
 *   r2_buckets: { binding: string, bucket_name?: string }[],
 *   durable_objects: { bindings: { name: string, class_name: string }[] },
 *   migrations: unknown[],
 * }}
 */
const config = unstable_readConfig({ config: join(root, "wrangler.jsonc") });
/** @type {Map<string, boolean>} */
const useSQLite = unstable_getDurableObjectClassNameToUseSQLiteMap(config.migrations);
const worker = {
  name: config.name,
  compatibilityDate: config.compatibility_date,
  compatibilityFlags: config.compatibility_flags,
  vars: config.vars,
  r2Buckets: Object.fromEntries(
    config.r2_buckets.map((b) => [b.binding, b.bucket_name ?? b.binding]),
  ),
  durableObjects: Object.fromEntries(
    config.durable_objects.bindings.map((d) => [
      d.name,
      { className: d.class_name, useSQLite: useSQLite.get(d.class_name) ?? false },
    ]),
  ),
};
writeFileSync(join(outDir, "worker.json"), `${JSON.stringify(worker, null, 2)}\n`);
