import { exports } from "cloudflare:workers";
import { AwsV4Signer } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { api, json, newShare } from "./helpers";
import {
  expectS3Error,
  keyUrl,
  md5Etag,
  rootPair,
  S3_ORIGIN,
  type S3Pair,
  s3,
  texts,
} from "./s3-helpers";

/** A fresh bucket (a share), made through S3 itself. */
let n = 0;
async function newBucket(): Promise<string> {
  const name = `b-${Date.now().toString(36)}-${n++}`;
  const res = await s3("PUT", `/${name}`);
  expect(res.status).toBe(200);
  return name;
}

async function put(
  bucket: string,
  key: string,
  body: string,
  headers: Record<string, string> = {},
) {
  const res = await s3("PUT", keyUrl(bucket, key), { body, headers });
  expect(res.status, await res.clone().text()).toBe(200);
  return res;
}

async function mintPair(body: Record<string, unknown>): Promise<S3Pair & { tokenId: string }> {
  const res = await api("POST", "/v1/tokens", { body: JSON.stringify({ ...body, s3: true }) });
  expect(res.status).toBe(201);
  const minted = await json<{ tokenId: string; s3: S3Pair }>(res);
  expect(minted.s3.accessKeyId).toBe(`EF${minted.tokenId.toUpperCase()}`);
  return { ...minted.s3, tokenId: minted.tokenId };
}

