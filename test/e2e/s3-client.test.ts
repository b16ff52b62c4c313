// src/s3/client.ts against a real, signature-checking S3 endpoint: the R2 S3
// API that `wrangler dev` serves for a binding with local_dev credentials.
import { AwsClient } from "aws4fetch";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { S3Client, S3Error, type S3Target } from "../../src/s3/client.js";
import { type FakeS3, HUGE_BYTES, startFakeS3 } from "./fake-s3.js";
import { type S3Endpoint, startS3Endpoint } from "./s3-fixture.js";

let s3: S3Endpoint;
let client: S3Client;
let target: S3Target;

beforeAll(async () => {
  s3 = await startS3Endpoint();
  target = {
    endpoint: s3.endpoint,
    region: "auto",
    bucket: s3.bucket,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requesterPays: false,
  };
  client = new S3Client(target, { retries: 0 });
});

afterAll(async () => {
  await s3?.stop();
});

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const text = async (body: ReadableStream | null) => new Response(body).text();
const streamOf = (...chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
async function rejection(p: Promise<unknown>): Promise<S3Error> {
  const e = await p.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(S3Error);
  return e as S3Error;
}

describe("S3Client objects", () => {
  it("puts, heads and gets bytes with the same quoted ETag", async () => {
    const data = bytes("hello, edge");
    const { etag } = await client.put("rt/a.txt", data, data.length);
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const head = await client.head("rt/a.txt");
    expect(head).toMatchObject({ key: "rt/a.txt", size: data.length, etag });
    expect(Math.abs((head?.lastModified ?? 0) - Date.now())).toBeLessThan(60_000);
    const got = await client.get("rt/a.txt", {});
    expect(got?.status).toBe(200);
    expect(got?.object).toMatchObject({ size: data.length, etag });
    expect(await text(got?.body ?? null)).toBe("hello, edge");
  });

  it("reports the size of a text object (no transparent compression on the way)", async () => {
    // wrangler dev gzips text/* answers unless asked for identity; put one with
    // a text type directly, since the client sends none.
    const raw = new AwsClient({ ...s3, service: "s3", region: "auto", retries: 0 });
    const body = "text ".repeat(20_000);
    const put = await raw.fetch(`${s3.endpoint}/${s3.bucket}/rt/text.txt`, {
      method: "PUT",
      body,
      headers: { "content-type": "text/plain" },
    });
    expect(put.status).toBe(200);
    const got = await client.get("rt/text.txt", {});
    expect(got?.object.size).toBe(body.length);
    expect(await text(got?.body ?? null)).toBe(body);
    const part = await client.get("rt/text.txt", { range: "bytes=5-9" });
    expect([part?.object.size, await text(part?.body ?? null)]).toEqual([body.length, "text "]);
  });

  it("puts a stream of known length", async () => {
    const { etag } = await client.put("rt/stream.bin", streamOf(bytes("abc"), bytes("defg")), 7);
    const got = await client.get("rt/stream.bin", {});
    expect(got?.object.etag).toBe(etag);
    expect(await text(got?.body ?? null)).toBe("abcdefg");
  });

  it("serves ranges, suffix ranges and 416 with full sizes", async () => {
    const data = bytes("0123456789");
    await client.put("rng.txt", data, data.length);
    const mid = await client.get("rng.txt", { range: "bytes=2-5" });
    expect(mid).toMatchObject({
      status: 206,
      range: { offset: 2, length: 4 },
      object: { size: 10 },
    });
    expect(await text(mid?.body ?? null)).toBe("2345");
    const suffix = await client.get("rng.txt", { range: "bytes=-3" });
    expect(suffix).toMatchObject({
      status: 206,
      range: { offset: 7, length: 3 },
      object: { size: 10 },
    });
    expect(await text(suffix?.body ?? null)).toBe("789");
    const headRange = await client.get("rng.txt", { range: "bytes=5-", headOnly: true });
    expect(headRange).toMatchObject({ status: 206, range: { offset: 5, length: 5 }, body: null });
    const e = await rejection(client.get("rng.txt", { range: "bytes=50-60" }));
    expect([e.status, e.code]).toEqual([416, "InvalidRange"]);
    const h = await rejection(client.get("rng.txt", { range: "bytes=50-60", headOnly: true }));
    expect([h.status, h.code]).toEqual([416, "InvalidRange"]);
  });

  it("answers conditionals: If-None-Match → 304, If-Match mismatch → 412", async () => {
    const { etag } = await client.put("cond.txt", bytes("x"), 1);
    const notModified = await client.get("cond.txt", { ifNoneMatch: etag });
    expect(notModified).toMatchObject({ status: 304, body: null, object: { etag } });
    const same = await client.get("cond.txt", { ifMatch: etag });
    expect(same?.status).toBe(200);
    await same?.body?.cancel();
    const e = await rejection(client.get("cond.txt", { ifMatch: '"0000"' }));
    expect([e.status, e.code]).toEqual([412, "PreconditionFailed"]);
    const h = await rejection(client.get("cond.txt", { ifMatch: '"0000"', headOnly: true }));
    expect([h.status, h.code]).toEqual([412, "PreconditionFailed"]);
  });

  it("gives null for a missing key", async () => {
    expect(await client.head("missing/key")).toBeNull();
    expect(await client.get("missing/key", {})).toBeNull();
    expect(await client.get("missing/key", { headOnly: true })).toBeNull();
  });

  it("round-trips keys with spaces, unicode, + and other reserved characters", async () => {
    const keys = [
      "sp ace/a b.txt",
      "uni/ünï-çødé-文件.txt",
      "plus/a+b=c&d.txt",
      "odd/(x)!*'~;:@,$#[].txt",
    ];
    for (const key of keys) {
      const data = bytes(`body of ${key}`);
      await client.put(key, data, data.length);
      expect((await client.head(key))?.size).toBe(data.length);
      expect(await text((await client.get(key, {}))?.body ?? null)).toBe(`body of ${key}`);
    }
    for (const prefix of ["sp ace/", "uni/", "plus/", "odd/"]) {
      const listed = await client.list({ prefix });
      expect(listed.objects.map((o) => o.key)).toEqual(keys.filter((k) => k.startsWith(prefix)));
    }
    // No "+" → space confusion: "plus/a b=c&d.txt" must not exist.
    expect(await client.head("plus/a b=c&d.txt")).toBeNull();
  });

  it("refuses keys a URL cannot address", async () => {
    await expect(client.head("a/../b")).rejects.toThrow(S3Error);
    await expect(client.head("./x")).rejects.toMatchObject({ code: "UnaddressableKey" });
  });

  it("copies within the bucket and reports a missing source", async () => {
    await client.put("copy/src file+1.txt", bytes("copied"), 6);
    const { etag } = await client.copy("copy/src file+1.txt", "copy/dst ü.txt");
    expect(etag).toMatch(/^".+"$/);
    expect((await client.head("copy/dst ü.txt"))?.etag).toBe(etag);
    expect(await text((await client.get("copy/dst ü.txt", {}))?.body ?? null)).toBe("copied");
    const e = await rejection(client.copy("copy/none", "copy/x"));
    expect([e.status, e.code]).toEqual([404, "NoSuchKey"]);
  });

  it("signs Content-Type and x-amz-meta-* on put, multipart and copy, and reads them back", async () => {
    const attributes = { contentType: "text/csv", metadata: { owner: "alice", "run-id": "7" } };
    await client.put("attrs/a.csv", bytes("a,b"), 3, attributes);
    expect(await client.head("attrs/a.csv")).toMatchObject(attributes);
    expect((await client.get("attrs/a.csv", {}))?.object).toMatchObject(attributes);
    const uploadId = await client.createMultipart("attrs/m.bin", { contentType: "image/png" });
    const part = await client.uploadPart("attrs/m.bin", uploadId, 1, bytes("png"), 3);
    await client.completeMultipart("attrs/m.bin", uploadId, [{ partNumber: 1, etag: part }]);
    expect((await client.head("attrs/m.bin"))?.contentType).toBe("image/png");
    // COPY keeps the source's; REPLACE sets the given ones.
    await client.copy("attrs/a.csv", "attrs/kept.csv");
    expect(await client.head("attrs/kept.csv")).toMatchObject(attributes);
    await client.copy("attrs/a.csv", "attrs/new.csv", { metadata: { owner: "bob" } });
    const replaced = await client.head("attrs/new.csv");
    expect(replaced?.metadata).toEqual({ owner: "bob" });
    expect(replaced?.contentType).not.toBe("text/csv");
  });

  it("deletes one and many", async () => {
    const keys = ["del/a", "del/b c", "del/ü+"];
    for (const k of keys) await client.put(k, bytes(k), bytes(k).length);
    await client.delete("del/a");
    expect(await client.head("del/a")).toBeNull();
    await client.delete("del/a"); // deleting a missing key is not an error
    expect(await client.deleteMany(keys)).toEqual([]);
    expect((await client.list({ prefix: "del/" })).objects).toEqual([]);
    expect(await client.deleteMany([])).toEqual([]);
  });
});

describe("S3Client listing", () => {
  beforeAll(async () => {
    const keys = ["ls/top.txt", "ls/d1/a", "ls/d1/b", "ls/d2/c", "ls/d2/sub/d"];
    for (let i = 0; i < 25; i++) keys.push(`pg/k${String(i).padStart(2, "0")}`);
    await Promise.all(keys.map((k) => client.put(k, bytes(k), bytes(k).length)));
  });

  it("splits objects and common prefixes at the delimiter", async () => {
    const r = await client.list({ prefix: "ls/", delimiter: "/" });
    expect(r.objects.map((o) => o.key)).toEqual(["ls/top.txt"]);
    expect(r.prefixes).toEqual(["ls/d1/", "ls/d2/"]);
    expect(r.nextToken).toBeUndefined();
    const [o] = r.objects;
    expect(o).toMatchObject({ size: "ls/top.txt".length, etag: expect.stringMatching(/^".+"$/) });
    expect(o?.lastModified).toBeGreaterThan(Date.now() - 60_000);
    expect((await client.list({ prefix: "ls/d2/", delimiter: "/" })).prefixes).toEqual([
      "ls/d2/sub/",
    ]);
  });

  it("pages with continuation tokens: 25 keys, 10 per call → 3 calls", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let calls = 0;
    do {
      const page = await client.list({ prefix: "pg/", maxKeys: 10, continuationToken: token });
      seen.push(...page.objects.map((o) => o.key));
      token = page.nextToken;
      calls++;
    } while (token && calls < 10);
    expect(calls).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `pg/k${String(i).padStart(2, "0")}`));
  });

  it("starts after a key", async () => {
    const r = await client.list({ prefix: "pg/", startAfter: "pg/k22" });
    expect(r.objects.map((o) => o.key)).toEqual(["pg/k23", "pg/k24"]);
  });
});

