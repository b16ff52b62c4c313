// The S3 API (docs/s3.md) through the current AWS SDK for JavaScript
// (@aws-sdk/client-s3, @aws-sdk/lib-storage), whose default "when supported"
// checksums send a streamed body as aws-chunked with a trailing CRC32
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER), against the real `wrangler dev` of
// global-setup.ts; and a few raw requests signed with aws4fetch for what the
// SDK will not send (a wrong checksum, a skewed clock).
import { createHash } from "node:crypto";
import http from "node:http";
import { Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rootS3Secret } from "../../src/cli/banner.js";
import { Edgefs, MiB, pool, prngBytes, prngChunks, sha256, uniqueName } from "./helpers.js";

const edgefs = Edgefs.shared();
const bucket = uniqueName("sdk");
const credentials = { accessKeyId: "EFROOT", secretAccessKey: rootS3Secret(edgefs.token) };

/** The headers of every request the client sent, as signed (captured after signing). */
const sent: { method: string; path: string; headers: Record<string, string> }[] = [];

const s3 = new S3Client({
  endpoint: edgefs.url,
  region: "auto",
  forcePathStyle: true,
  credentials,
  maxAttempts: 2,
});
s3.middlewareStack.add(
  (next) => async (args) => {
    const request = args.request as {
      method: string;
      path: string;
      headers: Record<string, string>;
    };
    sent.push({ method: request.method, path: request.path, headers: { ...request.headers } });
    return next(args);
  },
  { step: "deserialize", name: "captureSentHeaders" },
);

