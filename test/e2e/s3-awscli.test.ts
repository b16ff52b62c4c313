// The S3 API (docs/s3.md) against the aws cli from Debian (awscli 2.9,
// /usr/bin/aws: a pyenv shim may shadow `aws` on the PATH), talking to the
// real `wrangler dev` of global-setup.ts with the root key pair. The high
// level `aws s3` commands (mb, cp, ls, sync, rm, presign) and `aws s3api`
// calls made by hand (multipart step by step, metadata, ranges).
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
const bucket = uniqueName("awscli");
let work: string;

/** The cli's environment: the root pair, and no config or credentials of the machine's user. */
const awsEnv = () => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: work,
  AWS_ACCESS_KEY_ID: "EFROOT",
  AWS_SECRET_ACCESS_KEY: rootS3Secret(edgefs.token),
  AWS_REGION: "auto",
  AWS_CONFIG_FILE: join(work, "aws-config"),
  AWS_SHARED_CREDENTIALS_FILE: join(work, "aws-credentials"),
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_PAGER: "",
  AWS_MAX_ATTEMPTS: "2",
});

/** Runs /usr/bin/aws against the gateway; bounded at 2 minutes. */
async function aws(...args: string[]): Promise<string> {
  const { stdout } = await run("/usr/bin/aws", ["--endpoint-url", edgefs.url, ...args], {
    env: awsEnv(),
    timeout: 120_000,
    maxBuffer: 64 * MiB,
    cwd: work,
  });
  return stdout;
}

/** `aws s3api …` with JSON output, parsed. */
async function s3api<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const out = await aws("s3api", ...args, "--output", "json");
  return (out.trim() === "" ? {} : JSON.parse(out)) as T;
}

/** Runs a command that must fail; its stderr (where the cli names the S3 error code). */
async function awsFails(...args: string[]): Promise<string> {
  try {
    await aws(...args);
  } catch (e) {
    return (e as { stderr: string }).stderr;
  }
  throw new Error(`aws ${args.join(" ")} succeeded; it should have failed`);
}

const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex");

/** Writes a file under the work dir (parents made) and returns its path. */
function local(rel: string, data: Uint8Array): string {
  const path = join(work, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

/** S3's order: the UTF-8 byte order of whole keys. */
const byteOrder = (keys: string[]) =>
  [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

/** The keys `aws s3 ls --recursive` prints, in its order ("date time size key"). */
function lsKeys(out: string): string[] {
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const m = /^\S+ \S+\s+\d+ (.*)$/.exec(l);
      if (!m) throw new Error(`unexpected ls line: ${l}`);
      return m[1] as string;
    });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "edgefs-awscli-"));
});

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await edgefs.deleteShare(bucket).catch(() => undefined);
});