describe("S3 authentication", () => {
  it("refuses unsigned requests on an S3 address and keeps the native API for the rest", async () => {
    // A bare path without SigV4 is not S3: it stays the native API's 404.
    const plain = await api("GET", "/some-bucket/key", { token: null });
    expect(plain.headers.get("content-type")).toContain("application/json");
    const v2 = await api("GET", "/some-bucket/key", {
      token: null,
      headers: { authorization: "AWS EFROOT:c2lnbmF0dXJl" },
    });
    await expectS3Error(v2, 400, "InvalidRequest");
  });

  it("answers a wrong secret, an unknown key and a skewed clock with S3's codes", async () => {
    const bucket = await newBucket();
    const wrong = await s3("GET", `/${bucket}?list-type=2`, {
      pair: { accessKeyId: "EFROOT", secretAccessKey: "not-the-secret" },
    });
    await expectS3Error(wrong, 403, "SignatureDoesNotMatch");
    const unknown = await s3("GET", `/${bucket}?list-type=2`, {
      pair: { accessKeyId: `EF${"0".repeat(32)}`, secretAccessKey: "x" },
    });
    await expectS3Error(unknown, 403, "InvalidAccessKeyId");
    const old = new Date(Date.now() - 20 * 60_000).toISOString().replace(/[:-]|\.\d{3}/g, "");
    const skewed = await s3("GET", `/${bucket}?list-type=2`, { datetime: old });
    await expectS3Error(skewed, 403, "RequestTimeTooSkewed");
  });

  it("a mis-signed write writes nothing", async () => {
    const bucket = await newBucket();
    const res = await s3("PUT", keyUrl(bucket, "x.txt"), {
      body: "data",
      pair: { accessKeyId: "EFROOT", secretAccessKey: "wrong" },
    });
    await expectS3Error(res, 403, "SignatureDoesNotMatch");
    expect((await api("GET", `/v1/shares/${bucket}/stat/x.txt`)).status).toBe(404);
  });

  it("a scoped pair holds its token's scope, environment and revocation", async () => {
    const bucket = await newBucket();
    const other = await newBucket();
    await put(bucket, "a.txt", "A");
    const reader = await mintPair({ permissions: ["read"], shares: [bucket] });
    expect((await s3("GET", keyUrl(bucket, "a.txt"), { pair: reader })).status).toBe(200);
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "b.txt"), { body: "B", pair: reader }),
      403,
      "AccessDenied",
    );
    await expectS3Error(
      await s3("GET", keyUrl(other, "a.txt"), { pair: reader }),
      403,
      "AccessDenied",
    );
    const listing = await (await s3("GET", "/", { pair: reader })).text();
    expect(texts(listing, "Name")).toEqual([bucket]);
    expect((await api("DELETE", `/v1/tokens/${reader.tokenId}`)).status).toBe(204);
    await expectS3Error(
      await s3("GET", keyUrl(bucket, "a.txt"), { pair: reader }),
      403,
      "InvalidAccessKeyId",
    );
  });

  it("a pair belongs to one environment", async () => {
    const res = await api("POST", "/v1/tokens", {
      body: JSON.stringify({ permissions: ["read"], envs: ["main", "dev"], s3: true }),
    });
    expect(res.status).toBe(400);
    const dev = await mintPair({ permissions: ["read", "write", "admin"], envs: ["dev"] });
    const name = `devb-${Date.now().toString(36)}`;
    expect((await s3("PUT", `/${name}`, { pair: dev })).status).toBe(200);
    // The bucket is a share of dev, not of main.
    expect((await api("GET", `/v1/shares/${name}?env=dev`)).status).toBe(200);
    expect((await api("GET", `/v1/shares/${name}`)).status).toBe(404);
    const rootDev = await rootPair("dev");
    expect((await s3("HEAD", `/${name}`, { pair: rootDev })).status).toBe(200);
    // Each environment's root pair has its own secret: main's does not sign for dev.
    const main = await rootPair();
    await expectS3Error(
      await s3("HEAD", `/${name}`, {
        pair: { accessKeyId: "EFROOT.dev", secretAccessKey: main.secretAccessKey },
      }),
      403,
      "(no body, 403)",
    );
  });

  it("verifies a signed Accept-Encoding that the runtime rewrote (rclone signs gzip)", async () => {
    const bucket = await newBucket();
    await put(bucket, "ae.txt", "encoded");
    const signer = new AwsV4Signer({
      method: "GET",
      url: `${S3_ORIGIN}${keyUrl(bucket, "ae.txt")}`,
      headers: { "accept-encoding": "gzip", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      accessKeyId: "EFROOT",
      secretAccessKey: (await rootPair()).secretAccessKey,
      service: "s3",
      region: "auto",
      allHeaders: true,
    });
    const signed = await signer.sign();
    expect(signed.headers.get("authorization")).toContain("accept-encoding");
    const headers = new Headers(signed.headers);
    headers.set("accept-encoding", "br, gzip, zstd");
    const res = await exports.default.fetch(new Request(signed.url, { headers }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("encoded");
  });

  it("presigned URLs work without headers, and a tampered one does not", async () => {
    const bucket = await newBucket();
    await put(bucket, "p.txt", "presigned");
    const signed = await s3("GET", keyUrl(bucket, "p.txt"), { presign: true });
    expect(await signed.text()).toBe("presigned");
  });
});

describe("S3 buckets", () => {
  it("creates, lists, heads and deletes buckets; a non-empty one stays", async () => {
    const bucket = await newBucket();
    await expectS3Error(await s3("PUT", `/${bucket}`), 409, "BucketAlreadyOwnedByYou");
    expect(texts(await (await s3("GET", "/")).text(), "Name")).toContain(bucket);
    expect((await s3("HEAD", `/${bucket}`)).status).toBe(200);
    await put(bucket, "f", "x");
    await expectS3Error(await s3("DELETE", `/${bucket}`), 409, "BucketNotEmpty");
    expect((await s3("DELETE", keyUrl(bucket, "f"))).status).toBe(204);
    expect((await s3("DELETE", `/${bucket}`)).status).toBe(204);
    expect((await s3("HEAD", `/${bucket}`)).status).toBe(404);
    await expectS3Error(await s3("GET", `/${bucket}?list-type=2`), 404, "NoSuchBucket");
    await expectS3Error(await s3("PUT", "/bad..name!"), 400, "InvalidBucketName");
  });

  it("says versioning is on, and where the bucket is", async () => {
    const bucket = await newBucket();
    expect(texts(await (await s3("GET", `/${bucket}?versioning`)).text(), "Status")).toEqual([
      "Enabled",
    ]);
    expect((await s3("GET", `/${bucket}?location`)).status).toBe(200);
    await expectS3Error(await s3("GET", `/${bucket}?acl`), 501, "NotImplemented");
  });
});

describe("S3 objects", () => {
  it("puts and gets with MD5 ETags, ranges, metadata and conditions", async () => {
    const bucket = await newBucket();
    const res = await put(bucket, "dir/hello.txt", "hello world", {
      "content-type": "text/plain",
      "x-amz-meta-owner": "ci",
    });
    expect(res.headers.get("etag")).toBe(await md5Etag("hello world"));
    expect(res.headers.get("x-amz-version-id")).toMatch(/^\d+$/);
    const got = await s3("GET", keyUrl(bucket, "dir/hello.txt"));
    expect(await got.text()).toBe("hello world");
    expect(got.headers.get("content-type")).toBe("text/plain");
    expect(got.headers.get("x-amz-meta-owner")).toBe("ci");
    const head = await s3("HEAD", keyUrl(bucket, "dir/hello.txt"));
    expect(head.headers.get("content-length")).toBe("11");
    const ranged = await s3("GET", keyUrl(bucket, "dir/hello.txt"), {
      headers: { range: "bytes=6-" },
    });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe("world");
    await expectS3Error(
      await s3("GET", keyUrl(bucket, "dir/hello.txt"), { headers: { range: "bytes=50-60" } }),
      416,
      "InvalidRange",
    );
    const etag = res.headers.get("etag") as string;
    expect(
      (await s3("GET", keyUrl(bucket, "dir/hello.txt"), { headers: { "if-none-match": etag } }))
        .status,
    ).toBe(304);
    await expectS3Error(
      await s3("GET", keyUrl(bucket, "dir/hello.txt"), { headers: { "if-match": '"nope"' } }),
      412,
      "PreconditionFailed",
    );
    await expectS3Error(
      await s3("GET", `${keyUrl(bucket, "dir/hello.txt")}?response-expires=a%00b`),
      400,
      "InvalidArgument",
    );
    const override = await s3(
      "GET",
      `${keyUrl(bucket, "dir/hello.txt")}?response-content-type=application%2Fjson`,
    );
    expect(override.headers.get("content-type")).toBe("application/json");
    // The same file through the native API.
    expect(await (await api("GET", `/v1/shares/${bucket}/files/dir/hello.txt`)).text()).toBe(
      "hello world",
    );
  });

  it("create-only and compare-and-swap writes", async () => {
    const bucket = await newBucket();
    await put(bucket, "c", "one", { "if-none-match": "*" });
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "c"), { body: "two", headers: { "if-none-match": "*" } }),
      412,
      "PreconditionFailed",
    );
    const etag = await md5Etag("one");
    await put(bucket, "c", "three", { "if-match": etag });
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "c"), { body: "four", headers: { "if-match": etag } }),
      412,
      "PreconditionFailed",
    );
    expect(await (await s3("GET", keyUrl(bucket, "c"))).text()).toBe("three");
  });

  it("verifies a signed payload hash: a body that does not match writes nothing", async () => {
    const bucket = await newBucket();
    const ok = await s3("PUT", keyUrl(bucket, "h"), { body: "hashed", hashPayload: true });
    expect(ok.status).toBe(200);
    const bad = await s3("PUT", keyUrl(bucket, "h2"), {
      body: "hashed",
      headers: { "x-amz-content-sha256": "0".repeat(64) },
    });
    await expectS3Error(bad, 400, "XAmzContentSHA256Mismatch");
    expect((await api("GET", `/v1/shares/${bucket}/stat/h2`)).status).toBe(404);
    const md5 = await s3("PUT", keyUrl(bucket, "m"), {
      body: "content",
      headers: { "content-md5": "AAAAAAAAAAAAAAAAAAAAAA==" },
    });
    await expectS3Error(md5, 400, "BadDigest");
    expect((await api("GET", `/v1/shares/${bucket}/stat/m`)).status).toBe(404);
  });

  it("refuses keys no path can stand for, and names file/prefix conflicts", async () => {
    const bucket = await newBucket();
    for (const raw of ["a//b", "x%5Cy", "a/%01", "/lead"]) {
      const res = await s3("PUT", `/${bucket}/${raw}`, { body: "x" });
      await expectS3Error(res, 400, "InvalidArgument");
    }
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "k".repeat(1025)), { body: "x" }),
      400,
      "KeyTooLongError",
    );
    await put(bucket, "file", "x");
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "file/child"), { body: "y" }),
      409,
      "ParentIsObject",
    );
    await put(bucket, "dir/child", "y");
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "dir"), { body: "z" }),
      409,
      "ObjectExistsAsDirectory",
    );
    await expectS3Error(await s3("GET", keyUrl(bucket, "dir")), 404, "NoSuchKey");
    await expectS3Error(await s3("GET", keyUrl(bucket, "missing")), 404, "NoSuchKey");
  });

  it("a key ending in / is a directory; deletes are idempotent and prune empty prefixes", async () => {
    const bucket = await newBucket();
    expect((await s3("PUT", keyUrl(bucket, "empty/"), { body: "" })).status).toBe(200);
    expect((await api("GET", `/v1/shares/${bucket}/stat/empty`)).status).toBe(200);
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "full/"), { body: "bytes" }),
      400,
      "InvalidArgument",
    );
    await put(bucket, "x/y/z.txt", "z");
    expect((await s3("DELETE", keyUrl(bucket, "x/y/z.txt"))).status).toBe(204);
    expect((await s3("DELETE", keyUrl(bucket, "x/y/z.txt"))).status).toBe(204);
    // x/y and x went with their last object; the explicit empty directory stays.
    expect((await api("GET", `/v1/shares/${bucket}/stat/x`)).status).toBe(404);
    expect((await api("GET", `/v1/shares/${bucket}/stat/empty`)).status).toBe(200);
    // A file's key never removes a directory of that name.
    expect((await s3("DELETE", keyUrl(bucket, "empty"))).status).toBe(204);
    expect((await api("GET", `/v1/shares/${bucket}/stat/empty`)).status).toBe(200);
    expect((await s3("DELETE", keyUrl(bucket, "empty/"))).status).toBe(204);
    expect((await api("GET", `/v1/shares/${bucket}/stat/empty`)).status).toBe(404);
  });

  it("DeleteObjects removes many keys in one request, quietly if asked", async () => {
    const bucket = await newBucket();
    for (const k of ["a", "b", "c/d"]) await put(bucket, k, k);
    const body = `<Delete><Object><Key>a</Key></Object><Object><Key>c/d</Key></Object><Object><Key>nope</Key></Object><Object><Key>bad//key</Key></Object></Delete>`;
    const res = await s3("POST", `/${bucket}?delete`, { body });
    const xml = await res.text();
    expect(res.status, xml).toBe(200);
    expect(texts(xml, "Key").sort()).toEqual(["a", "bad//key", "c/d", "nope"]);
    expect(texts(xml, "Code")).toEqual(["InvalidArgument"]);
    expect((await api("GET", `/v1/shares/${bucket}/stat/a`)).status).toBe(404);
    expect((await api("GET", `/v1/shares/${bucket}/stat/b`)).status).toBe(200);
    const quiet = await s3("POST", `/${bucket}?delete`, {
      body: "<Delete><Quiet>true</Quiet><Object><Key>b</Key></Object></Delete>",
    });
    expect(texts(await quiet.text(), "Key")).toEqual([]);
    await expectS3Error(
      await s3("POST", `/${bucket}?delete`, { body: "<!DOCTYPE x><Delete/>" }),
      400,
      "MalformedXML",
    );
  });

  it("CopyObject keeps or replaces metadata and checks its source conditions", async () => {
    const bucket = await newBucket();
    const other = await newBucket();
    await put(bucket, "src", "copied", { "x-amz-meta-a": "1", "content-type": "text/csv" });
    const copy = await s3("PUT", keyUrl(bucket, "dst"), {
      headers: { "x-amz-copy-source": `/${bucket}/src` },
    });
    const xml = await copy.text();
    expect(copy.status, xml).toBe(200);
    expect(texts(xml, "ETag")).toEqual([await md5Etag("copied")]);
    const kept = await s3("HEAD", keyUrl(bucket, "dst"));
    expect(kept.headers.get("x-amz-meta-a")).toBe("1");
    expect(kept.headers.get("content-type")).toBe("text/csv");
    await s3("PUT", keyUrl(bucket, "dst2"), {
      headers: {
        "x-amz-copy-source": `${bucket}/src`,
        "x-amz-metadata-directive": "REPLACE",
        "x-amz-meta-b": "2",
      },
    });
    const replaced = await s3("HEAD", keyUrl(bucket, "dst2"));
    expect(replaced.headers.get("x-amz-meta-a")).toBeNull();
    expect(replaced.headers.get("x-amz-meta-b")).toBe("2");
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "dst3"), {
        headers: { "x-amz-copy-source": `/${bucket}/src`, "x-amz-copy-source-if-match": '"no"' },
      }),
      412,
      "PreconditionFailed",
    );
    // Onto itself: only to replace the metadata; the bytes and ETag stay.
    await expectS3Error(
      await s3("PUT", keyUrl(bucket, "src"), {
        headers: { "x-amz-copy-source": `/${bucket}/src` },
      }),
      400,
      "InvalidRequest",
    );
    const inPlace = await s3("PUT", keyUrl(bucket, "src"), {
      headers: {
        "x-amz-copy-source": `/${bucket}/src`,
        "x-amz-metadata-directive": "REPLACE",
        "x-amz-meta-mtime": "1700000000",
      },
    });
    expect(inPlace.status, await inPlace.clone().text()).toBe(200);
    const changed = await s3("HEAD", keyUrl(bucket, "src"));
    expect(changed.headers.get("x-amz-meta-mtime")).toBe("1700000000");
    expect(changed.headers.get("etag")).toBe(await md5Etag("copied"));
    // Across buckets the bytes stream through the Worker.
    const across = await s3("PUT", keyUrl(other, "from-elsewhere"), {
      headers: { "x-amz-copy-source": `/${bucket}/src` },
    });
    expect(across.status).toBe(200);
    expect(await (await s3("GET", keyUrl(other, "from-elsewhere"))).text()).toBe("copied");
  });
});

