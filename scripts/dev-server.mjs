// Starts a throwaway edgefs (scripts/start.mjs → wrangler dev) for end-to-end
// tests and benchmarks: on a free loopback port, in its own process group so
// that stop() ends wrangler and workerd together (never by name).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** A port the OS says is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
      srv.close(() => ok(port));
    });
  });
}

/**
 * Stops a process started with `spawn(…, { detached: true })` together with
 * everything it started (wrangler's workerd): a signal to the whole process
 * group — never by name — then SIGKILL if the leader has not exited after
 * `graceMs`. Resolves with the leader's exit code and whether it was killed.
 * @param {import("node:child_process").ChildProcess} child
 * @param {{ signal?: NodeJS.Signals, graceMs?: number }} [options]
 * @returns {Promise<{ code: number | null, killed: boolean }>}
 */
export async function stopGroup(child, { signal = "SIGTERM", graceMs = 5000 } = {}) {
  const pid = /** @type {number} */ (child.pid);
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve(child.exitCode)
      : new Promise((ok) => child.once("exit", (code) => ok(code)));
  try {
    process.kill(-pid, signal);
  } catch {
    return { code: child.exitCode, killed: false }; // the group is already gone
  }
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }, graceMs);
  const code = /** @type {number | null} */ (await exited);
  clearTimeout(timer);
  return { code, killed };
}

/**
 * @param {{ dataDir?: string, port?: number, token?: string, vars?: Record<string, string>, quiet?: boolean }} [options]
 * @returns {Promise<{ url: string, token: string, dataDir: string, pid: number, stop: () => Promise<void>, kill: () => Promise<void> }>}
 */
export async function startServer(options = {}) {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "edgefs-"));
  const token = options.token ?? `test-${Math.random().toString(36).slice(2)}`;
  // freePort() frees the port it found before wrangler binds it, and another
  // process may take it in between ("Address already in use"): a server that
  // exits before it is ready on a port we picked is tried again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce({ ...options, dataDir, token }, options.dataDir === undefined);
    } catch (e) {
      const early = e instanceof Error && e.message.startsWith("edgefs exited early");
      if (!early || options.port !== undefined || attempt >= 3) throw e;
    }
  }
}

/**
 * @param {{ dataDir: string, port?: number, token: string, vars?: Record<string, string>, quiet?: boolean }} options
 * @param {boolean} ownDir
 * @returns {Promise<{ url: string, token: string, dataDir: string, pid: number, stop: () => Promise<void>, kill: () => Promise<void> }>}
 */
async function startOnce(options, ownDir) {
  const { dataDir, token } = options;
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    detached: true, // its own process group: stop() signals the whole group
    stdio: ["ignore", options.quiet === false ? "inherit" : "ignore", "inherit"],
    env: {
      ...process.env,
      ...options.vars,
      PORT: String(port),
      EDGEFS_DATA_DIR: dataDir,
      EDGEFS_ROOT_TOKEN: token,
      EDGEFS_LOG_LEVEL: "error",
    },
  });
  const pid = /** @type {number} */ (child.pid);
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    await stopGroup(child);
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const kill = async () => {
    await stopGroup(child, { signal: "SIGKILL" });
  };

  // Bounded wait for readiness: 60 s at most.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await stopGroup(child); // whatever of its group is left
      throw new Error(`edgefs exited early with ${child.exitCode}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return { url, token, dataDir, pid, stop, kill };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error("edgefs did not become ready within 60 s");
}