describe("aws s3", () => {
  it("mb makes a bucket that is a share, and ls lists it", async () => {
    expect(await aws("s3", "mb", `s3://${bucket}`)).toContain(`make_bucket: ${bucket}`);
    const share = await edgefs.json<{ name: string }>(`/v1/shares/${bucket}`);
    expect(share.status).toBe(200);
    expect(await aws("s3", "ls")).toMatch(new RegExp(`\\s${bucket}$`, "m"));
  });

  it("cp puts a small file and gets it back; its ETag is the MD5", async () => {
    const data = new TextEncoder().encode("hello from the aws cli\n");
    await aws(
      "s3",
      "cp",
      local("small.txt", data),
      `s3://${bucket}/docs/small.txt`,
      "--no-progress",
    );
    const back = join(work, "small.back");
    await aws("s3", "cp", `s3://${bucket}/docs/small.txt`, back, "--no-progress");
    expect(readFileSync(back)).toEqual(Buffer.from(data));
    const head = await s3api<{ ETag: string; ContentLength: number }>(
      "head-object",
      "--bucket",
      bucket,
      "--key",
      "docs/small.txt",
    );
    expect(head).toMatchObject({ ETag: `"${md5(data)}"`, ContentLength: data.length });
    // The same file through the native API.
    const native = await edgefs.get(bucket, "/docs/small.txt");
    expect(Buffer.from(native.bytes)).toEqual(Buffer.from(data));
  });

  it("cp of 20 MiB goes multipart (8 MiB parts: 3) and downloads byte-identical", async () => {
    const data = prngBytes(20, 20 * MiB);
    await aws("s3", "cp", local("big.bin", data), `s3://${bucket}/big/20m.bin`, "--no-progress");
    const head = await s3api<{ ETag: string; ContentLength: number }>(
      "head-object",
      "--bucket",
      bucket,
      "--key",
      "big/20m.bin",
    );
    // S3's multipart ETag: the MD5 of the parts' binary MD5s, "-" the part count.
    const parts = [0, 8, 16].map((at) =>
      data.subarray(at * MiB, Math.min((at + 8) * MiB, data.length)),
    );
    const expected = createHash("md5")
      .update(Buffer.concat(parts.map((p) => createHash("md5").update(p).digest())))
      .digest("hex");
    expect(head).toMatchObject({ ETag: `"${expected}-3"`, ContentLength: 20 * MiB });
    const back = join(work, "big.back");
    await aws("s3", "cp", `s3://${bucket}/big/20m.bin`, back, "--no-progress");
    expect(sha256(readFileSync(back))).toBe(sha256(data));
  });

  it("ls shows directories as PRE and files at one level; --recursive every key", async () => {
    const top = await aws("s3", "ls", `s3://${bucket}/`);
    const lines = top.split("\n").filter((l) => l.trim() !== "");
    expect(lines.map((l) => l.trim()).sort()).toEqual(["PRE big/", "PRE docs/"]);
    const inDocs = await aws("s3", "ls", `s3://${bucket}/docs/`);
    expect(lsKeys(inDocs)).toEqual(["small.txt"]);
    const all = lsKeys(await aws("s3", "ls", "--recursive", `s3://${bucket}`));
    expect(all).toEqual(["big/20m.bin", "docs/small.txt"]);
  });

  describe("sync of a tree with names that sort differently as paths and as keys", () => {
    // "a b/", "a-b/", "a.txt", "a/", "a0": space, "-" and "." sort before "/",
    // "0" after it, so a key listing and a directory walk disagree on order.
    // (A file "a" beside a directory "a/" cannot exist on a disk or in edgefs:
    // the directory "a/" stands in for it.)
    const files: Record<string, Uint8Array> = {
      "a.txt": new TextEncoder().encode("a dot txt\n"),
      "a-b/x": prngBytes(1, 1000),
      "a b/y": prngBytes(2, 2000),
      "a/b/c": prngBytes(3, 3000),
      "a/b/big.bin": prngBytes(4, 200 * KiB),
      a0: new Uint8Array(0),
      "ab/z": prngBytes(5, 500),
      "ünïcødé/çà.txt": new TextEncoder().encode("accents\n"),
      "日本/語.bin": prngBytes(6, 70 * KiB),
    };
    let src: string;
    let down: string;

    it("up and down: the listing is the tree in key order, the bytes identical", async () => {
      src = join(work, "sync-src");
      for (const [rel, data] of Object.entries(files)) local(join("sync-src", rel), data);
      await aws("s3", "sync", src, `s3://${bucket}/tree/`, "--no-progress");
      const listed = lsKeys(await aws("s3", "ls", "--recursive", `s3://${bucket}/tree/`));
      expect(listed).toEqual(byteOrder(Object.keys(files).map((k) => `tree/${k}`)));
      down = join(work, "sync-down");
      await aws("s3", "sync", `s3://${bucket}/tree/`, down, "--no-progress");
      expect(treeOf(down)).toEqual(treeOf(src));
    });

    it("a second sync --delete, either way, transfers nothing", async () => {
      expect(
        (await aws("s3", "sync", "--delete", src, `s3://${bucket}/tree/`, "--no-progress")).trim(),
      ).toBe("");
      expect(
        (await aws("s3", "sync", "--delete", `s3://${bucket}/tree/`, down, "--no-progress")).trim(),
      ).toBe("");
    });

    it("a sync --delete after a change uploads the changed file and deletes the removed one", async () => {
      writeFileSync(join(src, "a-b/x"), prngBytes(7, 1500));
      rmSync(join(src, "a b/y"));
      const out = await aws("s3", "sync", "--delete", src, `s3://${bucket}/tree/`, "--no-progress");
      const actions = out
        .trim()
        .split("\n")
        .map((l) => l.split(":")[0])
        .sort();
      expect(actions, out).toEqual(["delete", "upload"]);
      expect(out).toContain(`s3://${bucket}/tree/a-b/x`);
      expect(out).toContain(`s3://${bucket}/tree/a b/y`);
      // The prefix "a b/" went with its last object.
      const top = await aws("s3", "ls", `s3://${bucket}/tree/`);
      expect(top).not.toContain("PRE a b/");
      await aws("s3", "sync", "--delete", `s3://${bucket}/tree/`, down, "--no-progress");
      expect(treeOf(down)).toEqual(treeOf(src));
    });

    it("rm --recursive removes every key and the directories with them", async () => {
      const out = await aws("s3", "rm", "--recursive", `s3://${bucket}/tree/`);
      expect(out.trim().split("\n")).toHaveLength(Object.keys(files).length - 1);
      const left = await s3api<{ KeyCount: number }>(
        "list-objects-v2",
        "--bucket",
        bucket,
        "--prefix",
        "tree/",
      );
      expect(left.KeyCount ?? 0).toBe(0);
      expect((await edgefs.stat(bucket, "/tree")).status).toBe(404);
    });
  });

  it("presign makes a URL that plain fetch reads; a tampered one is refused with 403", async () => {
    const data = prngBytes(8, 3000);
    await aws(
      "s3",
      "cp",
      local("presigned.bin", data),
      `s3://${bucket}/share/p.bin`,
      "--no-progress",
    );
    const url = (
      await aws("s3", "presign", `s3://${bucket}/share/p.bin`, "--expires-in", "300")
    ).trim();
    expect(url).toContain("X-Amz-Signature=");
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from(data));

    const signature = /X-Amz-Signature=([0-9a-f]+)/.exec(url)?.[1] as string;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;
    const tampered = [
      url.replace(signature, flipped),
      url.replace("/share/p.bin", "/share/q.bin"),
      url.replace("X-Amz-Expires=300", "X-Amz-Expires=600"),
    ];
    for (const bad of tampered) {
      const refused = await fetch(bad, { signal: AbortSignal.timeout(30_000) });
      const body = await refused.text();
      expect(refused.status, bad).toBe(403);
      expect(body).toContain("<Code>SignatureDoesNotMatch</Code>");
    }
  });
});