const signer = new AwsClient({ ...credentials, service: "s3", region: "auto", retries: 0 });
const url = (key: string) =>
  `${edgefs.url}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex");

/** A stream body: the SDK checksums it as aws-chunked with a trailer (a buffer gets a header). */
const streamOf = (seed: number, size: number) => Readable.from(prngChunks(seed, size, 256 * 1024));

async function bytesOf(key: string, versionId?: string): Promise<Uint8Array> {
  const got = await s3.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ...(versionId ? { VersionId: versionId } : {}),
    }),
  );
  return (await got.Body?.transformToByteArray()) ?? new Uint8Array(0);
}

/** The S3 error a call fails with. */
async function failure(p: Promise<unknown>): Promise<S3ServiceException> {
  const e = await p.then(
    () => new Error("expected the call to fail"),
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(S3ServiceException);
  return e as S3ServiceException;
}

/** The S3 error code of an XML error body. */
const codeOf = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];

beforeAll(async () => {
  await edgefs.createShare(bucket);
});

afterAll(async () => {
  s3.destroy();
  await edgefs.deleteShare(bucket).catch(() => undefined);
});

describe("@aws-sdk/client-s3 (current, default checksums)", () => {
  it("PutObject of a stream goes aws-chunked with a CRC32 trailer; GetObject is byte-identical; the ETag is the MD5", async () => {
    const size = 3 * MiB + 17;
    sent.length = 0;
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "chunked/a.bin",
        Body: streamOf(1, size),
        ContentLength: size,
      }),
    );
    const headers = sent.find((r) => r.method === "PUT")?.headers ?? {};
    expect(headers["x-amz-content-sha256"]).toBe("STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    expect(headers["content-encoding"]).toContain("aws-chunked");
    expect(headers["x-amz-trailer"]).toBe("x-amz-checksum-crc32");
    const data = prngBytes(1, size);
    expect(put.ETag).toBe(`"${md5(data)}"`);
    expect(sha256(await bytesOf("chunked/a.bin"))).toBe(sha256(data));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "chunked/a.bin" }));
    expect(head).toMatchObject({ ETag: `"${md5(data)}"`, ContentLength: size });
  });

  it("PutObject of a buffer (CRC32 as a header) keeps Content-Type and metadata for HeadObject", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "meta/doc.json",
        Body: new TextEncoder().encode('{"ok":true}'),
        ContentType: "application/json",
        Metadata: { owner: "sdk", "run-id": "7" },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "meta/doc.json" }));
    expect(head.ContentType).toBe("application/json");
    expect(head.Metadata).toEqual({ owner: "sdk", "run-id": "7" });
  });

  it("a wrong x-amz-checksum-crc32 is 400 BadDigest and writes nothing", async () => {
    const body = new TextEncoder().encode("bytes whose CRC32 is not AAAAAA==");
    const res = await signer.fetch(url("bad/crc.txt"), {
      method: "PUT",
      body,
      headers: { "x-amz-checksum-crc32": "AAAAAA==" },
    });
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(codeOf(text)).toBe("BadDigest");
    const e = await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "bad/crc.txt" })));
    expect(e.name).toBe("NoSuchKey");
  });

  it("a request signed with a clock 20 minutes behind is RequestTimeTooSkewed", async () => {
    const then = new Date(Date.now() - 20 * 60_000).toISOString().replace(/[:-]|\.\d{3}/g, "");
    const res = await signer.fetch(`${edgefs.url}/${bucket}?list-type=2`, {
      aws: { datetime: then },
    });
    const text = await res.text();
    expect(res.status).toBe(403);
    expect(codeOf(text)).toBe("RequestTimeTooSkewed");
  });

  it("ListObjectsV2 pages through 45 keys 10 at a time, each key once, in key order", async () => {
    const keys = Array.from(
      { length: 45 },
      (_, i) => `list/${String.fromCharCode(97 + (i % 5))}/${i}`,
    );
    await pool(keys, 8, (Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key })));
    const pages: string[][] = [];
    for await (const page of paginateListObjectsV2(
      { client: s3, pageSize: 10 },
      { Bucket: bucket, Prefix: "list/" },
    )) {
      pages.push((page.Contents ?? []).map((o) => o.Key as string));
    }
    expect(pages.map((p) => p.length)).toEqual([10, 10, 10, 10, 5]);
    expect(pages.flat()).toEqual(
      [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    const byDir = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "list/", Delimiter: "/" }),
    );
    expect(byDir.CommonPrefixes?.map((p) => p.Prefix)).toEqual(
      ["a", "b", "c", "d", "e"].map((d) => `list/${d}/`),
    );
  });

  it("DeleteObjects removes the named keys and answers each", async () => {
    const victims = Array.from({ length: 9 }, (_, i) => `list/a/${i * 5}`);
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [...victims, "list/never-was"].map((Key) => ({ Key })) },
      }),
    );
    expect((out.Deleted ?? []).map((d) => d.Key).sort()).toEqual(
      [...victims, "list/never-was"].sort(),
    );
    expect(out.Errors ?? []).toEqual([]);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "list/a/" }));
    expect(left.KeyCount ?? 0).toBe(0);
    expect((await edgefs.stat(bucket, "/list/a")).status).toBe(404);
  });

  it("CopyObject copies bytes and metadata; the copy keeps the source's ETag", async () => {
    const out = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "copies/doc.json",
        CopySource: `${bucket}/meta/doc.json`,
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "copies/doc.json" }));
    expect(head.ETag).toBe(out.CopyObjectResult?.ETag);
    expect(head.Metadata).toEqual({ owner: "sdk", "run-id": "7" });
    expect(new TextDecoder().decode(await bytesOf("copies/doc.json"))).toBe('{"ok":true}');
  });

  it("CreateMultipartUpload, UploadPart ×3, CompleteMultipartUpload: S3's multipart ETag and the bytes", async () => {
    const key = "mp/sdk.bin";
    const parts = [prngBytes(21, 5 * MiB), prngBytes(22, 5 * MiB), prngBytes(23, 100_000)];
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
    );
    const done = [];
    for (const [i, Body] of parts.entries()) {
      const part = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body }),
      );
      expect(part.ETag).toBe(`"${md5(Body)}"`);
      done.push({ PartNumber: i + 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 });
    }
    const complete = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: done },
      }),
    );
    const expected = createHash("md5")
      .update(Buffer.concat(parts.map((p) => createHash("md5").update(p).digest())))
      .digest("hex");
    expect(complete.ETag).toBe(`"${expected}-3"`);
    expect(sha256(await bytesOf(key))).toBe(sha256(Buffer.concat(parts)));
  });

  it("lib-storage Upload of a 12 MiB stream in 5 MiB parts (aws-chunked parts with trailers)", async () => {
    const size = 12 * MiB;
    sent.length = 0;
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: "mp/lib-storage.bin", Body: streamOf(31, size) },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    const out = await upload.done();
    expect(out.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(
      sent.filter((r) => r.method === "PUT" && r.path.includes("mp/lib-storage.bin")),
    ).toHaveLength(3);
    expect(sha256(await bytesOf("mp/lib-storage.bin"))).toBe(sha256(prngBytes(31, size)));
  });

  // S3 answers a read at the version id a write returned while the object is
  // still as that write left it, however many other keys changed since.
  it("GetObject at the VersionId PutObject returned, after other keys were written", async () => {
    const first = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "ver/stable.txt", Body: "stable" }),
    );
    expect(first.VersionId).toMatch(/^\d+$/);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "ver/other.txt", Body: "other" }));
    const bytes = await bytesOf("ver/stable.txt", first.VersionId);
    expect(new TextDecoder().decode(bytes)).toBe("stable");
  });

  // S3 serves an object's bytes as stored. A client that sets Accept-Encoding
  // itself (Go's SDK in rclone does, and then does not decompress) must not
  // get them gzip-compressed on the way.
  it("GetObject of a text object to a client accepting gzip answers the stored bytes, uncompressed", async () => {
    const text = Array.from({ length: 3000 }, (_, i) => `line ${i}\n`).join("");
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "text/lines.txt",
        Body: text,
        ContentType: "text/plain",
      }),
    );
    const signed = await signer.sign(url("text/lines.txt"), { aws: { signQuery: true } });
    const got = await new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>(
      (ok, fail) => {
        const req = http.get(
          signed.url,
          { headers: { "accept-encoding": "gzip" }, timeout: 30_000 },
          (res) => {
            const parts: Buffer[] = [];
            res.on("data", (d: Buffer) => parts.push(d));
            res.on("end", () => ok({ headers: res.headers, body: Buffer.concat(parts) }));
            res.on("error", fail);
          },
        );
        req.on("timeout", () => req.destroy(new Error("GET timed out")));
        req.on("error", fail);
      },
    );
    expect(got.headers["content-encoding"] ?? "identity").toBe("identity");
    expect(got.body.toString("utf8")).toBe(text);
  });
});
