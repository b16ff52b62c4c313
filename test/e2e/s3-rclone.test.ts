// The S3 API (docs/s3.md) through rclone's S3 backend (rclone 1.60 from
// Debian, provider Other, path style), against the real `wrangler dev` of
// global-setup.ts: copy, check (MD5s against ETags, and rclone's md5chksum
// metadata for multipart files), sync, lsf, delete and rmdirs over a tree
// of ~200 files with a 12 MiB file rclone uploads in 5 MiB parts.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rootS3Secret } from "../../src/cli/banner.js";
import { Edgefs, KiB, MiB, prngBytes, sha256, treeOf, uniqueName } from "./helpers.js";

const run = promisify(execFile);
const edgefs = Edgefs.shared();
const bucket = uniqueName("rclone-s3");
let work: string;
let src: string;
const BIG_SEED = 12;

/**
 * rclone with an `edge:` S3 remote from the environment; bounded at 2
 * minutes, and by few retries (a failure shows at once, not after ten).
 */
async function rclone(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(
    "rclone",
    [
      ...args,
      "--s3-chunk-size",
      "5M",
      "--s3-upload-cutoff",
      "5M",
      "--retries",
      "1",
      "--low-level-retries",
      "2",
    ],
    {
      timeout: 120_000,
      maxBuffer: 16 * MiB,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: work,
        RCLONE_CONFIG: join(work, "rclone.conf"),
        RCLONE_CONFIG_EDGE_TYPE: "s3",
        RCLONE_CONFIG_EDGE_PROVIDER: "Other",
        RCLONE_CONFIG_EDGE_ACCESS_KEY_ID: "EFROOT",
        RCLONE_CONFIG_EDGE_SECRET_ACCESS_KEY: rootS3Secret(edgefs.token),
        RCLONE_CONFIG_EDGE_ENDPOINT: edgefs.url,
        RCLONE_CONFIG_EDGE_REGION: "auto",
        RCLONE_CONFIG_EDGE_FORCE_PATH_STYLE: "true",
      },
    },
  );
}

/** Writes a file of the source tree (parents made). */
function put(rel: string, data: Uint8Array): void {
  const path = join(src, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** The files of `tree` as `lsf -R --files-only` names them, sorted. */
const filesOf = (tree: Record<string, string>) => Object.keys(tree).sort();
const lines = (out: string) =>
  out
    .split("\n")
    .filter((l) => l !== "")
    .sort();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "edgefs-rclone-s3-"));
  src = join(work, "src");
  await edgefs.createShare(bucket);
  // ~200 files: 4 × 5 × 10 nested, some over the inline limit, a few odd names, one 12 MiB.
  let seed = 100;
  for (let a = 0; a < 4; a++)
    for (let b = 0; b < 5; b++)
      for (let c = 0; c < 10; c++) {
        const size = (a * 50 + b * 10 + c) % 17 === 0 ? 70 * KiB : 1 + ((seed * 37) % 3000);
        put(`d${a}/e${b}/f${c}.dat`, prngBytes(seed++, size));
      }
  put("top.txt", new TextEncoder().encode("top\n"));
  put("with space/ünï.txt", new TextEncoder().encode("unicode\n"));
  put("empty.txt", new Uint8Array(0));
  put("big/12m.bin", prngBytes(BIG_SEED, 12 * MiB));
});

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await edgefs.deleteShare(bucket).catch(() => undefined);
});