describe("aws s3api", () => {
  it("a multipart upload by hand: parts, list-parts, list-multipart-uploads, complete → ETag …-3", async () => {
    const key = "mp/hand.bin";
    const partData = [prngBytes(11, 5 * MiB), prngBytes(12, 5 * MiB), prngBytes(13, 1234)];
    const { UploadId } = await s3api<{ UploadId: string }>(
      "create-multipart-upload",
      "--bucket",
      bucket,
      "--key",
      key,
    );
    expect(UploadId).toBeTruthy();
    const etags: string[] = [];
    for (const [i, data] of partData.entries()) {
      const part = await s3api<{ ETag: string }>(
        "upload-part",
        "--bucket",
        bucket,
        "--key",
        key,
        "--upload-id",
        UploadId,
        "--part-number",
        String(i + 1),
        "--body",
        local(`part${i + 1}.bin`, data),
      );
      expect(part.ETag).toBe(`"${md5(data)}"`);
      etags.push(part.ETag);
    }
    const listed = await s3api<{ Parts: { PartNumber: number; Size: number; ETag: string }[] }>(
      "list-parts",
      "--bucket",
      bucket,
      "--key",
      key,
      "--upload-id",
      UploadId,
    );
    expect(listed.Parts.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, 5 * MiB, etags[0]],
      [2, 5 * MiB, etags[1]],
      [3, 1234, etags[2]],
    ]);
    const open = await s3api<{ Uploads?: { Key: string; UploadId: string }[] }>(
      "list-multipart-uploads",
      "--bucket",
      bucket,
    );
    expect(open.Uploads?.map((u) => [u.Key, u.UploadId])).toContainEqual([key, UploadId]);

    const partsFile = local(
      "parts.json",
      new TextEncoder().encode(
        JSON.stringify({ Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) }),
      ),
    );
    const done = await s3api<{ ETag: string; Key: string }>(
      "complete-multipart-upload",
      "--bucket",
      bucket,
      "--key",
      key,
      "--upload-id",
      UploadId,
      "--multipart-upload",
      `file://${partsFile}`,
    );
    const expected = createHash("md5")
      .update(Buffer.concat(partData.map((p) => createHash("md5").update(p).digest())))
      .digest("hex");
    expect(done.ETag).toBe(`"${expected}-3"`);
    expect(done.Key).toBe(key);
    const back = join(work, "hand.back");
    const got = await s3api<{ ETag: string; ContentLength: number }>(
      "get-object",
      "--bucket",
      bucket,
      "--key",
      key,
      back,
    );
    expect(got).toMatchObject({ ETag: done.ETag, ContentLength: 10 * MiB + 1234 });
    expect(sha256(readFileSync(back))).toBe(sha256(Buffer.concat(partData)));
    const after = await s3api<{ Uploads?: { UploadId: string }[] }>(
      "list-multipart-uploads",
      "--bucket",
      bucket,
    );
    expect((after.Uploads ?? []).map((u) => u.UploadId)).not.toContain(UploadId);
  });

  it("an aborted multipart upload leaves no object and no open upload", async () => {
    const key = "mp/aborted.bin";
    const { UploadId } = await s3api<{ UploadId: string }>(
      "create-multipart-upload",
      "--bucket",
      bucket,
      "--key",
      key,
    );
    await s3api(
      "upload-part",
      "--bucket",
      bucket,
      "--key",
      key,
      "--upload-id",
      UploadId,
      "--part-number",
      "1",
      "--body",
      local("abort-part.bin", prngBytes(14, 5 * MiB)),
    );
    const open = await s3api<{ Uploads?: { Key: string; UploadId: string }[] }>(
      "list-multipart-uploads",
      "--bucket",
      bucket,
      "--prefix",
      "mp/",
    );
    expect(open.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([[key, UploadId]]);
    await s3api(
      "abort-multipart-upload",
      "--bucket",
      bucket,
      "--key",
      key,
      "--upload-id",
      UploadId,
    );
    const after = await s3api<{ Uploads?: unknown[] }>(
      "list-multipart-uploads",
      "--bucket",
      bucket,
      "--prefix",
      "mp/",
    );
    expect(after.Uploads ?? []).toEqual([]);
    expect(
      await awsFails(
        "s3api",
        "list-parts",
        "--bucket",
        bucket,
        "--key",
        key,
        "--upload-id",
        UploadId,
      ),
    ).toContain("NoSuchUpload");
    expect(await awsFails("s3api", "head-object", "--bucket", bucket, "--key", key)).toMatch(
      /404|Not Found/,
    );
  });

  // awscli 2.9 (Debian's) predates PutObject's IfNoneMatch parameter (added to
  // the S3 model in 2024): `put-object --if-none-match` is an unknown option
  // there. boto3_check.py sends the header itself (s3-boto3.test.ts) instead.
  it.skip("put-object --if-none-match '*' twice: the second is PreconditionFailed", async () => {
    const body = local("once.txt", new TextEncoder().encode("once\n"));
    const args = ["put-object", "--bucket", bucket, "--key", "cond/once.txt", "--body", body];
    await s3api(...args, "--if-none-match", "*");
    expect(await awsFails("s3api", ...args, "--if-none-match", "*")).toContain(
      "PreconditionFailed",
    );
  });

  it("head-object answers the Content-Type and metadata put-object sent", async () => {
    await s3api(
      "put-object",
      "--bucket",
      bucket,
      "--key",
      "meta/report.dat",
      "--body",
      local("report.dat", prngBytes(15, 4000)),
      "--content-type",
      "application/x-edgefs-report",
      "--metadata",
      "color=blue,run-id=42",
    );
    const head = await s3api<{ ContentType: string; Metadata: Record<string, string> }>(
      "head-object",
      "--bucket",
      bucket,
      "--key",
      "meta/report.dat",
    );
    expect(head.ContentType).toBe("application/x-edgefs-report");
    expect(head.Metadata).toEqual({ color: "blue", "run-id": "42" });
  });

  it("get-object --range returns those bytes with Content-Range", async () => {
    const data = prngBytes(16, 100 * KiB);
    await s3api(
      "put-object",
      "--bucket",
      bucket,
      "--key",
      "range/r.bin",
      "--body",
      local("r.bin", data),
    );
    const out = join(work, "range.out");
    const got = await s3api<{ ContentRange: string; ContentLength: number }>(
      "get-object",
      "--bucket",
      bucket,
      "--key",
      "range/r.bin",
      "--range",
      "bytes=70000-70099",
      out,
    );
    expect(got).toMatchObject({
      ContentRange: `bytes 70000-70099/${100 * KiB}`,
      ContentLength: 100,
    });
    expect(readFileSync(out)).toEqual(Buffer.from(data.subarray(70000, 70100)));
    expect(
      await awsFails(
        "s3api",
        "get-object",
        "--bucket",
        bucket,
        "--key",
        "range/r.bin",
        "--range",
        `bytes=${200 * KiB}-`,
        join(work, "range.none"),
      ),
    ).toContain("InvalidRange");
  });
});
