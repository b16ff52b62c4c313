import { AwsV4Signer } from "aws4fetch";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deriveSigningKey, isSigV4, sha256Hex, signWith, verifySigV4 } from "../../src/auth/sigv4";
import { FsError } from "../../src/core/errors";

// AWS's documented S3 example credentials.
const AKID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EXAMPLE_NOW = Date.UTC(2013, 4, 24, 0, 0, 0);
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const secrets = (map: Record<string, string[]>) => async (id: string) => map[id] ?? [];
const known = secrets({ [AKID]: [SECRET] });

/** The FsError reason a verification fails with ("ok" when it verifies). */
async function reasonOf(request: Request, now = EXAMPLE_NOW, of = known): Promise<string> {
  try {
    await verifySigV4(request, now, of);
    return "ok";
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    return `${e.code}/${e.reason}`;
  }
}

// docs: "Signature Calculations for the Authorization Header: Transferring Payload in a
// Single Chunk" — the GET Object example.
const getObjectExample = (
  headers: Record<string, string> = {},
  url = "https://examplebucket.s3.amazonaws.com/test.txt",
) =>
  new Request(url, {
    headers: {
      Host: "examplebucket.s3.amazonaws.com",
      Range: "bytes=0-9",
      "x-amz-content-sha256": EMPTY,
      "x-amz-date": "20130524T000000Z",
      Authorization:
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
      ...headers,
    },
  });

// docs: "Authenticating Requests: Using Query Parameters" — the presigned GET example.
const PRESIGNED_EXAMPLE =
  "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

