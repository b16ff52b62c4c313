// The sandbox flow: a process that knows nothing of edgefs writes with plain
// shell commands into a share mounted as a file system — `rclone mount` of the
// WebDAV front-end (docs/webdav.md) through FUSE — and the bytes it wrote are
// read back through the SDK (NetworkFileSystem and Volume), identical. The
// share is ephemeral and is gone once the handle is disposed.
//
// rclone with --vfs-cache-mode writes keeps a written file in its local cache
// and uploads it after close, in the background: unmounting does NOT wait for
// those uploads (a known rclone behaviour, rclone/rclone#7309), so a sandbox
// that unmounts right after its command would lose files. The flow therefore
// asks rclone's remote control (vfs/stats) until nothing is queued or
// uploading, then unmounts with fusermount3 and waits for rclone to exit.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, stopGroup } from "../../scripts/dev-server.mjs";
import { NetworkFileSystem, NotFoundError, Volume } from "../../src/client/index.js";
import { Edgefs, prngBytes, sha256, sleep, treeOf } from "./helpers.js";

const run = promisify(execFile);
const api = Edgefs.shared();
const options = { url: inject("edgefsUrl"), token: inject("edgefsToken") };

/**
 * Why FUSE cannot run here, or undefined if it can: Linux with /dev/fuse
 * readable and writable (containers need `--device /dev/fuse --cap-add SYS_ADMIN`).
 * In CI a missing FUSE fails the test instead of skipping it.
 */
function fuseUnavailable(): string | undefined {
  if (process.platform !== "linux") {
    return `FUSE mounts are tested on Linux only (fusermount3); this is ${process.platform}`;
  }
  try {
    accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
  } catch (e) {
    return `/dev/fuse is not usable (${(e as Error).message}): the kernel's FUSE device is not in this container`;
  }
  return undefined;
}
const unavailable = process.env.CI ? undefined : fuseUnavailable();
if (unavailable) console.warn(`fuse-sandbox skipped: ${unavailable}`);

/** What the sandboxed process runs, from its working directory (the mount). */
const SCRIPT = [
  "mkdir -p out/logs",
  "echo hello > out/a.txt",
  "seq 1 100000 > out/logs/n.txt",
  "cp out/a.txt out/b.txt",
  'cp "$INPUT/big.bin" out/big.bin',
  "echo appended >> out/b.txt",
  "echo temporary > out/tmp.txt && mv out/tmp.txt out/renamed.txt",
  "echo gone > out/gone.txt && rm out/gone.txt",
  "printf 'x%.0s' $(seq 1 70000) > 'out/with space.txt'",
].join(" && ");

/** Whether a FUSE file system is mounted at `dir` (per /proc/self/mounts). */
function mounted(dir: string): boolean {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[1] === dir);
}

/** The sandbox's process: plain sh with only PATH and the input dir in its environment. */
function sandbox(cwd: string, input: string) {
  return run("sh", ["-c", SCRIPT], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", INPUT: input },
    timeout: 60_000,
  });
}

let work: string;
let rclone: ChildProcess | undefined;
let rcloneLog = "";
let mountDir: string;

afterAll(async () => {
  if (mountDir && mounted(mountDir))
    await run("fusermount3", ["-uz", mountDir]).catch(() => undefined);
  if (rclone) await stopGroup(rclone, { graceMs: 5000 });
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "edgefs-fuse-"));
});