describe("S3Client multipart", () => {
  it("uploads 5 MiB + a small part and completes into one exact object", async () => {
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const small = bytes("the tail");
    const id = await client.createMultipart("mp/big file.bin");
    const e1 = await client.uploadPart("mp/big file.bin", id, 1, big, big.length);
    const e2 = await client.uploadPart("mp/big file.bin", id, 2, streamOf(small), small.length);
    const { etag } = await client.completeMultipart("mp/big file.bin", id, [
      { partNumber: 1, etag: e1 },
      { partNumber: 2, etag: e2 },
    ]);
    expect(etag).toMatch(/^".+-2"$/);
    const got = await client.get("mp/big file.bin", {});
    expect(got?.object).toMatchObject({ size: big.length + small.length, etag });
    const all = new Uint8Array(await new Response(got?.body ?? null).arrayBuffer());
    expect(all.length).toBe(big.length + small.length);
    expect(Buffer.compare(all.subarray(0, big.length), big)).toBe(0);
    expect(new TextDecoder().decode(all.subarray(big.length))).toBe("the tail");
  });

  it("aborts an upload, after which it cannot complete", async () => {
    const id = await client.createMultipart("mp/aborted");
    const e1 = await client.uploadPart("mp/aborted", id, 1, bytes("part"), 4);
    await client.abortMultipart("mp/aborted", id);
    const e = await rejection(
      client.completeMultipart("mp/aborted", id, [{ partNumber: 1, etag: e1 }]),
    );
    expect(e.code).toBe("NoSuchUpload");
    expect(await client.head("mp/aborted")).toBeNull();
  });
});

