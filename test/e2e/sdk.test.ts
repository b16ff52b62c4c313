// The SDK (src/client/node.ts) against a real edgefs (wrangler dev): local
// trees up and down byte for byte, listings and globs, ephemeral shares,
// multipart uploads with progress, errors, delete, move and copy.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";
import {
  type ClientOptions,
  ExistsError,
  NetworkFileSystem,
  NoSpaceError,
  NotEmptyError,
  NotFoundError,
  type Progress,
} from "../../src/client/node.js";
import { E2E_VARS } from "./server-vars.js";

const KiB = 1024;
const MiB = 1024 * KiB;

let server: Awaited<ReturnType<typeof startServer>>;
let options: ClientOptions;
let nfs: NetworkFileSystem;
let work: string;

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The local tree: small (inline) and large (R2) files, nested, odd names, an empty file and directory. */
const TREE: Record<string, number> = {
  "a.txt": 12,
  "empty.txt": 0,
  "sub/b.bin": 100 * KiB,
  "sub/deep/c.bin": 300 * KiB + 7,
  "sub/deep/d.txt": 64 * KiB,
  "with space/ü #1.bin": 65 * KiB,
};

beforeAll(async () => {
  server = await startServer({ vars: E2E_VARS });
  options = { url: server.url, token: server.token };
  nfs = NetworkFileSystem.fromName(unique("sdk"), { ...options, createIfMissing: true });
  work = await mkdtemp(join(tmpdir(), "edgefs-sdk-"));
  for (const [path, size] of Object.entries(TREE)) {
    await mkdir(join(work, "tree", path, ".."), { recursive: true });
    await writeFile(join(work, "tree", path), randomBytes(size));
  }
  await mkdir(join(work, "tree", "emptydir"));
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("SDK end to end", () => {
  it("round-trips a directory tree byte for byte", async () => {
    const events: { files: number; bytes: number }[] = [];
    const totalBytes = Object.values(TREE).reduce((a, b) => a + b, 0);
    const result = await nfs.addLocalDir(join(work, "tree"), undefined, {
      concurrency: 3,
      onProgress: (p) => {
        expect(p.totalFiles).toBe(6);
        expect(p.totalBytes).toBe(totalBytes);
        events.push(p);
      },
    });
    expect(result).toEqual({ files: 6, bytes: totalBytes });
    expect(events.map((e) => e.files)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.at(-1)?.bytes).toBe(totalBytes);

    for (const path of Object.keys(TREE)) {
      const original = await readFile(join(work, "tree", path));
      const local = join(work, "down", path);
      const n = await nfs.readFileTo(`/tree/${path}`, local);
      expect(n).toBe(original.byteLength);
      expect(sha256(await readFile(local))).toBe(sha256(original));
      const bytes = await nfs.readFile(`/tree/${path}`).bytes();
      expect(sha256(bytes)).toBe(sha256(original));
    }
    expect((await nfs.stat("/tree/emptydir")).type).toBe("directory");
    expect(await nfs.exists("/tree/sub/deep/c.bin")).toBe(true);
    expect(await nfs.exists("/tree/nope")).toBe(false);

    // A range, and async iteration in chunks.
    const c = await readFile(join(work, "tree", "sub/deep/c.bin"));
    const range = await nfs
      .readFile("/tree/sub/deep/c.bin", { offset: 1000, length: 5000 })
      .bytes();
    expect(Buffer.from(range).equals(c.subarray(1000, 6000))).toBe(true);
    let seen = 0;
    for await (const chunk of nfs.readFile("/tree/sub/deep/c.bin")) seen += chunk.byteLength;
    expect(seen).toBe(c.byteLength);
  });

  it("lists with Modal's rules: directories, files, recursion and globs", async () => {
    const top = await nfs.listdir("/tree");
    expect(top.map((e) => `${e.type}:${e.path}`).sort()).toEqual([
      "directory:emptydir",
      "directory:sub",
      "directory:with space",
      "file:a.txt",
      "file:empty.txt",
    ]);
    const file = await nfs.listdir("/tree/sub/b.bin");
    expect(file).toHaveLength(1);
    expect(file[0]).toMatchObject({ type: "file", size: 100 * KiB });

    const all: string[] = [];
    for await (const e of nfs.iterdir("/tree", { recursive: true })) {
      if (e.type === "file") all.push(e.path);
    }
    expect(all.sort()).toEqual(Object.keys(TREE).sort());

    const glob = await nfs.listdir("/tree/**/*.bin");
    expect(glob.map((e) => e.path).sort()).toEqual([
      "/tree/sub/b.bin",
      "/tree/sub/deep/c.bin",
      "/tree/with space/ü #1.bin",
    ]);
    expect((await nfs.listdir("/tree/*.txt")).map((e) => e.path).sort()).toEqual([
      "/tree/a.txt",
      "/tree/empty.txt",
    ]);
  });

  it("throws NotFoundError for a missing file", async () => {
    const read = await nfs
      .readFile("/tree/missing.txt")
      .bytes()
      .catch((e: unknown) => e);
    expect(read).toBeInstanceOf(NotFoundError);
    expect(read).toMatchObject({ code: "ENOENT", status: 404, path: "/tree/missing.txt" });
    await expect(nfs.stat("/nowhere/at/all")).rejects.toBeInstanceOf(NotFoundError);
    await expect(nfs.readFileTo("/missing", join(work, "missing"))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(stat(join(work, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("sets a quota: writes past it throw NoSpaceError, info shows usage, deletes free room", async () => {
    const q = NetworkFileSystem.fromName(unique("sdk-quota"), {
      ...options,
      createIfMissing: true,
    });
    const detail = await q.setQuota({ bytes: 100 * KiB, files: 10 });
    expect(detail.quota).toEqual({ bytes: 100 * KiB, files: 10 });
    await q.writeFile("/a.bin", randomBytes(80 * KiB));
    const refused = await q.writeFile("/b.bin", randomBytes(30 * KiB)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NoSpaceError);
    expect(refused).toMatchObject({ code: "ENOSPC", status: 507 });
    await expect(q.stat("/b.bin")).rejects.toBeInstanceOf(NotFoundError);
    expect((await q.info()).usage).toEqual({
      files: 1,
      directories: 0,
      bytes: 80 * KiB,
      inlineBytes: 0,
    });
    await q.removeFile("/a.bin");
    await q.writeFile("/b.bin", randomBytes(30 * KiB));
    expect((await q.setQuota({ bytes: null })).quota).toEqual({ files: 10 });
    await NetworkFileSystem.delete(q.name, options);
  });

  it("sends a 40 MiB file in multipart parts with progress and reads it back", async () => {
    const local = join(work, "big.bin");
    await writeFile(local, randomBytes(40 * MiB));
    const progress: Progress[] = [];
    const n = await nfs.addLocalFile(local, "/big/", {
      partSize: 5 * MiB,
      multipartThreshold: 8 * MiB,
      onProgress: (p) => progress.push(p),
    });
    expect(n).toBe(40 * MiB);
    expect(progress.length).toBeGreaterThanOrEqual(8);
    const bytes = progress.map((p) => p.bytes);
    for (let i = 1; i < bytes.length; i++)
      expect(bytes[i]).toBeGreaterThanOrEqual(bytes[i - 1] ?? 0);
    expect(progress.at(-1)).toEqual({ bytes: 40 * MiB, total: 40 * MiB });
    expect(progress.every((p) => p.total === 40 * MiB)).toBe(true);
    expect((await nfs.stat("/big/big.bin")).size).toBe(40 * MiB);

    const down: Progress[] = [];
    const back = join(work, "big.back");
    expect(await nfs.readFileTo("/big/big.bin", back, { onProgress: (p) => down.push(p) })).toBe(
      40 * MiB,
    );
    expect(await sha256File(back)).toBe(await sha256File(local));
    expect(down.at(-1)).toEqual({ bytes: 40 * MiB, total: 40 * MiB });
  });

  it("sends a stream of unknown length through multipart when it turns out big", async () => {
    const data = randomBytes(11 * MiB + 123);
    const stream = new Blob([data]).stream();
    const n = await nfs.writeFile("/streamed.bin", stream, {
      partSize: 5 * MiB,
      multipartThreshold: 5 * MiB,
    });
    expect(n).toBe(data.byteLength);
    expect(sha256(await nfs.readFile("/streamed.bin").bytes())).toBe(sha256(data));
    // Small stream: one PUT; Infinity threshold: one streamed PUT.
    expect(await nfs.writeFile("/s1.txt", new Blob(["hello"]).stream())).toBe(5);
    expect(
      await nfs.writeFile("/s2.txt", new Blob(["world"]).stream(), {
        multipartThreshold: Number.POSITIVE_INFINITY,
      }),
    ).toBe(5);
    expect(await nfs.readFile("/s2.txt").text()).toBe("world");
    expect(await nfs.writeFile("/named/", "x", { name: "given.txt" })).toBe(1);
    expect(await nfs.readFile("/named/given.txt").text()).toBe("x");
  });

  it("moves and copies, refusing to overwrite unless asked", async () => {
    await nfs.writeFile("/mc/one.txt", "one");
    await nfs.writeFile("/mc/two.txt", "two");
    await expect(nfs.move("/mc/one.txt", "/mc/two.txt")).rejects.toBeInstanceOf(ExistsError);
    const moved = await nfs.move("/mc/one.txt", "/mc/two.txt", { overwrite: true });
    expect(moved).toMatchObject({ path: "/mc/two.txt", type: "file", size: 3 });
    expect(await nfs.exists("/mc/one.txt")).toBe(false);
    expect(await nfs.readFile("/mc/two.txt").text()).toBe("one");

    const copied = await nfs.copy("/tree/sub", "/copied/sub", { recursive: true });
    expect(copied).toMatchObject({ path: "/copied/sub", type: "directory" });
    const original = await nfs.readFile("/tree/sub/deep/c.bin").bytes();
    expect(sha256(await nfs.readFile("/copied/sub/deep/c.bin").bytes())).toBe(sha256(original));
    await nfs.writeFile("/copied/sub/deep/c.bin", "changed");
    expect(sha256(await nfs.readFile("/tree/sub/deep/c.bin").bytes())).toBe(sha256(original));
  });

  it("removes files, and directories recursively only when asked", async () => {
    await expect(nfs.removeFile("/copied")).rejects.toBeInstanceOf(NotEmptyError);
    await nfs.removeFile("/copied/sub/b.bin");
    expect(await nfs.exists("/copied/sub/b.bin")).toBe(false);
    await nfs.removeFile("/copied", { recursive: true });
    expect(await nfs.exists("/copied")).toBe(false);
    await nfs.mkdir("/made/a/b");
    expect((await nfs.stat("/made/a/b")).type).toBe("directory");
    await nfs.removeFile("/made", { recursive: true });
    await expect(nfs.removeFile("/made")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("deletes an ephemeral share at the end of its `await using` block", async () => {
    let name = "";
    {
      await using scratch = await NetworkFileSystem.ephemeral({ ...options, ttlSeconds: 60 });
      name = scratch.name;
      const info = await scratch.info();
      expect(info).toMatchObject({ name, ephemeral: true, kind: "nfs", env: "main" });
      expect(info.expiresAt).toBeGreaterThan(Date.now());
      await scratch.writeFile("/tmp.txt", "scratch");
      expect(await scratch.readFile("/tmp.txt").text()).toBe("scratch");
      expect((await NetworkFileSystem.list(options)).some((s) => s.name === name)).toBe(true);
    }
    expect(name).toMatch(/^ephemeral-/);
    await expect(NetworkFileSystem.fromName(name, options).info()).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it("creates, lists and deletes named shares", async () => {
    const name = unique("sdk-share");
    const share = NetworkFileSystem.fromName(name, { ...options, createIfMissing: true });
    await share.writeFile("/x.txt", "x");
    expect((await share.info()).name).toBe(name);
    expect((await NetworkFileSystem.list(options)).map((s) => s.name)).toContain(name);
    await NetworkFileSystem.delete(name, options);
    await expect(NetworkFileSystem.fromName(name, options).info()).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(NetworkFileSystem.delete(name, options)).rejects.toBeInstanceOf(NotFoundError);
  });
});
