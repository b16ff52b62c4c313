// The S3 API (docs/s3.md) through s3cmd 2.3 from Debian, path style over
// plain HTTP with SigV4 (the config file docs/s3.md shows), against the real
// `wrangler dev` of global-setup.ts: mb, put, ls, get, sync (s3cmd compares
// MD5s with ETags, so a second sync transfers nothing), del, rb, and a
// multipart put in 5 MiB chunks.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rootS3Secret } from "../../src/cli/banner.js";
import { Edgefs, KiB, MiB, prngBytes, sha256, treeOf, uniqueName } from "./helpers.js";

const run = promisify(execFile);
const edgefs = Edgefs.shared();
const bucket = uniqueName("s3cmd");
let work: string;

/** s3cmd with the test's config file; bounded at 2 minutes. */
async function s3cmd(...args: string[]): Promise<string> {
  const { stdout } = await run("s3cmd", ["-c", join(work, "s3cfg"), ...args], {
    timeout: 120_000,
    maxBuffer: 16 * MiB,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work },
    cwd: work,
  });
  return stdout;
}

/** A command that must fail: its stderr and stdout (s3cmd names the S3 code in them). */
async function s3cmdFails(...args: string[]): Promise<string> {
  try {
    await s3cmd(...args);
  } catch (e) {
    const { stdout, stderr } = e as { stdout: string; stderr: string };
    return `${stderr}\n${stdout}`;
  }
  throw new Error(`s3cmd ${args.join(" ")} succeeded; it should have failed`);
}

function local(rel: string, data: Uint8Array): string {
  const path = join(work, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "edgefs-s3cmd-"));
  const host = new URL(edgefs.url).host;
  writeFileSync(
    join(work, "s3cfg"),
    [
      "[default]",
      "access_key = EFROOT",
      `secret_key = ${rootS3Secret(edgefs.token)}`,
      `host_base = ${host}`,
      `host_bucket = ${host}`,
      "use_https = False",
      "signature_v2 = False",
      "bucket_location = us-east-1",
      "progress_meter = False",
      "socket_timeout = 60",
      "max_retries = 2",
      "",
    ].join("\n"),
  );
});

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await edgefs.deleteShare(bucket).catch(() => undefined);
});

describe("s3cmd", () => {
  it("mb makes the bucket; put, ls and get a file", async () => {
    await s3cmd("mb", `s3://${bucket}`);
    expect(await s3cmd("ls")).toContain(`s3://${bucket}`);
    const data = prngBytes(1, 10 * KiB);
    await s3cmd("put", local("one.bin", data), `s3://${bucket}/files/one.bin`);
    const listed = await s3cmd("ls", `s3://${bucket}/files/`);
    expect(listed).toMatch(new RegExp(`\\s${10 * KiB}\\s+s3://${bucket}/files/one\\.bin$`, "m"));
    const top = await s3cmd("ls", `s3://${bucket}/`);
    expect(top).toMatch(new RegExp(`DIR\\s+s3://${bucket}/files/$`, "m"));
    const back = join(work, "one.back");
    await s3cmd("get", `s3://${bucket}/files/one.bin`, back);
    expect(readFileSync(back)).toEqual(Buffer.from(data));
  });

  it("sync uploads a tree; a second sync transfers nothing (MD5s match the ETags)", async () => {
    const files: Record<string, Uint8Array> = {
      "a.txt": new TextEncoder().encode("a\n"),
      "sub/b.bin": prngBytes(2, 100 * KiB),
      "sub/deeper/c.bin": prngBytes(3, 3000),
      "spaced name/ünï.txt": new TextEncoder().encode("unicode\n"),
    };
    for (const [rel, data] of Object.entries(files)) local(join("tree", rel), data);
    const first = await s3cmd("sync", `${join(work, "tree")}/`, `s3://${bucket}/tree/`);
    expect(first.match(/^upload: /gm)).toHaveLength(Object.keys(files).length);
    const second = await s3cmd("sync", `${join(work, "tree")}/`, `s3://${bucket}/tree/`);
    expect(second).not.toMatch(/^upload: /m);
    // A changed file, same size: only the MD5 tells, and s3cmd sends just that one.
    writeFileSync(join(work, "tree/sub/deeper/c.bin"), prngBytes(4, 3000));
    const third = await s3cmd("sync", `${join(work, "tree")}/`, `s3://${bucket}/tree/`);
    expect(third.match(/^upload: .*$/gm)).toEqual([
      expect.stringContaining(`s3://${bucket}/tree/sub/deeper/c.bin`),
    ]);
    const down = join(work, "down");
    await s3cmd("sync", `s3://${bucket}/tree/`, `${down}/`);
    expect(treeOf(down)).toEqual(treeOf(join(work, "tree")));
  });

  it("put with --multipart-chunk-size-mb=5 of 12 MiB: three parts, got back intact", async () => {
    const data = prngBytes(5, 12 * MiB);
    await s3cmd(
      "put",
      "--multipart-chunk-size-mb=5",
      local("big.bin", data),
      `s3://${bucket}/big/12m.bin`,
    );
    const parts = [0, 5, 10].map((at) =>
      data.subarray(at * MiB, Math.min((at + 5) * MiB, data.length)),
    );
    const expected = createHash("md5")
      .update(Buffer.concat(parts.map((p) => createHash("md5").update(p).digest())))
      .digest("hex");
    expect((await edgefs.stat(bucket, "/big/12m.bin")).body.etag).toBe(`"${expected}-3"`);
    // s3cmd checks the download against the MD5 it stored in its metadata (s3cmd-attrs).
    const back = join(work, "big.back");
    await s3cmd("get", `s3://${bucket}/big/12m.bin`, back);
    expect(sha256(readFileSync(back))).toBe(sha256(data));
  });

  it("rb refuses a bucket with objects; del empties it and rb removes it", async () => {
    expect(await s3cmdFails("rb", `s3://${bucket}`)).toContain("BucketNotEmpty");
    await s3cmd("del", `s3://${bucket}/files/one.bin`);
    expect(await s3cmd("ls", `s3://${bucket}/files/`)).toBe("");
    await s3cmd("del", "--recursive", "--force", `s3://${bucket}/`);
    expect(await s3cmd("ls", "--recursive", `s3://${bucket}/`)).toBe("");
    await s3cmd("rb", `s3://${bucket}`);
    expect((await edgefs.json(`/v1/shares/${bucket}`)).status).toBe(404);
  });
});
