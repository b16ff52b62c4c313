// A throwaway S3 endpoint that verifies SigV4, for tests of src/s3/client.ts:
// `wrangler dev` on a minimal worker whose R2 binding has local_dev S3
// credentials (random per run) serves that bucket at
// http://127.0.0.1:PORT/cdn-cgi/local/r2/s3/<bucket> (see ../shared/TOOLCHAIN.md).
// It runs in its own process group so stop() ends wrangler and workerd together.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, stopGroup } from "../../scripts/dev-server.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const wranglerBin = join(root, "node_modules", "wrangler", "bin", "wrangler.js");

export interface S3Endpoint {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export async function startS3Endpoint(): Promise<S3Endpoint> {
  const dir = mkdtempSync(join(tmpdir(), "edgefs-s3-"));
  const bucket = "mount-test";
  const accessKeyId = randomBytes(10).toString("hex");
  const secretAccessKey = randomBytes(20).toString("hex");
  writeFileSync(join(dir, "worker.js"), 'export default { fetch: () => new Response("ok") };\n');
  writeFileSync(
    join(dir, "wrangler.json"),
    JSON.stringify({
      name: "s3-fixture",
      main: "worker.js",
      compatibility_date: "2026-11-09",
      r2_buckets: [
        {
          binding: "BUCKET",
          bucket_name: bucket,
          local_dev: { experimental_s3_credentials: { accessKeyId, secretAccessKey } },
        },
      ],
    }),
  );
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      wranglerBin,
      "dev",
      "--config",
      join(dir, "wrangler.json"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      join(dir, "state"),
    ],
    {
      cwd: dir,
      detached: true, // its own process group: stop() signals the whole group
      stdio: ["ignore", "ignore", process.env.S3_FIXTURE_VERBOSE ? "inherit" : "ignore"],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        XDG_CONFIG_HOME: join(dir, "config"),
      },
    },
  );
  const stop = async () => {
    await stopGroup(child);
    rmSync(dir, { recursive: true, force: true });
  };

  const endpoint = `http://127.0.0.1:${port}/cdn-cgi/local/r2/s3`;
  // Bounded wait (60 s): ready once the S3 route answers with an S3 XML error
  // (an unsigned request is refused, which proves the S3 handler is up).
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${endpoint}/${bucket}`);
      const text = await res.text();
      if (text.includes("<Error>")) return { endpoint, bucket, accessKeyId, secretAccessKey, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error("S3 endpoint (wrangler dev) did not become ready within 60 s");
}
