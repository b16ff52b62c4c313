import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Edgefs, prngBytes, sha256, uniqueName } from "./helpers.js";

/**
 * A snapshot URL (`/dav/{env}/{share}@{snapshot}`) as rclone's WebDAV
 * backend reads it from the real `wrangler dev` of global-setup.ts
 * (docs/webdav.md "Snapshots").
 */
const run = promisify(execFile);
const edgefs = Edgefs.shared();
const share = uniqueName("davsnap");
let work: string;

beforeAll(async () => {
  await edgefs.createShare(share);
  work = mkdtempSync(join(tmpdir(), "edgefs-davsnap-"));
});

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await edgefs.deleteShare(share);
});

/** rclone with a WebDAV remote on `url`, configured through the environment only. */
async function rclone(url: string, ...args: string[]) {
  const { stdout: pass } = await run("rclone", ["obscure", edgefs.token]);
  return run("rclone", args, {
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
    encoding: "buffer",
    env: {
      ...process.env,
      RCLONE_CONFIG: join(work, "rclone.conf"),
      RCLONE_CONFIG_SNAP_TYPE: "webdav",
      RCLONE_CONFIG_SNAP_URL: url,
      RCLONE_CONFIG_SNAP_VENDOR: "other",
      RCLONE_CONFIG_SNAP_USER: "rclone",
      RCLONE_CONFIG_SNAP_PASS: pass.trim(),
    },
  });
}

describe("rclone on a snapshot URL", () => {
  it("lists and reads the tree as it was, after the live share changed", async () => {
    const big = prngBytes(11, 300_000);
    expect((await edgefs.put(share, "/notes.txt", new TextEncoder().encode("v1\n"))).status).toBe(
      201,
    );
    expect((await edgefs.put(share, "/data/big.bin", big)).status).toBe(201);
    const snap = await edgefs.json(`/v1/shares/${share}/snapshots`, {
      method: "POST",
      body: JSON.stringify({ name: "nightly" }),
    });
    expect(snap.status).toBe(201);
    await edgefs.put(share, "/notes.txt", new TextEncoder().encode("v2, changed\n"));
    await edgefs.put(share, "/later.txt", new TextEncoder().encode("not in the snapshot\n"));
    const gone = await edgefs.fetch(edgefs.route(share, "files", "/data/big.bin"), {
      method: "DELETE",
    });
    expect(gone.status).toBe(204);

    const url = `${edgefs.url}/dav/main/${share}@nightly`;
    const listed = (await rclone(url, "lsf", "-R", "snap:")).stdout.toString();
    expect(listed.trim().split("\n").sort()).toEqual(["data/", "data/big.bin", "notes.txt"]);
    expect((await rclone(url, "cat", "snap:notes.txt")).stdout.toString()).toBe("v1\n");
    expect(sha256((await rclone(url, "cat", "snap:data/big.bin")).stdout)).toBe(sha256(big));
    // Writing through the snapshot URL fails, and the live share keeps its bytes.
    await expect(rclone(url, "deletefile", "snap:notes.txt")).rejects.toThrow();
    expect(new TextDecoder().decode((await edgefs.get(share, "/notes.txt")).bytes)).toBe(
      "v2, changed\n",
    );
  });
});
