// The benchmark runs the server from a copy of the working tree taken at
// start. `wrangler dev` rebuilds and restarts the Worker whenever a source
// file changes, which in a checkout that is being edited means requests
// failing with 503 "Your worker restarted mid-request" (or a failed build)
// in the middle of a measurement. A private copy keeps one run on one build.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** Top-level entries the server does not need (or that are large, or private). */
const SKIP = new Set([
  "node_modules",
  ".git",
  ".edgefs",
  ".wrangler",
  ".dev.vars",
  "bench",
  "test",
  "coverage",
  "dist",
]);

/**
 * Copies the repository (without node_modules, which is linked) to a temp
 * dir and loads the copy's scripts/dev-server.mjs, so the server it starts
 * builds from the copy.
 * @param {string} root the repository root
 */
export async function snapshot(root) {
  const dir = mkdtempSync(join(tmpdir(), "edgefs-bench-src-"));
  try {
    for (const entry of readdirSync(root)) {
      if (!SKIP.has(entry)) cpSync(join(root, entry), join(dir, entry), { recursive: true });
    }
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    /** @type {typeof import("../scripts/dev-server.mjs")} */
    const devServer = await import(pathToFileURL(join(dir, "scripts", "dev-server.mjs")).href);
    return {
      dir,
      startServer: devServer.startServer,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The commit and whether the files the server is built from differ from it.
 * @param {string} root
 */
export function gitState(root) {
  /** @param {string[]} args */
  const git = (args) =>
    execFileSync("git", ["-C", root, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  try {
    const commit = git(["rev-parse", "HEAD"]);
    const changed = git(["status", "--porcelain", "--", ".", ":(exclude)bench", ":(exclude)test"]);
    return { commit, dirty: changed.length > 0 };
  } catch {
    return { commit: "unknown", dirty: true };
  }
}
