import { describe, expect, it } from "vitest";
import { deriveSigningKey, sha256Hex, signWith } from "../../src/auth/sigv4";
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  decodeS3Path,
  rawPathAndQuery,
  stringToSign,
} from "../../src/auth/sigv4-canonical";

// The suite's files, as data (see test/fixtures/aws-sig-v4-test-suite/README.md).
const files = import.meta.glob("../fixtures/aws-sig-v4-test-suite/*/*.*", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;
const cases = [
  ...new Set(
    Object.keys(files)
      .filter((f) => f.endsWith(".req"))
      .map((f) => f.split("/").at(-2) as string),
  ),
];
const file = (name: string, ext: string) =>
  files[`../fixtures/aws-sig-v4-test-suite/${name}/${name}.${ext}`] as string;

/** A .req file: request line, header lines (repeats kept, in order), blank line, body. */
function parseReq(text: string) {
  const [head, ...bodyParts] = text.split("\n\n");
  const [requestLine, ...headerLines] = (head as string).split("\n");
  const [method, target] = (requestLine as string).split(" ") as [string, string];
  const headers = headerLines.map((l) => {
    const colon = l.indexOf(":");
    return [l.slice(0, colon), l.slice(colon + 1)] as [string, string];
  });
  return { method, target, headers, body: bodyParts.join("\n\n") };
}

describe("AWS SigV4 test suite, canonicalized as S3 does", () => {
  it("has the vectors", () => expect(cases.length).toBeGreaterThanOrEqual(15));
  for (const name of cases) {
    it(name, async () => {
      const req = parseReq(file(name, "req"));
      const authz = file(name, "authz");
      const signedHeaders = (/SignedHeaders=([^,]+)/.exec(authz)?.[1] ?? "").split(";");
      const { path, query } = rawPathAndQuery(`https://example.amazonaws.com${req.target}`);
      const block = canonicalHeaders(signedHeaders, req.headers);
      if (!("block" in block)) throw new Error(`missing ${block.missing}`);
      const creq = canonicalRequest({
        method: req.method,
        uri: canonicalUri(path),
        query: canonicalQuery(query),
        headers: block.block,
        signedHeaders,
        payloadHash: await sha256Hex(req.body),
      });
      expect(creq).toBe(file(name, "creq"));
      const sts = stringToSign(
        "20150830T123600Z",
        credentialScope("20150830", "us-east-1", "service"),
        await sha256Hex(creq),
      );
      expect(sts).toBe(file(name, "sts"));
      const key = await deriveSigningKey(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "20150830",
        "us-east-1",
        "service",
      );
      expect(authz).toContain(`Signature=${await signWith(key, sts)}`);
    });
  }
});

describe("S3 canonical URI: the path as sent, never normalized or double-encoded", () => {
  const table: [string, string][] = [
    ["/", "/"],
    ["", "/"],
    ["/bucket/a%20b", "/bucket/a%20b"],
    ["/bucket/a%2Bb", "/bucket/a%2Bb"],
    ["/bucket/a+b", "/bucket/a%20b"], // a bare '+' is a space, as AWS S3 reads a path
    ["/bucket/a~b", "/bucket/a~b"],
    ["/bucket/a%7Eb", "/bucket/a~b"], // unreserved characters are never encoded
    ["/bucket/dir%2Fkey", "/bucket/dir%2Fkey"], // an encoded slash stays part of the key
    ["/bucket/%C3%BC%e2%82%ac", "/bucket/%C3%BC%E2%82%AC"],
    ["/bucket/x=y&z", "/bucket/x%3Dy%26z"],
    ["/bucket/x%3Dy%26z", "/bucket/x%3Dy%26z"],
    ["/bucket/./a/../b//c", "/bucket/./a/../b//c"],
    ["/bucket/100%", "/bucket/100%25"],
  ];
  for (const [raw, canonical] of table) {
    it(`${JSON.stringify(raw)} → ${canonical}`, () => expect(canonicalUri(raw)).toBe(canonical));
  }
});

describe("decodeS3Path: the key a path names, read as it was signed", () => {
  it("decodes percent escapes, a bare '+' as a space and keeps %2F inside a name", () => {
    expect(decodeS3Path("/b/a%2Bb+c%2Fd/%C3%BC")).toBe("/b/a+b c/d/ü");
    expect(decodeS3Path("/b/%FF")).toBeUndefined();
    expect(decodeS3Path("/b/100%")).toBe("/b/100%");
  });
});

describe("S3 canonical query", () => {
  const table: [string, string][] = [
    ["", ""],
    ["acl", "acl="],
    ["b=2&a=1", "a=1&b=2"],
    ["a=2&a=1", "a=1&a=2"],
    ["prefix=a+b", "prefix=a%20b"], // '+' in a query is a space, as S3 reads it
    ["prefix=a%2Bb", "prefix=a%2Bb"],
    ["prefix=a%20b", "prefix=a%20b"],
    ["k=%7e&K=x", "K=x&k=~"],
    ["x-id=PutObject&uploads", "uploads=&x-id=PutObject"],
    ["a=1&&b=", "a=1&b="],
    ["p=%E1%88%B4&q=/", "p=%E1%88%B4&q=%2F"],
  ];
  for (const [raw, canonical] of table) {
    it(`${JSON.stringify(raw)} → ${canonical}`, () => expect(canonicalQuery(raw)).toBe(canonical));
  }
  it("drops the presigned signature", () =>
    expect(canonicalQuery("X-Amz-Signature=abc&X-Amz-Date=1", "X-Amz-Signature")).toBe(
      "X-Amz-Date=1",
    ));
});

describe("canonical headers", () => {
  it("lower-cases names, trims values and collapses inner whitespace, joins repeats with ','", () => {
    expect(
      canonicalHeaders(
        ["host", "x-a"],
        [
          ["Host", "h"],
          ["X-A", "  one \t  two  "],
          ["x-a", "three"],
        ],
      ),
    ).toEqual({ block: "host:h\nx-a:one two,three\n" });
  });
  it("reports a signed header that is missing", () =>
    expect(canonicalHeaders(["host", "x-b"], [["host", "h"]])).toEqual({ missing: "x-b" }));
});

describe("raw path and query", () => {
  it("takes them from the URL string without re-serializing", () => {
    expect(rawPathAndQuery("https://h.example:8443/b/a%2fb?x=a+b#frag")).toEqual({
      path: "/b/a%2fb",
      query: "x=a+b",
    });
    expect(rawPathAndQuery("https://h.example")).toEqual({ path: "", query: "" });
    expect(rawPathAndQuery("https://h.example?q")).toEqual({ path: "", query: "q" });
  });
});