describe("S3 listing", () => {
  it("lists in S3's key order, with prefixes, delimiter and pagination", async () => {
    const bucket = await newBucket();
    const keys = ["a0", "a b/x", "a-b/y", "a.txt", "a/b/c", "a/d", "b/é.txt", "z"];
    for (const k of keys) await put(bucket, k, k);
    const utf8 = new TextEncoder();
    const byBytes = (x: string, y: string) => {
      const [a, b] = [utf8.encode(x), utf8.encode(y)];
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
      }
      return a.length - b.length;
    };
    const sorted = [...keys].sort(byBytes);
    // One key per page: continuation tokens walk every key exactly once, in order.
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 20; i++) {
      const q = `list-type=2&max-keys=1${token ? `&continuation-token=${encodeURIComponent(token)}` : ""}`;
      const xml = await (await s3("GET", `/${bucket}?${q}`)).text();
      seen.push(...texts(xml, "Key"));
      token = texts(xml, "NextContinuationToken")[0];
      if (!token) break;
    }
    expect(seen).toEqual(sorted);
    const rolled = await (await s3("GET", `/${bucket}?list-type=2&delimiter=%2F`)).text();
    expect(texts(rolled, "Key")).toEqual(["a.txt", "a0", "z"]);
    expect(texts(rolled, "Prefix").slice(1)).toEqual(["a b/", "a-b/", "a/", "b/"]);
    const prefixed = await (await s3("GET", `/${bucket}?list-type=2&prefix=a%2F`)).text();
    expect(texts(prefixed, "Key")).toEqual(["a/b/c", "a/d"]);
    const after = await (await s3("GET", `/${bucket}?list-type=2&start-after=a.txt`)).text();
    expect(texts(after, "Key")).toEqual(["a/b/c", "a/d", "a0", "b/é.txt", "z"]);
    const encoded = await (
      await s3("GET", `/${bucket}?list-type=2&encoding-type=url&prefix=b`)
    ).text();
    expect(texts(encoded, "Key")).toEqual([encodeURIComponent("b/é.txt")]);
    const v1 = await (await s3("GET", `/${bucket}?max-keys=3`)).text();
    expect(texts(v1, "Key")).toEqual(sorted.slice(0, 3));
    expect(texts(v1, "IsTruncated")).toEqual(["true"]);
    expect(texts(v1, "NextMarker")).toEqual([sorted[2]]);
  });

  it("sends its XML uncompressed, as written (Go clients that ask for gzip read it as XML)", async () => {
    const bucket = await newBucket();
    const res = await s3("GET", `/${bucket}?list-type=2`, {
      headers: { "accept-encoding": "gzip" },
    });
    expect(res.headers.get("content-type")).toBe("application/xml");
    expect(res.headers.get("content-encoding")).toBe("identity");
    expect(res.headers.get("cache-control")).toBe("no-transform");
    expect(await res.text()).toMatch(/^<\?xml/);
  });

  it("shows an empty directory as the object dir/", async () => {
    const bucket = await newBucket();
    await api("PUT", `/v1/shares/${bucket}/files/made/`);
    await put(bucket, "full/f", "f");
    const xml = await (await s3("GET", `/${bucket}?list-type=2`)).text();
    expect(texts(xml, "Key")).toEqual(["full/f", "made/"]);
  });
});