describe("rclone (S3 backend)", () => {
  // rclone reads back each object it uploaded with HEAD ?versionId=N, N the
  // x-amz-version-id its PUT was answered with. With parallel transfers the
  // bucket has moved on by then, while the object is still as it was at N.
  it("copy with parallel transfers: the read-back of each upload at its version id succeeds", async () => {
    const small = join(work, "small");
    for (let i = 0; i < 24; i++) {
      mkdirSync(join(small, `s${i % 3}`), { recursive: true });
      writeFileSync(join(small, `s${i % 3}`, `f${i}.txt`), `file ${i}\n`);
    }
    await rclone("copy", small, `edge:${bucket}/small`, "--transfers", "8");
    const { stderr } = await rclone("check", small, `edge:${bucket}/small`);
    expect(stderr).toContain("0 differences found");
  });

  // The rest skips that read-back (--s3-no-head), so it tests the other
  // operations whatever the case above finds.
  it("copy uploads the tree; check finds 0 differences; lsf -R lists it", async () => {
    await rclone("copy", src, `edge:${bucket}/tree`, "--transfers", "8", "--s3-no-head");
    const { stderr } = await rclone("check", src, `edge:${bucket}/tree`);
    expect(stderr).toContain("0 differences found");
    expect(stderr).not.toMatch(/hashes could not be checked/);
    const { stdout } = await rclone("lsf", "-R", "--files-only", `edge:${bucket}/tree`);
    expect(lines(stdout)).toEqual(filesOf(treeOf(src)));
    // The 12 MiB file went in 5 MiB parts: its ETag is S3's multipart one
    // (3 parts), and rclone's MD5 comes from the metadata it stored with it.
    const big = prngBytes(BIG_SEED, 12 * MiB);
    const head = await rclone("lsjson", "--hash", "--stat", `edge:${bucket}/tree/big/12m.bin`);
    expect(JSON.parse(head.stdout)).toMatchObject({
      Size: 12 * MiB,
      Hashes: { md5: createHash("md5").update(big).digest("hex") },
    });
    const etag = (await edgefs.stat(bucket, "/tree/big/12m.bin")).body.etag;
    expect(etag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const native = await edgefs.download(bucket, "/tree/big/12m.bin");
    expect(native.sha256).toBe(sha256(big));
  });

  it("sync brings the bucket to a changed tree: check finds 0 differences", async () => {
    rmSync(join(src, "d1"), { recursive: true });
    put("d0/e0/f0.dat", prngBytes(9000, 4321));
    put("new/dir/n.txt", new TextEncoder().encode("new\n"));
    await rclone("sync", src, `edge:${bucket}/tree`, "--transfers", "8", "--s3-no-head");
    const { stdout } = await rclone("lsf", "-R", "--files-only", `edge:${bucket}/tree`);
    expect(lines(stdout)).toEqual(filesOf(treeOf(src)));
    const dirs = await rclone("lsf", "-R", "--dirs-only", `edge:${bucket}/tree`);
    expect(lines(dirs.stdout)).not.toContain("d1/");
    const { stderr } = await rclone("check", src, `edge:${bucket}/tree`);
    expect(stderr).toContain("0 differences found");
  });

  // rclone's GETs carry (and sign) "Accept-Encoding: gzip", so that Go does
  // not decompress objects stored compressed; it then checks every file's MD5.
  it("sync back down is byte-identical", async () => {
    const down = join(work, "down");
    await rclone("sync", `edge:${bucket}/tree`, down, "--transfers", "8");
    expect(treeOf(down)).toEqual(treeOf(src));
  });

  it("delete removes the files; rmdirs leaves no directory behind", async () => {
    await rclone("delete", `edge:${bucket}/tree/d2`);
    const left = await rclone("lsf", "-R", `edge:${bucket}/tree/d2`).catch(() => ({ stdout: "" }));
    expect(left.stdout.trim()).toBe("");
    await rclone("rmdirs", `edge:${bucket}/tree`);
    const { stdout } = await rclone("lsf", "-R", "--dirs-only", `edge:${bucket}/tree`);
    expect(lines(stdout).filter((d) => d.startsWith("d2"))).toEqual([]);
    expect((await edgefs.stat(bucket, "/tree/d2")).status).toBe(404);
    // What is not under d2 is still there.
    const files = await rclone("lsf", "-R", "--files-only", `edge:${bucket}/tree`);
    const expected = filesOf(treeOf(src)).filter((f) => !f.startsWith("d2/"));
    expect(lines(files.stdout)).toEqual(expected);
  });
});
