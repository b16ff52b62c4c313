import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startServer, stopGroup } from "../../scripts/dev-server.mjs";
import { Edgefs, INLINE_MAX, KiB, prngBytes, sha256, sleep, uniqueName } from "./helpers.js";

/**
 * `edgefs serve` as a user of the installed package runs it: the built bin
 * (dist/cli + the Worker bundled into dist/worker by `npm run build`) as a
 * subprocess in its own process group, on a free loopback port.
 */
const bin = resolve(import.meta.dirname, "../../bin/edgefs.mjs");

interface Served {
  url: string;
  pid: number;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM to the group; resolves with the exit code (SIGKILL after 15 s, then fails). */
  stop: () => Promise<number | null>;
}

const running = new Set<Served>();
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "edgefs-serve-"));
  dirs.push(dir);
  return dir;
}

/** The environment without any EDGEFS_* or PORT of the caller's, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("EDGEFS_") && k !== "PORT") env[k] = v;
  }
  return { ...env, EDGEFS_LOG_LEVEL: "error", ...extra };
}

/** The process group is gone (workerd included) when signal 0 to it fails. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function serve(dataDir: string, env: Record<string, string>): Promise<Served> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [bin, "serve", "--port", String(port), "--data", dataDir, "--host", "127.0.0.1"],
    { detached: true, stdio: ["ignore", "pipe", "pipe"], env: cleanEnv(env) },
  );
  const pid = child.pid as number;
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    err += s;
  });
  const url = `http://127.0.0.1:${port}`;

  const served: Served = {
    url,
    pid,
    child,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      const { code, killed } = await stopGroup(child, { graceMs: 15_000 });
      running.delete(served);
      if (killed) throw new Error(`edgefs serve ignored SIGTERM for 15 s\n${err}`);
      return code;
    },
  };
  running.add(served);

  // Bounded wait: /healthz answers 200 and the banner is out, within 60 s.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`edgefs serve exited early with ${child.exitCode}\n${out}\n${err}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.ok && out.includes("edgefs is running at")) return served;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await served.stop().catch(() => undefined);
  throw new Error(`edgefs serve was not ready within 60 s\n${out}\n${err}`);
}

afterAll(async () => {
  for (const s of [...running]) await s.stop().catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("edgefs serve", () => {
  const token = `serve-${Math.random().toString(36).slice(2)}`;
  const small = prngBytes(1, 3 * KiB);
  const large = prngBytes(2, INLINE_MAX + 100 * KiB); // bigger than inline: goes to R2
  const share = uniqueName("serve");
  let dataDir: string;
  let shareId: string;

  it("serves the bundled Worker: share, small and large files byte-identical, the web browser", async () => {
    dataDir = tempDir();
    // EDGEFS_DEV_ROUTES is one of the passed-through settings: /_dev answers only with it.
    const server = await serve(dataDir, { EDGEFS_ROOT_TOKEN: token, EDGEFS_DEV_ROUTES: "1" });
    expect(server.stdout()).toContain(`edgefs is running at ${server.url}`);
    // The operator's own token is not echoed into the terminal or a log.
    expect(server.stdout()).toContain("root token: from EDGEFS_ROOT_TOKEN\n");
    expect(server.stdout()).toContain(
      `export EDGEFS_URL=${server.url} EDGEFS_TOKEN="$EDGEFS_ROOT_TOKEN"`,
    );
    expect(server.stdout() + server.stderr()).not.toContain(token);
    expect(existsSync(join(dataDir, "root-token"))).toBe(false);
    expect(statSync(join(dataDir, "signing-key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "secrets-key")).mode & 0o777).toBe(0o600);

    const api = new Edgefs(server.url, token);
    const denied = await new Edgefs(server.url, "wrong").fetch(`/v1/shares/${share}`);
    await denied.arrayBuffer();
    expect(denied.status).toBe(401);

    shareId = (await api.createShare(share)).id;
    expect((await api.put(share, "small.bin", small)).status).toBe(201);
    expect((await api.put(share, "dir/large.bin", large)).status).toBe(201);

    const a = await api.get(share, "small.bin");
    expect(a.status).toBe(200);
    expect(sha256(a.bytes)).toBe(sha256(small));
    const b = await api.get(share, "dir/large.bin");
    expect(b.status).toBe(200);
    expect(b.bytes.byteLength).toBe(large.byteLength);
    expect(sha256(b.bytes)).toBe(sha256(large));
    expect(await api.r2Count(shareId)).toBe(1);

    // The web file browser comes with the bundle: its page and its script.
    const page = await fetch(`${server.url}/`, { headers: { accept: "text/html" } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const script = /src="(\/_app\/app-[0-9a-f]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${server.url}${script}`);
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(1000);

    // SIGTERM: exits 0, workerd goes with it, and the port is free again.
    expect(await server.stop()).toBe(0);
    for (let i = 0; i < 50 && groupAlive(server.pid); i++) await sleep(100);
    expect(groupAlive(server.pid)).toBe(false);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("keeps shares and files in the data dir across restarts", async () => {
    expect(dataDir).toBeDefined();
    expect(existsSync(join(dataDir, "state", "v3", "do"))).toBe(true);
    expect(existsSync(join(dataDir, "state", "v3", "r2"))).toBe(true);
    const server = await serve(dataDir, { EDGEFS_ROOT_TOKEN: token });
    const api = new Edgefs(server.url, token);
    const a = await api.get(share, "small.bin");
    expect(a.status).toBe(200);
    expect(sha256(a.bytes)).toBe(sha256(small));
    const b = await api.get(share, "dir/large.bin");
    expect(b.status).toBe(200);
    expect(sha256(b.bytes)).toBe(sha256(large));
    // Without EDGEFS_DEV_ROUTES the default vars apply again: no /_dev routes.
    const dev = await api.fetch(`/_dev/r2-count?prefix=blobs/${shareId}/`);
    await dev.arrayBuffer();
    expect(dev.status).not.toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it("shares its data dir layout with `npm start` (wrangler dev --persist-to)", async () => {
    expect(dataDir).toBeDefined();
    const server = await startServer({ dataDir, token });
    try {
      const api = new Edgefs(server.url, token);
      const b = await api.get(share, "dir/large.bin");
      expect(b.status).toBe(200);
      expect(sha256(b.bytes)).toBe(sha256(large));
    } finally {
      await server.stop();
    }
  });

  it("generates a root token into <data>/root-token (mode 0600), prints it, and reuses it", async () => {
    const dir = tempDir();
    const server = await serve(dir, {});
    const file = join(dir, "root-token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const generated = readFileSync(file, "utf8").trim();
    expect(generated).toMatch(/^efs_[A-Za-z0-9_-]{32}$/);
    expect(server.stdout()).toContain(`root token: ${generated}   (from ${file} (new))`);
    expect(server.stdout()).toContain(`EDGEFS_TOKEN=${generated}`);

    const name = uniqueName("gen");
    expect((await new Edgefs(server.url, generated).createShare(name)).name).toBe(name);
    expect(await server.stop()).toBe(0);

    const again = await serve(dir, {});
    expect(again.stdout()).toContain(`root token: ${generated}   (from ${file})`);
    const res = await new Edgefs(again.url, generated).fetch(`/v1/shares/${name}`);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(await again.stop()).toBe(0);
  });

  it("npm start (scripts/start.mjs) prints a generated root token, never the operator's", async () => {
    const startScript = resolve(import.meta.dirname, "../../scripts/start.mjs");
    /** Runs start.mjs until its banner is out (60 s at most); answers what it printed. */
    const banner = async (dir: string, env: Record<string, string>): Promise<string> => {
      const port = await freePort();
      const child = spawn(process.execPath, [startScript], {
        detached: true, // its own process group: wrangler and workerd stop with it
        stdio: ["ignore", "pipe", "pipe"],
        env: cleanEnv({ ...env, PORT: String(port), EDGEFS_DATA_DIR: dir }),
      });
      let out = "";
      let err = "";
      child.stdout?.setEncoding("utf8").on("data", (s: string) => {
        out += s;
      });
      child.stderr?.setEncoding("utf8").on("data", (s: string) => {
        err += s;
      });
      try {
        for (let i = 0; i < 600 && !out.includes("curl -H"); i++) {
          if (child.exitCode !== null) throw new Error(`start.mjs exited early\n${out}\n${err}`);
          await sleep(100);
        }
        expect(out, err).toContain(`edgefs is running at http://127.0.0.1:${port}`);
        return out + err;
      } finally {
        const { killed } = await stopGroup(child, { graceMs: 15_000 });
        expect(killed).toBe(false);
      }
    };

    const supplied = `start-${Math.random().toString(36).slice(2)}`;
    const own = await banner(tempDir(), { EDGEFS_ROOT_TOKEN: supplied });
    expect(own).toContain("root token: from EDGEFS_ROOT_TOKEN\n");
    expect(own).toContain('EDGEFS_TOKEN="$EDGEFS_ROOT_TOKEN"');
    expect(own).not.toContain(supplied);

    const dir = tempDir();
    const generated = await banner(dir, {});
    const file = join(dir, "root-token");
    const token = readFileSync(file, "utf8").trim();
    expect(generated).toContain(`root token: ${token}   (from ${file} (new))`);
    expect(generated).toContain(`EDGEFS_TOKEN=${token}`);
  });

  it("rejects a bad --port with a usage error", async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [bin, "serve", "--port", "http", "--data", dir], {
      stdio: ["ignore", "ignore", "pipe"],
      env: cleanEnv({}),
    });
    let err = "";
    child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      err += s;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const code = await new Promise<number | null>((ok) => child.once("exit", ok));
    clearTimeout(timer);
    expect(code).toBe(2);
    expect(err).toContain("--port must be a port number");
  });
});
