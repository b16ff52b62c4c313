// Big bodies round-trip byte-identical, with and without Content-Length
// (docs/api.md "Files": a write from a pipe needs no Content-Length).
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  Edgefs,
  type FileEntry,
  INLINE_MAX,
  KiB,
  MiB,
  prngChunks,
  readableOf,
  sha256,
  streamingInit,
  streamPut,
  uniqueName,
} from "./helpers.js";

const server = Edgefs.shared();
let share: string;
let shareId: string;

beforeAll(async () => {
  share = uniqueName("chunked");
  shareId = (await server.createShare(share)).id;
});

describe("uploads of unknown length (chunked)", () => {
  it("a 64 MiB + 3 byte stream without Content-Length round-trips byte-identical", async () => {
    const size = 64 * MiB + 3; // not a multiple of the 10 MiB R2 part size
    const sent = createHash("sha256");
    let sentBytes = 0;
    const body = readableOf(prngChunks(1, size), (c) => {
      sent.update(c);
      sentBytes += c.byteLength;
    });
    const res = await server.fetch(
      server.route(share, "files", "big/stream.bin"),
      streamingInit("PUT", body),
    );
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const entry = JSON.parse(text) as FileEntry;
    expect(sentBytes).toBe(size);
    expect(entry).toMatchObject({ path: "/big/stream.bin", type: "file", size });
    expect(res.headers.get("etag")).toBe(entry.etag);

    const got = await server.download(share, "big/stream.bin");
    expect(got.status).toBe(200);
    expect(got.size).toBe(size);
    expect(got.sha256).toBe(sent.digest("hex"));

    const stat = await server.stat(share, "big/stream.bin");
    expect(stat.body).toMatchObject({ type: "file", size, etag: entry.etag });
  });

  it("chunked bodies around the inline limit and the part size keep every byte", async () => {
    const sizes = [0, 1, INLINE_MAX - 1, INLINE_MAX, INLINE_MAX + 1, 10 * MiB, 10 * MiB + 1];
    for (const size of sizes) {
      const path = `edges/chunked-${size}.bin`;
      const res = await streamPut(
        server,
        server.route(share, "files", path),
        prngChunks(size, size, 64 * KiB),
      );
      expect(res.status, `${path}: ${res.body}`).toBe(201);
      expect((JSON.parse(res.body) as FileEntry).size).toBe(size);
      const got = await server.download(share, path);
      expect(got, path).toEqual({ status: 200, size, sha256: sha256(prngChunks(size, size)) });
    }
  });
});

describe("uploads with Content-Length", () => {
  it("a 64 MiB + 3 byte body with Content-Length round-trips byte-identical", async () => {
    const size = 64 * MiB + 3;
    const res = await streamPut(
      server,
      server.route(share, "files", "big/known.bin"),
      prngChunks(2, size),
      size,
    );
    expect(res.status, res.body).toBe(201);
    const entry = JSON.parse(res.body) as FileEntry;
    expect(entry).toMatchObject({ path: "/big/known.bin", type: "file", size });

    const got = await server.download(share, "big/known.bin");
    expect(got).toEqual({ status: 200, size, sha256: sha256(prngChunks(2, size)) });

    // The two 64 MiB files differ (different seeds), so neither overwrote the other.
    const other = await server.download(share, "big/stream.bin");
    expect(other.status).toBe(200);
    expect(other.sha256).not.toBe(got.sha256);
  });

  it("bodies with Content-Length around the inline limit keep every byte", async () => {
    for (const size of [0, INLINE_MAX, INLINE_MAX + 1, 3 * MiB]) {
      const path = `edges/known-${size}.bin`;
      const res = await streamPut(
        server,
        server.route(share, "files", path),
        prngChunks(size + 7, size),
        size,
      );
      expect(res.status, `${path}: ${res.body}`).toBe(201);
      const got = await server.download(share, path);
      expect(got, path).toEqual({ status: 200, size, sha256: sha256(prngChunks(size + 7, size)) });
    }
  });

  it("a Range read of a big file returns exactly the requested bytes", async () => {
    const size = 64 * MiB + 3;
    const offset = 10 * MiB - 5; // straddles the first multipart boundary of a chunked upload
    const length = 4096;
    const res = await server.fetch(server.route(share, "files", "big/stream.bin"), {
      headers: { range: `bytes=${offset}-${offset + length - 1}` },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes ${offset}-${offset + length - 1}/${size}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // Regenerate the stream and cut out the same window.
    const whole = new Uint8Array(offset + length);
    let at = 0;
    for (const chunk of prngChunks(1, offset + length)) {
      whole.set(chunk, at);
      at += chunk.byteLength;
    }
    expect(sha256(bytes)).toBe(sha256(whole.subarray(offset)));
  });

  it("files over the inline limit are R2 objects of this share; smaller ones are not", async () => {
    // big/stream.bin, big/known.bin; edges over 64 KiB: chunked 64K+1, 10M, 10M+1; known 64K+1, 3M.
    expect(await server.r2Count(shareId)).toBe(7);
  });
});