describe.skipIf(unavailable !== undefined)(
  "a shell in a sandbox writes through an rclone FUSE mount",
  () => {
    it("its files read back byte-identical through the SDK, and the ephemeral share is gone after", async () => {
      const input = join(work, "input");
      mkdirSync(input);
      writeFileSync(join(input, "big.bin"), prngBytes(7, 3 * 1024 * 1024 + 5));

      // What the same commands write on a local disk: the bytes to expect.
      const local = join(work, "local");
      mkdirSync(local);
      await sandbox(local, input);
      const expected = treeOf(local);
      expect(Object.keys(expected).sort()).toEqual(
        ["a.txt", "b.txt", "big.bin", "logs/n.txt", "renamed.txt", "with space.txt"].map(
          (p) => `out/${p}`,
        ),
      );

      const nfs = await NetworkFileSystem.ephemeral({ ...options, ttlSeconds: 300 });
      try {
        mountDir = join(work, "mnt");
        mkdirSync(mountDir);
        const rcPort = await freePort();
        rclone = spawn(
          "rclone",
          [
            "mount",
            ":webdav:",
            mountDir,
            "--vfs-cache-mode",
            "writes",
            "--cache-dir",
            join(work, "cache"),
            "--rc",
            "--rc-addr",
            `127.0.0.1:${rcPort}`,
            "--rc-no-auth",
            "-v",
          ],
          {
            detached: true, // its own process group, stopped as one
            stdio: ["ignore", "ignore", "pipe"],
            env: {
              ...process.env,
              RCLONE_CONFIG: join(work, "rclone.conf"),
              RCLONE_WEBDAV_URL: `${options.url}/dav/main/${nfs.name}/`,
              RCLONE_WEBDAV_VENDOR: "other",
              RCLONE_WEBDAV_BEARER_TOKEN: options.token,
            },
          },
        );
        rclone.stderr?.on("data", (d: Buffer) => {
          rcloneLog += d.toString("utf8");
        });
        const exited = new Promise<number | null>((r) => rclone?.once("exit", (code) => r(code)));

        // Bounded wait for the mount (20 s).
        for (let i = 0; i < 200 && !mounted(mountDir); i++) {
          if (rclone.exitCode !== null) break;
          await sleep(100);
        }
        expect(mounted(mountDir), `rclone did not mount:\n${rcloneLog}`).toBe(true);

        await sandbox(mountDir, input);

        // Wait until rclone has uploaded everything, then unmount. FUSE delivers a
        // file's RELEASE (where rclone queues its upload) after close(2) has
        // returned, so "nothing queued" counts only once it has held for a second
        // (bounded: 60 s).
        let idleSince: number | undefined;
        let stats: { uploadsInProgress: number; uploadsQueued: number } | undefined;
        for (let i = 0; i < 600; i++) {
          const res = await fetch(`http://127.0.0.1:${rcPort}/vfs/stats`, { method: "POST" });
          stats = ((await res.json()) as { diskCache: typeof stats }).diskCache;
          const idle = stats?.uploadsInProgress === 0 && stats.uploadsQueued === 0;
          idleSince = idle ? (idleSince ?? Date.now()) : undefined;
          if (idleSince !== undefined && Date.now() - idleSince >= 1000) break;
          await sleep(100);
        }
        expect(
          [stats?.uploadsInProgress, stats?.uploadsQueued],
          `rclone never finished uploading:\n${rcloneLog}`,
        ).toEqual([0, 0]);
        await run("fusermount3", ["-u", mountDir]);
        const code = await Promise.race([exited, sleep(30_000).then(() => "still running")]);
        expect(code, rcloneLog).toBe(0);
        expect(mounted(mountDir)).toBe(false);
        expect(rcloneLog).not.toMatch(/ERROR/);

        // The share holds exactly what the shell wrote, read through the SDK:
        // as a NetworkFileSystem, and as a Volume (reads at the version it pins, the latest now).
        const vol = Volume.fromName(nfs.name, options);
        for (const [what, fs] of [
          ["NetworkFileSystem", nfs],
          ["Volume", vol],
        ] as const) {
          const files = (await fs.listdir("/", { recursive: true })).filter(
            (e) => e.type === "file",
          );
          expect(files.map((e) => e.path).sort(), what).toEqual(Object.keys(expected).sort());
          for (const [path, hash] of Object.entries(expected)) {
            expect(sha256(await fs.readFile(`/${path}`).bytes()), `${what} ${path}`).toBe(hash);
          }
        }
        expect(await nfs.readFile("/out/b.txt").text()).toBe("hello\nappended\n");
      } finally {
        await nfs[Symbol.asyncDispose]();
      }

      // Disposed: the share is gone, for the API and for the SDK.
      const res = await api.fetch(`/v1/shares/${nfs.name}`);
      await res.arrayBuffer();
      expect(res.status).toBe(404);
      await expect(nfs.info()).rejects.toBeInstanceOf(NotFoundError);
    });
  },
);
