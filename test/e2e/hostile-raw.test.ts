// Hostile requests that need a real socket (the workerd property tests in
// test/worker/hostile.test.ts cannot send them): a Content-Length that lies
// about the body, huge and numerous headers, a 64 KB request-target, raw dot
// segments, and a range far past the end. The server must never commit a
// body it did not fully receive, never answer 5xx from edgefs, and never let
// a request act on a share its token does not cover.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  Edgefs,
  type ErrorBody,
  type FileEntry,
  INLINE_MAX,
  prngBytes,
  rawRequest as raw,
  sha256,
  stressCount,
  uniqueName,
} from "./helpers.js";

const server = Edgefs.shared();
const RUNS = stressCount(8, 60);
let share: string;
let other: string;

beforeAll(async () => {
  share = uniqueName("raw");
  other = uniqueName("raw-other");
  await server.createShare(share);
  await server.createShare(other);
  expect((await server.put(other, "keep.txt", new TextEncoder().encode("keep"))).status).toBe(201);
});

/** A raw request to the shared server. */
const rawRequest = (head: string, body?: Uint8Array) => raw(server, head, body);

const auth = () => `Authorization: Bearer ${server.token}\r\n`;

describe("a Content-Length that lies about the body", () => {
  it("more bytes than declared: exactly the declared bytes are stored", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: INLINE_MAX * 2 }),
        fc.integer({ min: 1, max: 4096 }),
        async (declared, extra) => {
          const path = `longer/${declared}-${extra}.bin`;
          const data = prngBytes(declared + extra, declared + extra);
          const answer = await rawRequest(
            `PUT ${server.route(share, "files", path)} HTTP/1.1\r\n${auth()}Content-Length: ${declared}\r\n`,
            data,
          );
          expect(answer.status, answer.head).toBe(201);
          const got = await server.get(share, path);
          expect(got.bytes.byteLength).toBe(declared);
          expect(sha256(got.bytes)).toBe(sha256(data.subarray(0, declared)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("fewer bytes than declared: refused, and nothing is stored", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: INLINE_MAX * 3 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        async (declared, fraction) => {
          const sent = Math.floor(declared * fraction);
          const path = `shorter/${declared}-${sent}.bin`;
          const answer = await rawRequest(
            `PUT ${server.route(share, "files", path)} HTTP/1.1\r\n${auth()}Content-Length: ${declared}\r\n`,
            prngBytes(declared, sent),
          );
          // edgefs answers 400 EINVAL; in `wrangler dev` the request can also die in
          // wrangler's proxy in front of the Worker, which then answers a plain-text
          // 500 "Network connection lost" of its own. Either way: no commit.
          expect(answer.status, answer.head).toBeGreaterThanOrEqual(400);
          if (answer.status >= 500) expect(answer.body).toContain("Network connection lost");
          expect((await server.stat(share, path)).status).toBe(404);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("headers and request-targets at the limits", () => {
  it("a 64 KB header value and 1,000 headers are served normally", async () => {
    await server.put(share, "small.txt", new TextEncoder().encode("small"));
    const route = server.route(share, "stat", "small.txt");
    const big = await rawRequest(
      `GET ${route} HTTP/1.1\r\n${auth()}X-Big: ${"a".repeat(65_536)}\r\n`,
    );
    expect(big.status, big.head).toBe(200);
    const many = Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
    const lots = await rawRequest(`GET ${route} HTTP/1.1\r\n${auth()}${many}`);
    expect(lots.status, lots.head).toBe(200);
    // A 32 KB If-Match is parsed, not choked on: a malformed list is EINVAL.
    const ifMatch = await rawRequest(
      `GET ${server.route(share, "files", "small.txt")} HTTP/1.1\r\n${auth()}If-Match: ${"b".repeat(32_768)}\r\n`,
    );
    expect(ifMatch.status).toBe(400);
    expect((JSON.parse(ifMatch.body) as ErrorBody).error.code).toBe("EINVAL");
  });

  it("a 64 KB path never reaches the share: workerd answers 414, nothing is written", async () => {
    const answer = await rawRequest(
      `PUT /v1/shares/${share}/files/${"a".repeat(65_536)} HTTP/1.1\r\n${auth()}Content-Length: 1\r\n`,
      new Uint8Array([1]),
    );
    expect(answer.status).toBe(414);
    const root = await server.json<{ entries: FileEntry[] }>(server.route(share, "list", ""));
    expect(root.body.entries.map((e) => e.path)).not.toContain("a".repeat(255));
  });

  it("Range: bytes=9999999999- is 416 ERANGE with the file's size", async () => {
    await server.put(share, "ranged.bin", prngBytes(3, 1000));
    const answer = await rawRequest(
      `GET ${server.route(share, "files", "ranged.bin")} HTTP/1.1\r\n${auth()}Range: bytes=9999999999-\r\n`,
    );
    expect(answer.status).toBe(416);
    expect(answer.head.toLowerCase()).toContain("content-range: bytes */1000");
    expect((JSON.parse(answer.body) as ErrorBody).error.code).toBe("ERANGE");
  });
});

describe("raw dot segments in the request-target", () => {
  it("are resolved before edgefs (URL standard) and authorized as resolved: a scoped token cannot reach another share", async () => {
    const minted = await server.json<{ token: string }>("/v1/tokens", {
      method: "POST",
      body: JSON.stringify({ permissions: ["read", "write"], shares: [share] }),
    });
    expect(minted.status).toBe(201);
    const scoped = `Authorization: Bearer ${minted.body.token}\r\n`;
    for (const climb of ["../..", "%2e%2e/%2e%2e", ".%2e/%2E."]) {
      const answer = await rawRequest(
        `PUT /v1/shares/${share}/files/${climb}/${other}/files/keep.txt HTTP/1.1\r\n${scoped}Content-Length: 4\r\n`,
        new TextEncoder().encode("evil"),
      );
      expect(answer.status, `${climb}: ${answer.head}`).toBe(403);
      expect((JSON.parse(answer.body) as ErrorBody).error.code).toBe("EACCES");
    }
    const kept = await server.get(other, "keep.txt");
    expect(new TextDecoder().decode(kept.bytes)).toBe("keep");
  });
});