describe("S3Client signing", () => {
  it("a wrong secret gets 403 SignatureDoesNotMatch", async () => {
    const bad = new S3Client({
      ...target,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: "wrong-secret" },
    });
    const e = await rejection(bad.list({ prefix: "" }));
    expect([e.status, e.code]).toEqual([403, "SignatureDoesNotMatch"]);
    const g = await rejection(bad.get("rt/a.txt", {}));
    expect([g.status, g.code]).toEqual([403, "SignatureDoesNotMatch"]);
  });

  it("an unknown access key gets 401 Unauthorized", async () => {
    const bad = new S3Client({
      ...target,
      credentials: { accessKeyId: "nobody", secretAccessKey: s3.secretAccessKey },
    });
    const e = await rejection(bad.head("rt/a.txt"));
    expect([e.status, e.code]).toEqual([401, "HTTP401"]);
  });

  it("an unsigned client is refused", async () => {
    const anon = new S3Client({ ...target, credentials: undefined });
    const e = await rejection(anon.get("rt/a.txt", {}));
    // R2 (and this local copy of it) answers a request without Authorization
    // with 400 InvalidArgument "Authorization"; AWS S3 says 403 AccessDenied.
    expect([e.status, e.code, e.message]).toEqual([400, "InvalidArgument", "Authorization"]);
    const l = await rejection(anon.list({ prefix: "" }));
    expect([l.status, l.code]).toEqual([400, "InvalidArgument"]);
  });

  it("sends x-amz-request-payer when asked (and the endpoint accepts it)", async () => {
    const payer = new S3Client({ ...target, requesterPays: true });
    expect((await payer.head("rt/a.txt"))?.size).toBe(11);
  });
});