describe("AWS's documented S3 examples", () => {
  it("GET Object with the Authorization header verifies", async () => {
    const auth = await verifySigV4(getObjectExample(), EXAMPLE_NOW, known);
    expect(auth).toMatchObject({
      accessKeyId: AKID,
      region: "us-east-1",
      date: "20130524",
      datetime: "20130524T000000Z",
      payload: { kind: "sha256", hex: EMPTY },
      presigned: false,
      signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    });
  });
  it("the presigned GET URL verifies, with its expiry", async () => {
    const auth = await verifySigV4(new Request(PRESIGNED_EXAMPLE), EXAMPLE_NOW + 1000, known);
    expect(auth).toMatchObject({
      presigned: true,
      payload: { kind: "unsigned" },
      expiresAt: EXAMPLE_NOW + 86400_000,
      region: "us-east-1",
    });
  });
  it("the chunked-upload PUT verifies its seed signature", async () => {
    const request = new Request("https://s3.amazonaws.com/examplebucket/chunkObject.txt", {
      method: "PUT",
      headers: {
        Host: "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        Authorization:
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "Content-Length": "66824",
      },
    });
    const auth = await verifySigV4(request, EXAMPLE_NOW, known);
    expect(auth.payload).toEqual({ kind: "chunked", trailer: false });
    expect(auth.signature).toBe("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  });
  it("is an S3 request by its Authorization header or presigned query", () => {
    expect(isSigV4(getObjectExample())).toBe(true);
    expect(isSigV4(new Request(PRESIGNED_EXAMPLE))).toBe(true);
    expect(isSigV4(new Request("https://h.example/a?X-Amz-Credential=x"))).toBe(true);
    expect(
      isSigV4(new Request("https://h.example/a", { headers: { Authorization: "Bearer t" } })),
    ).toBe(false);
    expect(isSigV4(new Request("https://h.example/a?sig=1"))).toBe(false);
  });
});

describe("error reasons", () => {
  it("a wrong signature is SignatureDoesNotMatch; a changed signed header too", async () => {
    const wrong = getObjectExample();
    wrong.headers.set("range", "bytes=0-10");
    expect(await reasonOf(wrong)).toBe("EUNAUTHENTICATED/SignatureDoesNotMatch");
    expect(
      await reasonOf(getObjectExample({}, "https://examplebucket.s3.amazonaws.com/test.txtx")),
    ).toBe("EUNAUTHENTICATED/SignatureDoesNotMatch");
    expect(
      await reasonOf(getObjectExample(), EXAMPLE_NOW, secrets({ [AKID]: ["not-the-secret"] })),
    ).toBe("EUNAUTHENTICATED/SignatureDoesNotMatch");
  });
  it("the previous secret of a rotation still verifies", async () => {
    expect(
      await reasonOf(getObjectExample(), EXAMPLE_NOW, secrets({ [AKID]: ["new-secret", SECRET] })),
    ).toBe("ok");
  });
  it("an unsigned x-amz-* header is AccessDenied; x-amz-user-agent may go unsigned", async () => {
    expect(await reasonOf(getObjectExample({ "x-amz-meta-added": "1" }))).toBe(
      "EACCES/AccessDenied",
    );
    const presigned = new Request(PRESIGNED_EXAMPLE, { headers: { "x-amz-copy-source": "/b/k" } });
    expect(await reasonOf(presigned, EXAMPLE_NOW)).toBe("EACCES/AccessDenied");
    expect(await reasonOf(getObjectExample({ "x-amz-user-agent": "sdk/1" }))).toBe("ok");
  });
  it("repeated request headers arrive joined by ', ', which is what gets canonicalized", () => {
    const headers = new Headers([
      ["my-header1", "value2"],
      ["my-header1", "value1"],
    ]);
    expect(headers.get("my-header1")).toBe("value2, value1");
  });
  it("an unknown key is InvalidAccessKeyId", async () => {
    expect(await reasonOf(getObjectExample(), EXAMPLE_NOW, secrets({}))).toBe(
      "EUNAUTHENTICATED/InvalidAccessKeyId",
    );
  });
  it("a clock more than 15 minutes off is RequestTimeTooSkewed", async () => {
    expect(await reasonOf(getObjectExample(), EXAMPLE_NOW + 15 * 60_000)).toBe("ok");
    expect(await reasonOf(getObjectExample(), EXAMPLE_NOW + 15 * 60_000 + 1000)).toBe(
      "EACCES/RequestTimeTooSkewed",
    );
    expect(await reasonOf(getObjectExample(), EXAMPLE_NOW - 16 * 60_000)).toBe(
      "EACCES/RequestTimeTooSkewed",
    );
  });
  it("an expired presigned URL is AccessDenied", async () => {
    expect(await reasonOf(new Request(PRESIGNED_EXAMPLE), EXAMPLE_NOW + 86400_000)).toBe("ok");
    expect(await reasonOf(new Request(PRESIGNED_EXAMPLE), EXAMPLE_NOW + 86401_000)).toBe(
      "EACCES/AccessDenied",
    );
  });
  const authz = (
    credential: string,
    rest = "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  ) => getObjectExample({ Authorization: `AWS4-HMAC-SHA256 Credential=${credential},${rest}` });
  it("a malformed Authorization header is AuthorizationHeaderMalformed", async () => {
    const bad = [
      authz("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/ec2/aws4_request"),
      authz("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws5_request"),
      authz("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3"),
      authz("AKIAIOSFODNN7EXAMPLE/20130525/us-east-1/s3/aws4_request"),
      authz(
        "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
        "SignedHeaders=range;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
      ),
      authz(
        "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
        "SignedHeaders=host;x-amz-content-sha256,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
      ),
      authz(
        "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
        "SignedHeaders=host;x-amz-date;x-missing,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
      ),
      authz(
        "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
        "SignedHeaders=host;x-amz-date,Signature=F0",
      ),
      authz(
        "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
        "SignedHeaders=host;x-amz-date",
      ),
      getObjectExample({ Authorization: "AWS4-HMAC-SHA256" }),
      getObjectExample({ Authorization: "AWS4-HMAC-SHA512 Credential=x" }),
    ];
    for (const request of bad) {
      expect(await reasonOf(request), request.headers.get("authorization") ?? "").toBe(
        "EINVAL/AuthorizationHeaderMalformed",
      );
    }
  });
  it("a header-signed request without x-amz-content-sha256 is InvalidRequest", async () => {
    const request = getObjectExample();
    request.headers.delete("x-amz-content-sha256");
    expect(await reasonOf(request)).toBe("EINVAL/InvalidRequest");
    request.headers.set("x-amz-content-sha256", "nonsense");
    expect(await reasonOf(request)).toBe("EINVAL/InvalidArgument");
  });
  it("malformed presigned parameters are AuthorizationQueryParametersError", async () => {
    const variants: [string, string][] = [
      ["X-Amz-Expires=86400", "X-Amz-Expires=604801"],
      ["X-Amz-Expires=86400", "X-Amz-Expires=0"],
      ["X-Amz-Expires=86400", "X-Amz-Expires=abc"],
      ["X-Amz-Expires=86400&", ""],
      ["%2Fs3%2F", "%2Fsts%2F"],
      ["aws4_request", "aws4_reques"],
      ["X-Amz-Date=20130524T000000Z", "X-Amz-Date=2013-05-24"],
      ["X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"],
      ["X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range"],
      ["X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host&X-Amz-SignedHeaders=host"],
    ];
    for (const [from, to] of variants) {
      expect(
        await reasonOf(new Request(PRESIGNED_EXAMPLE.replace(from, to)), EXAMPLE_NOW),
        to,
      ).toBe("EINVAL/AuthorizationQueryParametersError");
    }
  });
  it("both the header and the query is InvalidArgument; a non-AWS4 scheme never verifies", async () => {
    const both = new Request(PRESIGNED_EXAMPLE, {
      headers: { Authorization: getObjectExample().headers.get("authorization") as string },
    });
    expect(await reasonOf(both)).toBe("EINVAL/InvalidArgument");
  });
});

/** Signs with aws4fetch, the independent implementation. */
async function signed(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    signQuery?: boolean;
    datetime?: string;
  } = {},
  secret = SECRET,
): Promise<Request> {
  const signer = new AwsV4Signer({
    url,
    method: init.method ?? "GET",
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
    accessKeyId: AKID,
    secretAccessKey: secret,
    service: "s3",
    region: "auto",
    datetime: init.datetime ?? "20260102T030405Z",
    ...(init.signQuery ? { signQuery: true } : {}),
  });
  const out = await signer.sign();
  return new Request(out.url.toString(), {
    method: out.method,
    headers: out.headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

const encodePath = (key: string) => key.split("/").map(encodeURIComponent).join("/");

describe("requests signed by aws4fetch", () => {
  const keys = [
    "plain.txt",
    "a b.txt",
    "a+b",
    "tilde~x",
    "ünï/cödé €",
    "x=y&z",
    "dir/sub/file (1)!",
    "*'",
  ];
  for (const key of keys) {
    for (const signQuery of [false, true]) {
      it(`key ${JSON.stringify(key)} ${signQuery ? "presigned" : "header"} verifies, in region auto`, async () => {
        const request = await signed(
          `https://gw.example/bucket/${encodePath(key)}?x-id=GetObject`,
          { signQuery },
        );
        const auth = await verifySigV4(request, NOW, known);
        expect(auth.region).toBe("auto");
        expect(auth.presigned).toBe(signQuery);
      });
    }
  }
  it("a query with spaces, '+' and repeated characters verifies", async () => {
    const request = await signed(
      "https://gw.example/bucket?list-type=2&prefix=a%20b%2Bc&delimiter=%2F&start-after=%E2%82%AC",
    );
    expect(await reasonOf(request, NOW)).toBe("ok");
    // '+' in the raw query is a space: the same parameters written with '+' verify too.
    const plus = new Request(request.url.replace("a%20b", "a+b"), { headers: request.headers });
    expect(await reasonOf(plus, NOW)).toBe("ok");
  });
  it("a PUT with a signed body hash verifies", async () => {
    const body = "hello, s3";
    const request = await signed("https://gw.example/bucket/k", {
      method: "PUT",
      body,
      headers: { "x-amz-content-sha256": await sha256Hex(body), "content-type": "text/plain" },
    });
    const auth = await verifySigV4(request, NOW, known);
    expect(auth.payload).toEqual({ kind: "sha256", hex: await sha256Hex(body) });
  });
  it("a bare '+' in the path is a space, as aws4fetch signs it and S3 reads it", async () => {
    const request = await signed("https://gw.example/bucket/a+b");
    expect(await reasonOf(request, NOW)).toBe("ok");
    const asSpace = new Request(request.url.replace("a+b", "a%20b"), { headers: request.headers });
    expect(await reasonOf(asSpace, NOW)).toBe("ok");
    const asPlus = new Request(request.url.replace("a+b", "a%2Bb"), { headers: request.headers });
    expect(await reasonOf(asPlus, NOW)).toBe("EUNAUTHENTICATED/SignatureDoesNotMatch");
  });
  it("an encoded slash is part of the key: signed for /a/b, sent as /a%2Fb, it fails", async () => {
    const request = await signed("https://gw.example/bucket/a/b");
    const moved = new Request(request.url.replace("/a/b", "/a%2Fb"), { headers: request.headers });
    expect(await reasonOf(moved, NOW)).toBe("EUNAUTHENTICATED/SignatureDoesNotMatch");
  });
  it("a key with %2F verifies against its canonical request written out by hand", async () => {
    // The canonical request as the SigV4 spec defines it for this request (data, not code).
    const creq = [
      "GET",
      "/bucket/dir%2Fkey%20%2B",
      "",
      "host:gw.example\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20260102T030405Z\n",
      "host;x-amz-content-sha256;x-amz-date",
      "UNSIGNED-PAYLOAD",
    ].join("\n");
    const sts = `AWS4-HMAC-SHA256\n20260102T030405Z\n20260102/auto/s3/aws4_request\n${await sha256Hex(creq)}`;
    const signature = await signWith(await deriveSigningKey(SECRET, "20260102", "auto"), sts);
    const request = new Request("https://gw.example/bucket/dir%2Fkey%20%2B", {
      headers: {
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "x-amz-date": "20260102T030405Z",
        authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20260102/auto/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`,
      },
    });
    expect(await reasonOf(request, NOW)).toBe("ok");
  });
});

describe("hostile mutations of a signed request", () => {
  it("never verify and only ever fail with FsError", async () => {
    const base = await signed("https://gw.example/bucket/key.txt?x-id=PutObject&acl", {
      method: "PUT",
      body: "body",
      headers: { "x-amz-content-sha256": await sha256Hex("body"), "x-amz-meta-a": "1" },
    });
    expect(await reasonOf(base, NOW)).toBe("ok");
    const baseHeaders = [...base.headers];
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant("path" as const),
        at: fc.nat(),
        text: fc.string({ minLength: 1, maxLength: 4 }),
      }),
      fc.record({
        kind: fc.constant("query" as const),
        text: fc.string({ minLength: 1, maxLength: 6 }),
      }),
      fc.record({
        kind: fc.constant("header" as const),
        which: fc.nat(),
        text: fc.string({ minLength: 1, maxLength: 6 }),
      }),
      fc.record({
        kind: fc.constant("method" as const),
        method: fc.constantFrom("GET", "POST", "DELETE", "HEAD"),
      }),
      fc.record({ kind: fc.constant("drop" as const), which: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let url = base.url;
        let method = "PUT";
        const headers = new Headers(baseHeaders);
        const signedNames = [
          "host",
          "x-amz-content-sha256",
          "x-amz-date",
          "x-amz-meta-a",
          "authorization",
        ];
        switch (m.kind) {
          case "path": {
            const start = "https://gw.example/bucket/".length;
            const at = start + (m.at % (url.indexOf("?") - start));
            url = url.slice(0, at) + encodeURIComponent(m.text) + url.slice(at);
            break;
          }
          case "query":
            url = `${url}&${encodeURIComponent(m.text)}=1`;
            break;
          case "header": {
            const name = signedNames[m.which % signedNames.length] as string;
            headers.set(name, `${headers.get(name) ?? ""}${m.text.replace(/[\r\n\0]/g, "x")}`);
            break;
          }
          case "method":
            method = m.method;
            break;
          case "drop":
            headers.delete(signedNames[m.which % signedNames.length] as string);
            break;
        }
        let request: Request;
        try {
          request = new Request(url, { method, headers });
        } catch {
          return; // not a request the runtime would deliver
        }
        if (
          request.url === base.url &&
          method === "PUT" &&
          [...request.headers].join() === baseHeaders.join()
        )
          return;
        const reason = await reasonOf(request, NOW);
        expect(reason).not.toBe("ok");
      }),
      { numRuns: 150 },
    );
  });
});
