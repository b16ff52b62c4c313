import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deriveSigningKey,
  type SigV4Auth,
  sha256Hex,
  signWith,
  verifySigV4,
} from "../../src/auth/sigv4";
import { crc32, crc32c, crc64nvme } from "../../src/core/crc";
import { FsError } from "../../src/core/errors";
import { verifiedBody } from "../../src/s3api/payload";

const AKID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const NOW = Date.UTC(2013, 4, 24);
const SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const enc = new TextEncoder();

const concat = (parts: (string | Uint8Array)[]) => {
  const bytes = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
};

/** A stream delivering the bytes in pieces cut at the given offsets. */
const piecewise = (bytes: Uint8Array, cuts: number[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      let from = 0;
      for (const cut of [...cuts, bytes.length]) {
        if (cut > from) c.enqueue(bytes.slice(from, cut));
        from = Math.max(from, cut);
      }
      c.close();
    },
  });

/** Reads a verified body to its end: the bytes, or the FsError reason it errored with. */
async function drain(body: {
  stream: ReadableStream<Uint8Array> | null;
}): Promise<Uint8Array | string> {
  if (!body.stream) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  try {
    for await (const part of body.stream) parts.push(part);
  } catch (e) {
    if (e instanceof FsError) return `${e.code}/${e.reason}`;
    throw e;
  }
  return concat(parts);
}

const reasonOfCall = (f: () => unknown) => {
  try {
    f();
    return "ok";
  } catch (e) {
    if (e instanceof FsError) return `${e.code}/${e.reason}`;
    throw e;
  }
};

// docs: "Transferring Payload in Multiple Chunks" — the PUT example: 65536 + 1024 bytes of 'a'.
const CHUNK1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
const CHUNK2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
const FINAL = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";
const exampleBody = (sig1 = CHUNK1) =>
  concat([
    `10000;chunk-signature=${sig1}\r\n`,
    new Uint8Array(65536).fill(0x61),
    `\r\n400;chunk-signature=${CHUNK2}\r\n`,
    new Uint8Array(1024).fill(0x61),
    `\r\n0;chunk-signature=${FINAL}\r\n\r\n`,
  ]);

