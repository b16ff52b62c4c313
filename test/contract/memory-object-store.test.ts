import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "./memory-object-store";

// The reference store must itself behave as S3 does, or the MountBackend run proves little.
const bytes = (s: string) => new TextEncoder().encode(s);
const text = async (b: ReadableStream | null) => (b ? new Response(b).text() : "");

describe("MemoryObjectStore keeps S3's semantics", () => {
  it("ETags are quoted MD5s; multipart ones md5-of-md5s-N", async () => {
    const s = new MemoryObjectStore();
    expect((await s.put("a", bytes("hello"), 5)).etag).toBe('"5d41402abc4b2a76b9719d911017c592"');
    const id = await s.createMultipart("big");
    const p1 = await s.uploadPart("big", id, 1, new Uint8Array(5 * 1024 * 1024), 5 * 1024 * 1024);
    const p2 = await s.uploadPart("big", id, 2, bytes("tail"), 4);
    const { etag } = await s.completeMultipart("big", id, [
      { partNumber: 1, etag: p1 },
      { partNumber: 2, etag: p2 },
    ]);
    expect(etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect((await s.head("big"))?.size).toBe(5 * 1024 * 1024 + 4);
  });

  it("multipart: parts but the last are >= 5 MiB, ETags must match, unknown uploads are NoSuchUpload", async () => {
    const s = new MemoryObjectStore();
    const id = await s.createMultipart("k");
    const a = await s.uploadPart("k", id, 1, bytes("small"), 5);
    const b = await s.uploadPart("k", id, 2, bytes("x"), 1);
    const parts = [
      { partNumber: 1, etag: a },
      { partNumber: 2, etag: b },
    ];
    await expect(s.completeMultipart("k", id, parts)).rejects.toMatchObject({
      code: "EntityTooSmall",
    });
    await expect(
      s.completeMultipart("k", id, [{ partNumber: 1, etag: '"wrong"' }]),
    ).rejects.toMatchObject({ code: "InvalidPart" });
    await s.abortMultipart("k", id);
    await expect(s.uploadPart("k", id, 1, bytes("x"), 1)).rejects.toMatchObject({
      status: 404,
      code: "NoSuchUpload",
    });
    expect(s.pendingUploads()).toBe(0);
  });

  it("ranges: suffix, clamped, malformed ignored, past the end 416", async () => {
    const s = new MemoryObjectStore();
    await s.put("r", bytes("0123456789"), 10);
    const suffix = await s.get("r", { range: "bytes=-3" });
    expect(suffix).toMatchObject({ status: 206, range: { offset: 7, length: 3 } });
    expect(await text(suffix?.body ?? null)).toBe("789");
    expect(await s.get("r", { range: "bytes=8-99" })).toMatchObject({
      range: { offset: 8, length: 2 },
    });
    expect((await s.get("r", { range: "bytes=x" }))?.status).toBe(200);
    await expect(s.get("r", { range: "bytes=10-" })).rejects.toMatchObject({ status: 416 });
  });

  it("conditions: If-Match 412, If-None-Match 304, If-Range stale serves all", async () => {
    const s = new MemoryObjectStore();
    const { etag } = await s.put("c", bytes("abc"), 3);
    await expect(s.get("c", { ifMatch: '"other"' })).rejects.toMatchObject({ status: 412 });
    expect((await s.get("c", { ifNoneMatch: etag }))?.status).toBe(304);
    expect((await s.get("c", { range: "bytes=0-0", ifRange: '"old"' }))?.status).toBe(200);
    expect(await s.get("missing", {})).toBeNull();
  });

  it("lists with a delimiter: CommonPrefixes count against max-keys, continuation resumes", async () => {
    const s = new MemoryObjectStore();
    for (const k of ["p/a", "p/b/1", "p/b/2", "p/c", "p/d/1", "q/x"])
      await s.put(k, bytes(k), k.length);
    const first = await s.list({ prefix: "p/", delimiter: "/", maxKeys: 2 });
    expect([first.objects.map((o) => o.key), first.prefixes]).toEqual([["p/a"], ["p/b/"]]);
    expect(first.nextToken).toBeTruthy();
    const rest = await s.list({ prefix: "p/", delimiter: "/", continuationToken: first.nextToken });
    expect([rest.objects.map((o) => o.key), rest.prefixes, rest.nextToken]).toEqual([
      ["p/c"],
      ["p/d/"],
      undefined,
    ]);
    const flat = await s.list({ prefix: "p/" });
    expect(flat.objects.map((o) => o.key)).toEqual(["p/a", "p/b/1", "p/b/2", "p/c", "p/d/1"]);
  });
});