describe("S3 multipart uploads", () => {
  it("uploads parts in any order, completes with S3's ETag, lists and aborts", async () => {
    const bucket = await newBucket();
    const created = await (await s3("POST", `${keyUrl(bucket, "big.bin")}?uploads`)).text();
    const [uploadId] = texts(created, "UploadId");
    expect(uploadId).toBeTruthy();
    const part = (n: number, size: number) => new Uint8Array(size).fill(n);
    const MiB = 1024 * 1024;
    const q = (n: number) =>
      `${keyUrl(bucket, "big.bin")}?partNumber=${n}&uploadId=${encodeURIComponent(uploadId as string)}`;
    const etags: string[] = [];
    for (const [n, size] of [
      [2, 100],
      [1, 5 * MiB],
    ] as const) {
      const res = await s3("PUT", q(n), { body: part(n, size) });
      expect(res.status, await res.clone().text()).toBe(200);
      etags[n] = res.headers.get("etag") as string;
      expect(etags[n]).toBe(await md5Etag(part(n, size)));
    }
    const listed = await (
      await s3(
        "GET",
        `${keyUrl(bucket, "big.bin")}?uploadId=${encodeURIComponent(uploadId as string)}`,
      )
    ).text();
    expect(texts(listed, "PartNumber")).toEqual(["1", "2"]);
    const uploads = await (await s3("GET", `/${bucket}?uploads`)).text();
    expect(texts(uploads, "UploadId")).toEqual([uploadId]);
    const done = await s3(
      "POST",
      `${keyUrl(bucket, "big.bin")}?uploadId=${encodeURIComponent(uploadId as string)}`,
      {
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etags[1]}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>${etags[2]}</ETag></Part></CompleteMultipartUpload>`,
      },
    );
    const xml = await done.text();
    expect(done.status, xml).toBe(200);
    expect(texts(xml, "ETag")[0]).toMatch(/^"[0-9a-f]{32}-2"$/);
    const head = await s3("HEAD", keyUrl(bucket, "big.bin"));
    expect(head.headers.get("content-length")).toBe(String(5 * MiB + 100));
    expect(head.headers.get("etag")).toBe(texts(xml, "ETag")[0]);
    // Another upload, aborted: it is gone.
    const second = texts(
      await (await s3("POST", `${keyUrl(bucket, "gone")}?uploads`)).text(),
      "UploadId",
    )[0] as string;
    expect(
      (await s3("DELETE", `${keyUrl(bucket, "gone")}?uploadId=${encodeURIComponent(second)}`))
        .status,
    ).toBe(204);
    await expectS3Error(
      await s3(
        "PUT",
        `${keyUrl(bucket, "gone")}?partNumber=1&uploadId=${encodeURIComponent(second)}`,
        { body: "x" },
      ),
      404,
      "NoSuchUpload",
    );
  });
});

describe("S3 versions", () => {
  it("reads old versions by versionId and lists them", async () => {
    const bucket = await newBucket();
    // Old versions stay while a snapshot holds them (no retention window in these tests).
    const v1 = (await put(bucket, "v.txt", "first")).headers.get("x-amz-version-id") as string;
    expect(
      (
        await api("POST", `/v1/shares/${bucket}/snapshots`, {
          body: JSON.stringify({ name: "keep" }),
        })
      ).status,
    ).toBe(201);
    const v2 = (await put(bucket, "v.txt", "second")).headers.get("x-amz-version-id") as string;
    expect(Number(v2)).toBeGreaterThan(Number(v1));
    expect(await (await s3("GET", `${keyUrl(bucket, "v.txt")}?versionId=${v1}`)).text()).toBe(
      "first",
    );
    expect(await (await s3("GET", keyUrl(bucket, "v.txt"))).text()).toBe("second");
    // The live state keeps its id however far the share moves on (no retention window here).
    await put(bucket, "other.txt", "moves the share on");
    expect(await (await s3("GET", `${keyUrl(bucket, "v.txt")}?versionId=${v2}`)).text()).toBe(
      "second",
    );
    await expectS3Error(
      await s3("GET", `${keyUrl(bucket, "other.txt")}?versionId=${v2}`),
      404,
      "NoSuchVersion",
    );
    const xml = await (await s3("GET", `/${bucket}?versions&prefix=v`)).text();
    expect(texts(xml, "VersionId")).toEqual([v2, v1]);
    expect(texts(xml, "IsLatest")).toEqual(["true", "false"]);
  });
});

describe("S3 addressing", () => {
  it("takes virtual-hosted requests at {bucket}.EDGEFS_S3_HOST", async () => {
    const bucket = await newBucket();
    await put(bucket, "v/h.txt", "virtual");
    const res = await s3("GET", "/v/h.txt", { host: `${bucket}.s3.edgefs.test` });
    expect(await res.text()).toBe("virtual");
    const listed = await (
      await s3("GET", "/?list-type=2", { host: `${bucket}.s3.edgefs.test` })
    ).text();
    expect(texts(listed, "Key")).toEqual(["v/h.txt"]);
  });
});

describe("S3 CORS", () => {
  it("answers a browser's preflight for a presigned URL from an allowed origin", async () => {
    const bucket = await newShare("cors");
    const res = await api("OPTIONS", `/${bucket}/file.txt`, {
      token: null,
      headers: { origin: "https://app.example", "access-control-request-method": "PUT" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });
});