// What the local endpoint never does (200 answers carrying <Error>, per-key
// DeleteObjects errors, virtual-hosted URLs), checked against canned answers.
describe("S3Client against canned answers", () => {
  const seen: Request[] = [];
  const answer = (responses: Response[]) => {
    seen.length = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      seen.push(new Request(input, init));
      const res = responses.shift();
      if (!res) throw new Error("no canned answer left");
      return res;
    });
  };
  const xml = (body: string, status = 200) =>
    new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
      status,
      headers: { "content-type": "application/xml" },
    });
  const aws: S3Target = {
    endpoint: "https://s3.eu-west-1.amazonaws.com",
    region: "eu-west-1",
    bucket: "my-bucket",
    forcePathStyle: false,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    requesterPays: true,
  };
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("builds virtual-hosted URLs, signs, and sends the requester-pays header", async () => {
    answer([new Response(null, { status: 204 }), xml("<ListBucketResult/>")]);
    const c = new S3Client(aws);
    await c.delete("a b/c+d/ü");
    await c.list({ prefix: "a b/", delimiter: "/", maxKeys: 5 });
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      "DELETE https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd/%C3%BC",
      "GET https://my-bucket.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=a%20b%2F&delimiter=%2F&max-keys=5&encoding-type=url",
    ]);
    expect(seen[0]?.headers.get("x-amz-request-payer")).toBe("requester");
    expect(seen[0]?.headers.get("authorization")).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-request-payer, /,
    );
  });

  it("decodes S3's url-encoded listing (a space as +) and its entities", async () => {
    answer([
      xml(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>my-bucket</Name><Prefix>d%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <Contents><Key>d/a+b%2Bc</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified>
    <ETag>&quot;0123&quot;</ETag><Size>0123</Size><StorageClass>STANDARD</StorageClass></Contents>
  <CommonPrefixes><Prefix>d/%20x/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>`),
    ]);
    const r = await new S3Client(aws).list({ prefix: "d/" });
    expect(r).toEqual({
      objects: [
        { key: "d/a b+c", size: 123, etag: '"0123"', lastModified: Date.UTC(2024, 0, 2, 3, 4, 5) },
      ],
      prefixes: ["d/ x/"],
      nextToken: "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
    });
  });

  it("treats a 200 answer with an <Error> body as an error", async () => {
    const error = (code: string) =>
      xml(
        `<Error><Code>${code}</Code><Message>We encountered an internal error.</Message></Error>`,
      );
    answer([error("InternalError"), error("SlowDown")]);
    const c = new S3Client(aws);
    const e = await rejection(c.completeMultipart("k", "up", [{ partNumber: 1, etag: '"e"' }]));
    expect([e.status, e.code]).toEqual([200, "InternalError"]);
    expect(await seen[0]?.text()).toBe(
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;e&#34;</ETag></Part></CompleteMultipartUpload>",
    );
    const f = await rejection(c.copy("from key", "to"));
    expect([f.status, f.code]).toEqual([200, "SlowDown"]);
    expect(seen[1]?.headers.get("x-amz-copy-source")).toBe("/my-bucket/from%20key");
  });

  it("returns DeleteObjects' per-key errors and sends a body checksum", async () => {
    answer([
      xml(`<DeleteResult><Deleted><Key>ok</Key></Deleted>
  <Error><Key>a&amp;b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
</DeleteResult>`),
    ]);
    const errors = await new S3Client(aws).deleteMany(["ok", "a&b"]);
    expect(errors).toEqual([{ key: "a&b", code: "AccessDenied", message: "Access Denied" }]);
    const req = seen[0];
    expect(req?.url).toBe("https://my-bucket.s3.eu-west-1.amazonaws.com/?delete");
    const body = await req?.text();
    expect(body).toContain("<Object><Key>a&#38;b</Key></Object>");
    const sha = Buffer.from(await crypto.subtle.digest("SHA-256", enc.encode(body))).toString(
      "base64",
    );
    expect(req?.headers.get("x-amz-checksum-sha256")).toBe(sha);
  });

  it("retries 5xx for byte bodies only as often as asked", async () => {
    const slow = () => xml("<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>", 503);
    answer([slow(), slow(), slow(), slow()]);
    const e = await rejection(new S3Client(aws, { retries: 1 }).put("k", bytes("x"), 1));
    expect([e.status, e.code, seen.length]).toEqual([503, "SlowDown", 2]);
    answer([slow(), slow()]);
    const s = await rejection(new S3Client(aws, { retries: 1 }).put("k", streamOf(bytes("x")), 1));
    expect([s.code, seen.length]).toEqual(["SlowDown", 1]);
  });

  it("maps a NoSuchBucket 404 to an error, not to a missing key", async () => {
    answer([xml("<Error><Code>NoSuchBucket</Code><Message>none</Message></Error>", 404)]);
    const e = await rejection(new S3Client(aws).get("k", {}));
    expect([e.status, e.code]).toEqual([404, "NoSuchBucket"]);
  });
});

// A bucket that misbehaves on purpose (test/e2e/fake-s3.ts), over a real socket.
describe("S3Client against a hostile endpoint", () => {
  let fake: FakeS3;
  beforeAll(async () => {
    fake = await startFakeS3(["a.txt"]);
  });
  afterAll(async () => {
    await fake?.stop();
  });
  const at = (bucket: string, retries = 0) =>
    new S3Client(
      {
        endpoint: fake.endpoint,
        region: "auto",
        bucket,
        forcePathStyle: true,
        requesterPays: false,
      },
      { retries },
    );

  it("does not follow a redirect: S3Error Redirect, the target never asked", async () => {
    const e = await rejection(at("redirect").get("a.txt", {}));
    expect([e.status, e.code]).toEqual([302, "Redirect"]);
    expect(e.message).toContain("redirects are not followed");
    const l = await rejection(at("redirect").list({ prefix: "" }));
    expect(l.code).toBe("Redirect");
    expect(fake.secretHits).toBe(0);
  });

  it("stops reading an endless error body at 1 MiB, and an endless listing at 4 MiB", async () => {
    fake.hugeSent.length = 0;
    const e = await rejection(at("huge-error").get("a.txt", {}));
    expect([e.status, e.code]).toEqual([500, "ResponseTooLarge"]);
    const l = await rejection(at("huge-list").list({ prefix: "" }));
    expect([l.status, l.code]).toEqual([200, "ResponseTooLarge"]);
    expect(fake.hugeSent).toHaveLength(2);
    // The server stopped writing long before the end: edgefs cancelled the stream.
    for (const sent of fake.hugeSent) expect(sent).toBeLessThan(HUGE_BYTES / 4);
  });

  it("retries a 5xx a bounded number of times, and marks every request with Edgefs-Hop", async () => {
    fake.requests.length = 0;
    const e = await rejection(at("huge-error", 2).head("a.txt"));
    expect(e.status).toBe(500);
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests.map((r) => r.hop)).toEqual(["1", "1", "1"]);
  });
});
