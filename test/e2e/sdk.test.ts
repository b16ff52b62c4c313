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
  AuthenticationError,
  type ClientOptions,
  ExistsError,
  ExpiredError,
  InvalidRequestError,
  LockedError,
  NetworkFileSystem,
  NoSpaceError,
  NotEmptyError,
  NotFoundError,
  PermissionError,
  PreconditionError,
  type Progress,
  Secret,
  Token,
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
      historyBytes: 0,
      // Creating the share and the one write are the change feed's events.
      feedEvents: 2,
      feedBytes: expect.any(Number),
    });
    await q.removeFile("/a.bin");
    await q.writeFile("/b.bin", randomBytes(30 * KiB));
    expect((await q.setQuota({ bytes: null })).quota).toEqual({ files: 10 });
    await NetworkFileSystem.delete(q.name, options);
  });

  it("reads the share as a snapshot kept it; an at() handle cannot change it", async () => {
    const v = NetworkFileSystem.fromName(unique("sdk-snap"), { ...options, createIfMissing: true });
    await v.writeFile("/notes.txt", "first");
    await v.writeFile("/keep/a.bin", randomBytes(70 * KiB));
    const taken = await v.snapshot("v1");
    expect(taken).toMatchObject({ name: "v1", version: (await v.info()).version });
    await v.writeFile("/notes.txt", "second");
    await v.removeFile("/keep", { recursive: true });
    const then = v.at({ snapshot: "v1" });
    expect(await then.readFile("/notes.txt").text()).toBe("first");
    expect((await then.listdir("/keep")).map((e) => e.path)).toEqual(["a.bin"]);
    expect(await v.readFile("/notes.txt").text()).toBe("second");
    await expect(then.writeFile("/x", "y")).rejects.toBeInstanceOf(InvalidRequestError);
    // No retention window on the test server: an older version no snapshot keeps is gone.
    const old = v.at({ version: taken.version - 1 });
    await expect(old.stat("/notes.txt")).rejects.toBeInstanceOf(ExpiredError);
    expect((await v.listSnapshots()).map((s) => s.name)).toEqual(["v1"]);
    await v.deleteSnapshot("v1");
    await expect(then.stat("/notes.txt")).rejects.toBeInstanceOf(NotFoundError);
    await NetworkFileSystem.delete(v.name, options);
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

  it("conditional writes: create-only and compare-and-swap; an unknown option writes nothing", async () => {
    const path = `/cond/${unique("f")}.txt`;
    await nfs.writeFile(path, "v1", { ifNoneMatch: "*" });
    await expect(nfs.writeFile(path, "again", { ifNoneMatch: "*" })).rejects.toBeInstanceOf(
      PreconditionError,
    );
    const { etag } = await nfs.stat(path);
    await nfs.writeFile(path, "v2", { ifMatch: etag as string });
    await expect(nfs.writeFile(path, "v3", { ifMatch: etag as string })).rejects.toBeInstanceOf(
      PreconditionError,
    );
    // Before, an option the SDK did not know was dropped and the file overwritten.
    await expect(
      nfs.writeFile(path, "clobbered", { ifNoneMach: "*" } as never),
    ).rejects.toBeInstanceOf(InvalidRequestError);
    expect(await nfs.readFile(path).text()).toBe("v2");
    // A multipart upload takes its condition at the create (a few MiB: the smallest parts).
    const big = new Uint8Array(6 * MiB);
    await expect(
      nfs.writeFile(path, big, { ifNoneMatch: "*", multipartThreshold: MiB, partSize: 5 * MiB }),
    ).rejects.toBeInstanceOf(PreconditionError);
    expect(await nfs.readFile(path).text()).toBe("v2");
  });

  it("presigned URLs read and write one file with plain fetch, no token", async () => {
    await nfs.writeFile("/shared/audit.txt", "for the auditors");
    const get = await nfs.presign("/shared/audit.txt", { expiresIn: 600 });
    expect(get).toMatchObject({ method: "GET", path: "/shared/audit.txt" });
    expect(get.expiresAt).toBeGreaterThan(Date.now());
    expect(await (await fetch(get.url)).text()).toBe("for the auditors");
    const put = await nfs.presign("/shared/dropbox.txt", { method: "PUT" });
    expect((await fetch(put.url, { method: "PUT", body: "delivered" })).ok).toBe(true);
    expect(await nfs.readFile("/shared/dropbox.txt").text()).toBe("delivered");
    await expect(nfs.presign("/shared/")).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("leases: others get LockedError; withLease writes holding it and releases it, also on a throw", async () => {
    const other = NetworkFileSystem.fromName(nfs.name, options);
    const result = await nfs.withLease(
      "/reports",
      async (fs, lease) => {
        expect((await nfs.listLeases({ path: "/reports" })).map((l) => l.leaseId)).toEqual([
          lease.leaseId,
        ]);
        await expect(other.writeFile("/reports/q3.txt", "theirs")).rejects.toBeInstanceOf(
          LockedError,
        );
        await fs.writeFile("/reports/q3.txt", "ours");
        await other.writeFile("/reports/q3.txt", "ours, again", { lease });
        const renewed = await nfs.renewLease(lease, { ttlSeconds: 120 });
        expect(renewed.expiresAt).toBeGreaterThan(lease.expiresAt);
        return "done";
      },
      { ttlSeconds: 30, owner: "sdk-e2e" },
    );
    expect(result).toBe("done");
    expect(await nfs.listLeases({ path: "/reports" })).toEqual([]);
    await other.writeFile("/reports/q3.txt", "free again");

    await expect(
      nfs.withLease("/reports", () => Promise.reject(new Error("job failed"))),
    ).rejects.toThrow("job failed");
    expect(await nfs.listLeases({ path: "/reports" })).toEqual([]);

    const held = await nfs.acquireLease("/reports/q4.txt", { ttlSeconds: 30 });
    await expect(nfs.acquireLease("/reports")).rejects.toBeInstanceOf(LockedError);
    await nfs.releaseLease(held);
    await expect(nfs.releaseLease(held)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("secrets for named shares, a bucket mount that uses one, and scoped tokens", async () => {
    const secret = unique("sdk-secret");
    const stored = await Secret.put(
      secret,
      { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "s3cr3t" },
      { ...options, shares: [nfs.name] },
    );
    expect(stored).toMatchObject({ name: secret, shares: [nfs.name] });
    const listed = await Secret.list(options);
    expect(listed.find((s) => s.name === secret)).toMatchObject({ shares: [nfs.name] });
    expect(JSON.stringify(listed)).not.toContain("s3cr3t");

    const mount = await nfs.addMount("/buckets/data", {
      bucket: "sdk-data",
      endpoint: "http://127.0.0.1:9",
      forcePathStyle: true,
      secret,
      readOnly: true,
    });
    expect(mount).toMatchObject({ path: "/buckets/data", bucket: "sdk-data", readOnly: true });
    expect((await nfs.listMounts()).map((m) => m.path)).toContain("/buckets/data");
    await nfs.removeMount("/buckets/data");
    expect((await nfs.listMounts()).map((m) => m.path)).not.toContain("/buckets/data");
    await Secret.delete(secret, options);
    await expect(Secret.delete(secret, options)).rejects.toBeInstanceOf(NotFoundError);

    const minted = await Token.create({
      ...options,
      permissions: ["read"],
      shares: [nfs.name],
      name: "sdk-reader",
      expiresIn: 600,
    });
    expect(minted.scope).toMatchObject({ permissions: ["read"], shares: [nfs.name] });
    const reader = NetworkFileSystem.fromName(nfs.name, { ...options, token: minted.token });
    expect((await reader.stat("/shared/audit.txt")).type).toBe("file");
    await expect(reader.writeFile("/nope.txt", "x")).rejects.toBeInstanceOf(PermissionError);
    const tokens = await Token.list(options);
    expect(tokens.find((t) => t.tokenId === minted.tokenId)).toMatchObject({ name: "sdk-reader" });
    expect(JSON.stringify(tokens)).not.toContain(minted.token);
    await Token.revoke(minted.tokenId, options);
    await expect(reader.stat("/shared/audit.txt")).rejects.toBeInstanceOf(AuthenticationError);
  });
});