async function exampleRequest(body: BodyInit) {
  const request = new Request("https://s3.amazonaws.com/examplebucket/chunkObject.txt", {
    method: "PUT",
    body,
    headers: {
      "x-amz-date": "20130524T000000Z",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
      Authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${SEED}`,
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "Content-Encoding": "aws-chunked",
      "x-amz-decoded-content-length": "66560",
      "Content-Length": "66824",
    },
  });
  return { request, auth: await verifySigV4(request, NOW, async () => [SECRET]) };
}

describe("aws-chunked with chunk signatures (AWS's published example)", () => {
  it("decodes and verifies every chunk signature", async () => {
    const { request, auth } = await exampleRequest(exampleBody());
    const body = verifiedBody(request, auth);
    expect(body.length).toBe(66560);
    const bytes = await drain(body);
    expect(bytes).toEqual(new Uint8Array(66560).fill(0x61));
  });
  it("a wrong chunk signature is SignatureDoesNotMatch", async () => {
    const { request, auth } = await exampleRequest(exampleBody(CHUNK2));
    expect(await drain(verifiedBody(request, auth))).toBe("EUNAUTHENTICATED/SignatureDoesNotMatch");
  });
  it("the example split at many byte boundaries still verifies", async () => {
    const bytes = exampleBody();
    for (const cut of [
      1, 2, 21, 22, 87, 88, 89, 65624, 65625, 65626, 65711, 66736, 66738, 66822, 66823,
    ]) {
      const { request, auth } = await exampleRequest(bytes);
      const body = verifiedBody(new Request(request, { body: piecewise(bytes, [cut]) }), auth);
      expect((await drain(body)) as Uint8Array, `cut ${cut}`).toHaveLength(66560);
    }
  });
});

/** An aws-chunked body signed chunk by chunk from a seed signature, as a client builds it. */
async function signChunks(auth: SigV4Auth, chunks: string[], trailer?: string) {
  let previous = auth.signature;
  const parts: string[] = [];
  for (const chunk of [...chunks, ""]) {
    const sts = [
      "AWS4-HMAC-SHA256-PAYLOAD",
      auth.datetime,
      `${auth.date}/${auth.region}/s3/aws4_request`,
      previous,
      EMPTY,
      await sha256Hex(chunk),
    ].join("\n");
    previous = await signWith(auth.signingKey, sts);
    parts.push(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n${chunk}`);
    if (chunk !== "" || trailer === undefined) parts.push("\r\n");
  }
  if (trailer !== undefined) {
    const sts = [
      "AWS4-HMAC-SHA256-TRAILER",
      auth.datetime,
      `${auth.date}/${auth.region}/s3/aws4_request`,
      previous,
      await sha256Hex(`${trailer}\n`),
    ].join("\n");
    parts.push(
      `${trailer}\r\nx-amz-trailer-signature:${await signWith(auth.signingKey, sts)}\r\n\r\n`,
    );
  }
  return enc.encode(parts.join(""));
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const crcOf = (make: typeof crc32, data: Uint8Array) => {
  const c = make();
  c.update(data);
  return b64(c.digest());
};

async function streamingRequest(mode: string, headers: Record<string, string>) {
  const key = await deriveSigningKey(SECRET, "20130524", "us-east-1");
  const auth: SigV4Auth = {
    accessKeyId: AKID,
    region: "us-east-1",
    date: "20130524",
    datetime: "20130524T000000Z",
    payload:
      mode === "unsigned-trailer"
        ? { kind: "unsigned-trailer" }
        : { kind: "chunked", trailer: mode === "chunked-trailer" },
    presigned: false,
    signature: SEED,
    signingKey: key,
  };
  return {
    auth,
    request: (body: BodyInit) =>
      new Request("https://gw.example/b/k", { method: "PUT", body, headers }),
  };
}

describe("aws-chunked framing", () => {
  const chunks = ["hello ", "chunked ", "world"];
  const decoded = "hello chunked world";
  it("split at every byte boundary, the signed body verifies", async () => {
    const { auth, request } = await streamingRequest("chunked", {
      "x-amz-decoded-content-length": "19",
    });
    const bytes = await signChunks(auth, chunks);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const body = verifiedBody(request(piecewise(bytes, [cut])), auth);
      expect(new TextDecoder().decode((await drain(body)) as Uint8Array), `cut ${cut}`).toBe(
        decoded,
      );
    }
  });
  it("hostile: any change to a signed chunked body fails with an FsError, however it is split", async () => {
    const { auth, request } = await streamingRequest("chunked", {
      "x-amz-decoded-content-length": "19",
    });
    const bytes = await signChunks(auth, chunks);
    const edit = fc.oneof(
      fc.record({
        op: fc.constant("flip" as const),
        at: fc.nat(),
        bit: fc.integer({ min: 0, max: 7 }),
      }),
      fc.record({
        op: fc.constant("insert" as const),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        async (edits, cut) => {
          let mutated = bytes.slice();
          for (const e of edits) {
            const at = e.at % (mutated.length + (e.op === "insert" ? 1 : 0));
            if (e.op === "flip") mutated[at] = (mutated[at] as number) ^ (1 << e.bit);
            else if (e.op === "insert")
              mutated = concat([mutated.slice(0, at), new Uint8Array([e.byte]), mutated.slice(at)]);
            else mutated = concat([mutated.slice(0, at), mutated.slice(at + 1)]);
          }
          if (mutated.length === bytes.length && mutated.every((b, i) => b === bytes[i])) return;
          // The sizes (6, 8, 5, 0) have no hex letters, so no edit leaves an equivalent body.
          const result = await drain(
            verifiedBody(request(piecewise(mutated, [cut % (mutated.length + 1)])), auth),
          );
          expect(typeof result, new TextDecoder().decode(mutated)).toBe("string");
        },
      ),
      { numRuns: 200 },
    );
  });
  it("a truncated chunk is IncompleteBody; a short declared length fails too", async () => {
    const { auth, request } = await streamingRequest("chunked", {
      "x-amz-decoded-content-length": "19",
    });
    const bytes = await signChunks(auth, chunks);
    for (const cut of [10, 100, bytes.length - 3]) {
      expect(await drain(verifiedBody(request(bytes.slice(0, cut)), auth)), `cut ${cut}`).toBe(
        "EINVAL/IncompleteBody",
      );
    }
    const short = await streamingRequest("chunked", { "x-amz-decoded-content-length": "10" });
    expect(await drain(verifiedBody(short.request(bytes), short.auth))).toBe(
      "EINVAL/InvalidRequest",
    );
    const long = await streamingRequest("chunked", { "x-amz-decoded-content-length": "20" });
    expect(await drain(verifiedBody(long.request(bytes), long.auth))).toBe("EINVAL/IncompleteBody");
  });
  it("bad framing is InvalidRequest and a header line is bounded", async () => {
    const { auth, request } = await streamingRequest("chunked", {
      "x-amz-decoded-content-length": "19",
    });
    const bad = [
      "zz;chunk-signature=00\r\n",
      "5\r\nhello\r\n",
      `${"1".repeat(5000)}\r\n`,
      `${"a".repeat(5000)}`,
    ];
    for (const text of bad) {
      expect(await drain(verifiedBody(request(text), auth)), text.slice(0, 20)).toBe(
        "EINVAL/InvalidRequest",
      );
    }
    // A huge declared chunk size allocates nothing: it is refused against the declared length.
    expect(
      await drain(
        verifiedBody(request(`ffffffffffff;chunk-signature=${"0".repeat(64)}\r\n`), auth),
      ),
    ).toBe("EINVAL/InvalidRequest");
    // Bytes after the final chunk.
    const bytes = await signChunks(auth, chunks);
    expect(await drain(verifiedBody(request(concat([bytes, "x"])), auth))).toBe(
      "EINVAL/InvalidRequest",
    );
    expect(
      reasonOfCall(() =>
        verifiedBody(new Request("https://gw.example/", { method: "PUT", body: "x" }), auth),
      ),
    ).toBe("EINVAL/MissingContentLength");
  });
  it("a signed trailer with its checksum verifies; a wrong checksum is BadDigest; a forged trailer signature fails", async () => {
    const data = enc.encode(decoded);
    const headers = {
      "x-amz-decoded-content-length": "19",
      "x-amz-trailer": "x-amz-checksum-crc32c",
    };
    const { auth, request } = await streamingRequest("chunked-trailer", headers);
    const good = await signChunks(auth, chunks, `x-amz-checksum-crc32c:${crcOf(crc32c, data)}`);
    expect(await drain(verifiedBody(request(good), auth))).toEqual(data);
    const wrong = await signChunks(
      auth,
      chunks,
      `x-amz-checksum-crc32c:${crcOf(crc32c, enc.encode("other"))}`,
    );
    expect(await drain(verifiedBody(request(wrong), auth))).toBe("EINVAL/BadDigest");
    const text = new TextDecoder().decode(good);
    const forged = text.replace(
      /x-amz-checksum-crc32c:[^\r]+/,
      `x-amz-checksum-crc32c:${crcOf(crc32c, enc.encode("x"))}`,
    );
    expect(await drain(verifiedBody(request(forged), auth))).toBe(
      "EUNAUTHENTICATED/SignatureDoesNotMatch",
    );
  });
  it("STREAMING-UNSIGNED-PAYLOAD-TRAILER: the trailer checksum is verified", async () => {
    const data = enc.encode(decoded);
    const headers = {
      "x-amz-decoded-content-length": "19",
      "x-amz-trailer": "x-amz-checksum-crc32",
    };
    const { auth, request } = await streamingRequest("unsigned-trailer", headers);
    const body = (checksum: string) =>
      `6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:${checksum}\r\n\r\n`;
    const good = enc.encode(body(crcOf(crc32, data)));
    for (let cut = 0; cut <= good.length; cut += 7) {
      expect(await drain(verifiedBody(request(piecewise(good, [cut])), auth))).toEqual(data);
    }
    expect(await drain(verifiedBody(request(body(crcOf(crc32, enc.encode("no")))), auth))).toBe(
      "EINVAL/BadDigest",
    );
    expect(await drain(verifiedBody(request(body("!!")), auth))).toBe("EINVAL/InvalidDigest");
    expect(
      await drain(
        verifiedBody(request("6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n"), auth),
      ),
    ).toBe("EINVAL/InvalidRequest");
  });
});

const random = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
};

async function plainRequest(
  body: Uint8Array | null,
  headers: Record<string, string>,
  payload: SigV4Auth["payload"],
) {
  const auth: SigV4Auth = {
    accessKeyId: AKID,
    region: "us-east-1",
    date: "20130524",
    datetime: "20130524T000000Z",
    payload,
    presigned: false,
    signature: SEED,
    signingKey: new ArrayBuffer(32),
  };
  // Content-Length as a client sends it (a Request built here does not list it).
  const withLength = body ? { "content-length": String(body.length), ...headers } : headers;
  return {
    auth,
    request: new Request("https://gw.example/b/k", { method: "PUT", body, headers: withLength }),
  };
}

describe("x-amz-content-sha256 and checksums on a plain body", () => {
  it("a matching SHA-256 passes the bytes through; a wrong one errors the stream at its end", async () => {
    const data = random(100_000);
    const hex = await sha256Hex(data);
    const ok = await plainRequest(data, {}, { kind: "sha256", hex });
    const body = verifiedBody(ok.request, ok.auth);
    expect(body.length).toBe(100_000);
    expect(await drain(body)).toEqual(data);
    const bad = await plainRequest(data, {}, { kind: "sha256", hex: EMPTY });
    expect(await drain(verifiedBody(bad.request, bad.auth))).toBe(
      "EINVAL/XAmzContentSHA256Mismatch",
    );
    const empty = await plainRequest(null, {}, { kind: "sha256", hex });
    expect(await drain(verifiedBody(empty.request, empty.auth))).toBe(
      "EINVAL/XAmzContentSHA256Mismatch",
    );
  });
  it("an unsigned body without checksums is the request's own stream", async () => {
    const { auth, request } = await plainRequest(enc.encode("abc"), {}, { kind: "unsigned" });
    const body = verifiedBody(request, auth);
    expect(body).toEqual({ stream: request.body, length: 3 });
  });
  const data = random(256 * 1024);
  const digest = async (alg: string) => b64(new Uint8Array(await crypto.subtle.digest(alg, data)));
  const algorithms: [string, () => Promise<string>][] = [
    ["crc32", async () => crcOf(crc32, data)],
    ["crc32c", async () => crcOf(crc32c, data)],
    ["crc64nvme", async () => crcOf(crc64nvme, data)],
    ["sha1", () => digest("SHA-1")],
    ["sha256", () => digest("SHA-256")],
  ];
  for (const [name, expected] of algorithms) {
    it(`a 256 KiB random body with x-amz-checksum-${name}: match passes, mismatch is BadDigest`, async () => {
      const value = await expected();
      const ok = await plainRequest(
        data,
        { [`x-amz-checksum-${name}`]: value },
        { kind: "unsigned" },
      );
      expect(await drain(verifiedBody(ok.request, ok.auth))).toEqual(data);
      const flipped = data.slice();
      flipped[12345] = (flipped[12345] as number) ^ 1;
      const bad = await plainRequest(
        flipped,
        { [`x-amz-checksum-${name}`]: value },
        { kind: "unsigned" },
      );
      expect(await drain(verifiedBody(bad.request, bad.auth))).toBe("EINVAL/BadDigest");
    });
  }
  it("Content-MD5: match passes, mismatch is BadDigest, malformed is InvalidDigest", async () => {
    const md5 = b64(new Uint8Array(await crypto.subtle.digest("MD5", data)));
    const ok = await plainRequest(data, { "content-md5": md5 }, { kind: "unsigned" });
    expect(await drain(verifiedBody(ok.request, ok.auth))).toEqual(data);
    const bad = await plainRequest(enc.encode("x"), { "content-md5": md5 }, { kind: "unsigned" });
    expect(await drain(verifiedBody(bad.request, bad.auth))).toBe("EINVAL/BadDigest");
    const malformed = await plainRequest(
      enc.encode("x"),
      { "content-md5": "abc" },
      { kind: "unsigned" },
    );
    expect(reasonOfCall(() => verifiedBody(malformed.request, malformed.auth))).toBe(
      "EINVAL/InvalidDigest",
    );
  });
  it("two checksum algorithms at once is InvalidRequest", async () => {
    const { auth, request } = await plainRequest(
      enc.encode("x"),
      { "x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha1": b64(new Uint8Array(20)) },
      { kind: "unsigned" },
    );
    expect(reasonOfCall(() => verifiedBody(request, auth))).toBe("EINVAL/InvalidRequest");
  });
});
