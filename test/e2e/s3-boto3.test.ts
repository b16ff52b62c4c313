// The S3 API (docs/s3.md) through boto3 from Debian (python3-boto3 1.26, run
// with /usr/bin/python3: a pyenv python on the PATH may lack Debian's
// modules). test/e2e/s3/boto3_check.py makes the calls against the real
// `wrangler dev` of global-setup.ts and prints what each check saw; every
// case here asserts on one check's results.
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rootS3Secret } from "../../src/cli/banner.js";
import { Edgefs, MiB, uniqueName } from "./helpers.js";

const run = promisify(execFile);
const edgefs = Edgefs.shared();
const bucket = uniqueName("boto3");
const script = join(dirname(fileURLToPath(import.meta.url)), "s3", "boto3_check.py");

type Outcome = { ok?: Record<string, unknown>; error?: string };
let results: Record<string, Outcome> = {};

/** One check's results; a check that raised fails its case with the Python traceback. */
function check<T = Record<string, unknown>>(name: string): T {
  const outcome = results[name];
  if (outcome === undefined) throw new Error(`boto3_check.py ran no check ${name}`);
  if (outcome.error !== undefined) throw new Error(`boto3 check ${name} raised:\n${outcome.error}`);
  return outcome.ok as T;
}

beforeAll(async () => {
  await edgefs.createShare(bucket);
  const minted = await edgefs.json<{ s3: { accessKeyId: string; secretAccessKey: string } }>(
    "/v1/tokens",
    {
      method: "POST",
      body: JSON.stringify({ permissions: ["read"], shares: [bucket], s3: true }),
    },
  );
  expect(minted.status).toBe(201);
  const { stdout } = await run("/usr/bin/python3", [script], {
    timeout: 150_000,
    maxBuffer: 16 * MiB,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_EC2_METADATA_DISABLED: "true",
      EDGEFS_URL: edgefs.url,
      EDGEFS_TOKEN: edgefs.token,
      S3_SECRET: rootS3Secret(edgefs.token),
      S3_BUCKET: bucket,
      READ_KEY_ID: minted.body.s3.accessKeyId,
      READ_SECRET: minted.body.s3.secretAccessKey,
    },
  });
  results = JSON.parse(stdout) as Record<string, Outcome>;
}, 180_000);

afterAll(async () => {
  await edgefs.deleteShare(bucket).catch(() => undefined);
});

describe("boto3", () => {
  it("If-None-Match: * creates only once; If-Match swaps only from the current ETag", () => {
    expect(check("conditional")).toEqual({
      second: "PreconditionFailed",
      swappedEtagChanged: true,
      lost: "PreconditionFailed",
      body: "three",
    });
  });

  it("verifies CRC32 and SHA-256 checksums; a wrong Content-MD5 or CRC32 is BadDigest and writes nothing", () => {
    const r = check<Record<string, unknown>>("checksums");
    expect(r).toMatchObject({
      crc32Echoed: true,
      sha256Echoed: true,
      sameBytes: true,
      badMd5: "BadDigest",
      badMd5Written: false,
      badCrc: "BadDigest",
      badCrcWritten: false,
    });
    expect(r.etag).toBe(r.md5);
  });

  it("presigned GET and PUT URLs work with plain urllib; the signature binds the key", () => {
    expect(check("presigned")).toEqual({
      get: true,
      putStatus: 200,
      putBody: "through a presigned PUT",
      otherKey: 403,
    });
  });

  it("a paginated listing of 1,100 keys (pages of 250) has every key once, in order; the delimiter gives CommonPrefixes", () => {
    expect(check("listing")).toEqual({
      pageSizes: [250, 250, 250, 250, 100],
      count: 1100,
      unique: 1100,
      inOrder: true,
      commonPrefixes: ["0", "1", "10", "2", "3", "4", "5", "6", "7", "8", "9"].map(
        (d) => `many/${d}/`,
      ),
      contentsAtDir: 0,
      inOneDir: 100,
    });
  });

  it("delete_objects of 1,000 keys in one quiet call deletes exactly them", () => {
    expect(check("delete_many")).toEqual({
      victims: 1000,
      deletedListed: 0,
      errors: [],
      left: 100,
      leftAreTheOthers: true,
    });
  });

  it("upload_fileobj of 17 MiB in 5 MiB parts gets S3's multipart ETag; download_fileobj is byte-identical", () => {
    const r = check<{ etag: string; expectedEtag: string; size: number; identical: boolean }>(
      "multipart",
    );
    expect(r.etag).toBe(r.expectedEtag);
    expect(r.etag).toMatch(/-4"$/);
    expect(r).toMatchObject({ size: 17 * MiB, identical: true });
  });

  it("copy_object keeps the metadata, or replaces it with MetadataDirective REPLACE", () => {
    const r =
      check<Record<string, { type: string; meta: Record<string, string>; etag: string }>>("copy");
    expect(r.src).toMatchObject({ type: "text/x-src", meta: { kind: "source" } });
    expect(r.kept).toEqual(r.src);
    expect(r.replaced).toEqual({
      type: "application/x-replaced",
      meta: { kind: "replaced", extra: "1" },
      etag: r.src?.etag,
    });
    expect((r as unknown as { body: string }).body).toBe("copy me");
  });

  it("versioning is Enabled; list_object_versions shows the overwritten versions; an old VersionId reads old bytes", () => {
    const r = check<{
      versioning: string;
      versionIds: string[];
      listedIds: string[];
      latest: string[];
      old: string;
    }>("versions");
    expect(r.versioning).toBe("Enabled");
    expect(r.listedIds.length).toBeGreaterThanOrEqual(2);
    expect([...r.listedIds].sort()).toEqual([...r.versionIds].sort());
    expect(r.latest).toEqual([r.versionIds[2]]);
    expect(r.old).toBe("first");
  });

  it("refuses a wrong secret, a write with a read-only pair, the key a//b, and keys that would make a name both file and directory", () => {
    expect(check("refusals")).toEqual({
      wrongSecret: "SignatureDoesNotMatch",
      readerGets: "a file",
      readerPuts: "AccessDenied",
      readerPutWritten: false,
      doubleSlash: "InvalidArgument",
      underFile: "ParentIsObject",
      overDir: "ObjectExistsAsDirectory",
      fileIntact: "a file",
    });
  });
});
