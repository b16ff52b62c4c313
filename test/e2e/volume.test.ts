// The SDK's Volume (src/client/volume.ts, node.ts) against a real edgefs
// (wrangler dev): pinned reads until reload(), staged writes published by
// commit(), batch uploads as one version (big files staged first), force:
// false, ephemeral volumes, copies, removes and snapshots at the pin.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";
import {
  type BatchProgress,
  type ClientOptions,
  ExistsError,
  ExpiredError,
  InvalidRequestError,
  NetworkFileSystem,
  NotFoundError,
  TooLargeError,
  Volume,
} from "../../src/client/node.js";
import { E2E_VARS } from "./server-vars.js";

const MiB = 1024 * 1024;
let server: Awaited<ReturnType<typeof startServer>>;
let options: ClientOptions;
let work: string;

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const text = (s: string) => new TextEncoder().encode(s);

beforeAll(async () => {
  // A retention window (the e2e default is none): a pinned version stays readable
  // after others commit, as it does on a deployment (7 days by default).
  server = await startServer({ vars: { ...E2E_VARS, EDGEFS_VERSION_RETENTION_SECONDS: "3600" } });
  options = { url: server.url, token: server.token };
  work = await mkdtemp(join(tmpdir(), "edgefs-volume-"));
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("Volume end to end", () => {
  it("a reader sees the volume at its pin until reload(); a writer's staged writes show after commit()", async () => {
    const name = unique("pin");
    const writer = Volume.fromName(name, { ...options, createIfMissing: true });
    await writer.batchUpload(async (b) => {
      b.putFile(text("one"), "/notes.txt");
    });
    const reader = Volume.fromName(name, options);
    const pinned = await reader.version();
    expect(await reader.readFile("/notes.txt").text()).toBe("one");

    writer.writeFile("/notes.txt", "two");
    writer.writeFile("/new.txt", "fresh");
    expect(writer.stagedCount).toBe(2);
    // Staged, not committed: nobody sees it, not even the share at its latest.
    const latest = NetworkFileSystem.fromName(name, options);
    expect(await latest.readFile("/notes.txt").text()).toBe("one");
    await expect(writer.reload()).rejects.toBeInstanceOf(InvalidRequestError);

    const committed = await writer.commit();
    expect(committed).toBe(pinned + 1);
    expect(writer.stagedCount).toBe(0);
    expect(await writer.readFile("/notes.txt").text()).toBe("two");
    expect(await latest.readFile("/new.txt").text()).toBe("fresh");

    // The reader is still at its pin: the old contents, no new file.
    expect(await reader.version()).toBe(pinned);
    expect(await reader.readFile("/notes.txt").text()).toBe("one");
    expect(await reader.exists("/new.txt")).toBe(false);
    expect((await reader.listdir("/")).map((e) => e.path)).toEqual(["notes.txt"]);

    expect(await reader.reload()).toBe(committed);
    expect(await reader.readFile("/notes.txt").text()).toBe("two");
    expect((await reader.listdir("/")).map((e) => e.path).sort()).toEqual(["new.txt", "notes.txt"]);
    await Volume.delete(name, options);
  });

  it("batchUpload of a local directory with a file over 1 MiB is one version, byte for byte", async () => {
    const dir = join(work, "tree");
    const files: Record<string, Buffer> = {
      "a.txt": randomBytes(10),
      "sub/b.bin": randomBytes(200 * 1024),
      "sub/deep/big.bin": randomBytes(3 * MiB + 5), // staged upload, then the commit names it
      "empty.txt": Buffer.alloc(0),
    };
    for (const [path, bytes] of Object.entries(files)) {
      await mkdir(join(dir, path, ".."), { recursive: true });
      await writeFile(join(dir, path), bytes);
    }
    await mkdir(join(dir, "hollow"));
    const vol = Volume.fromName(unique("batch"), { ...options, createIfMissing: true });
    const before = await vol.version();
    const progress: BatchProgress[] = [];
    const single = randomBytes(2 * MiB);
    const version = await vol.batchUpload(
      async (b) => {
        b.putDirectory(dir, "/data");
        b.putFile(new Blob([single]), "/single.bin");
      },
      { onProgress: (p) => progress.push(p) },
    );
    expect(version).toBe(before + 1);
    expect(await vol.version()).toBe(version);
    expect((await vol.info()).version).toBe(version);
    for (const [path, bytes] of Object.entries(files)) {
      expect(sha256(await vol.readFile(`/data/${path}`).bytes())).toBe(sha256(bytes));
    }
    expect(sha256(await vol.readFile("/single.bin").bytes())).toBe(sha256(single));
    expect((await vol.stat("/data/hollow")).type).toBe("directory");
    // The staged files' bytes were reported, and the end says every file landed.
    const last = progress.at(-1);
    expect(last).toMatchObject({ files: 5, totalFiles: 5 });
    expect(last?.bytes).toBe(3 * MiB + 5 + 2 * MiB);

    const listed: string[] = [];
    for await (const e of vol.iterdir("/data", { recursive: true })) listed.push(e.path);
    expect(listed.sort()).toEqual([
      "a.txt",
      "empty.txt",
      "hollow",
      "sub",
      "sub/b.bin",
      "sub/deep",
      "sub/deep/big.bin",
    ]);
    expect((await vol.listdir("/data")).map((e) => e.path).sort()).toEqual([
      "a.txt",
      "empty.txt",
      "hollow",
      "sub",
    ]);
    await Volume.delete(vol.name, options);
  });

  it("a stream goes inline or staged by its size; force:false refuses an existing target and commits nothing", async () => {
    const vol = Volume.fromName(unique("force"), { ...options, createIfMissing: true });
    const big = randomBytes(MiB + 1);
    const streamOf = (bytes: Uint8Array<ArrayBuffer>) => new Blob([bytes]).stream();
    await vol.batchUpload(async (b) => {
      b.putFile(streamOf(text("small")), "/small.txt");
      b.putFile(streamOf(big), "/big.bin");
    });
    expect(await vol.readFile("/small.txt").text()).toBe("small");
    expect(sha256(await vol.readFile("/big.bin").bytes())).toBe(sha256(big));
    const version = await vol.version();

    const refused = vol.batchUpload(async (b) => {
      b.putFile(text("new"), "/other.txt");
      b.putFile(randomBytes(2 * MiB), "/big.bin");
    });
    await expect(refused).rejects.toBeInstanceOf(ExistsError);
    await expect(refused).rejects.toThrow(/big\.bin/);
    await vol.reload();
    expect(await vol.version()).toBe(version);
    expect(await vol.exists("/other.txt")).toBe(false);
    expect(sha256(await vol.readFile("/big.bin").bytes())).toBe(sha256(big));

    // force: true replaces; the disposable form commits at the end of the block.
    const batch = vol.batchUpload({ force: true });
    batch.putFile(text("replaced"), "/big.bin");
    await batch[Symbol.asyncDispose]();
    expect(await vol.readFile("/big.bin").text()).toBe("replaced");

    // An empty batch makes no version; a local file put to "dir/" keeps its name.
    expect(await vol.batchUpload(async () => undefined)).toBe(await vol.version());
    const local = join(work, "named.txt");
    await writeFile(local, "named");
    await vol.batchUpload(async (b) => void b.putFile(local, "/docs/"));
    expect(await vol.readFile("/docs/named.txt").text()).toBe("named");

    // A callback that throws commits nothing.
    await expect(
      vol.batchUpload(async (b) => {
        b.putFile(text("x"), "/never.txt");
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await vol.asNetworkFileSystem().exists("/never.txt")).toBe(false);
    await Volume.delete(vol.name, options);
  });

  it("a batch whose contents are over the 16 MiB body still commits: what does not fit inline is staged", async () => {
    const vol = Volume.fromName(unique("body"), { ...options, createIfMissing: true });
    const before = await vol.version();
    const files = Array.from({ length: 20 }, () => randomBytes(MiB)); // 20 MiB, each ≤ 1 MiB
    const progress: BatchProgress[] = [];
    const version = await vol.batchUpload(
      async (b) => {
        for (const [i, bytes] of files.entries()) b.putFile(bytes, `/parts/${i}.bin`);
      },
      { onProgress: (p) => progress.push(p) },
    );
    expect(version).toBe(before + 1);
    // Some went up staged (their bytes reported), the rest inline in the commit.
    const staged = progress.at(-1)?.bytes ?? 0;
    expect(staged).toBeGreaterThan(0);
    expect(staged).toBeLessThan(20 * MiB);
    for (const [i, bytes] of files.entries()) {
      expect(sha256(await vol.readFile(`/parts/${i}.bin`).bytes())).toBe(sha256(bytes));
    }
    await Volume.delete(vol.name, options);
  });

  it("refuses a batch over 10,000 ops before anything is sent", async () => {
    const vol = Volume.fromName(unique("limits"), { ...options, createIfMissing: true });
    const before = await vol.version();
    const batch = vol.batchUpload();
    for (let i = 0; i <= 10_000; i++) batch.putFile(text(`${i}`), `/f/${i}.txt`);
    const error = await batch.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as TooLargeError).message).toMatch(/10000 files and directories, not 10001/);
    expect((await vol.info()).version).toBe(before);
    await Volume.delete(vol.name, options);
  });

  it("readFileInto a WritableStream, a Node stream and a local path", async () => {
    const vol = Volume.fromName(unique("into"), { ...options, createIfMissing: true });
    const bytes = randomBytes(300 * 1024);
    vol.writeFile("/f.bin", bytes);
    await vol.commit();

    const chunks: Uint8Array[] = [];
    const sink = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
    expect(await vol.readFileInto("/f.bin", sink)).toBe(bytes.length);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(bytes));

    const node = new PassThrough();
    const got: Buffer[] = [];
    node.on("data", (c: Buffer) => got.push(c));
    expect(await vol.readFileInto("/f.bin", node)).toBe(bytes.length);
    expect(sha256(Buffer.concat(got))).toBe(sha256(bytes));

    const local = join(work, "into", "f.bin");
    expect(await vol.readFileInto("/f.bin", local)).toBe(bytes.length);
    expect(sha256(await readFile(local))).toBe(sha256(bytes));
    await expect(vol.readFileInto("/missing", join(work, "into", "m"))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await Volume.delete(vol.name, options);
  });

  it("copyFiles copies into a directory or to a name; removeFile deletes; each is one version", async () => {
    const vol = Volume.fromName(unique("copy"), { ...options, createIfMissing: true });
    await vol.batchUpload(async (b) => {
      b.putFile(text("a"), "/src/a.txt");
      b.putFile(text("b"), "/src/b.txt");
      b.putFile(text("c"), "/src/tree/c.txt");
    });
    await vol.asNetworkFileSystem().mkdir("/dst");
    await vol.reload();
    const v0 = await vol.version();
    expect(await vol.copyFiles(["/src/a.txt"], "/dst")).toBe(v0 + 1);
    expect(await vol.readFile("/dst/a.txt").text()).toBe("a");
    await vol.copyFiles(["/src/a.txt"], "/renamed.txt");
    expect(await vol.readFile("/renamed.txt").text()).toBe("a");
    await vol.copyFiles(["/src/b.txt", "/src/tree"], "/many", { recursive: true });
    expect(await vol.readFile("/many/b.txt").text()).toBe("b");
    expect(await vol.readFile("/many/tree/c.txt").text()).toBe("c");
    expect(await vol.version()).toBe(v0 + 3);

    await vol.removeFile("/many", { recursive: true });
    expect(await vol.exists("/many")).toBe(false);
    await vol.removeFile("/renamed.txt");
    expect(await vol.exists("/renamed.txt")).toBe(false);
    await expect(vol.removeFile("/nope.txt")).rejects.toBeInstanceOf(NotFoundError);
    await Volume.delete(vol.name, options);
  });

  it("snapshot() names the pinned version; the snapshot reads what the pin saw", async () => {
    const name = unique("snap");
    const writer = Volume.fromName(name, { ...options, createIfMissing: true });
    writer.writeFile("/v.txt", "first");
    await writer.commit();
    const reader = Volume.fromName(name, options);
    const pinned = await reader.version();
    writer.writeFile("/v.txt", "second");
    await writer.commit();
    const snap = await reader.snapshot("seen");
    expect(snap.version).toBe(pinned);
    expect(await reader.at({ snapshot: "seen" }).readFile("/v.txt").text()).toBe("first");
    expect((await reader.listSnapshots()).map((s) => s.name)).toEqual(["seen"]);
    await reader.deleteSnapshot("seen");
    expect(await reader.listSnapshots()).toEqual([]);
    await Volume.delete(name, options);
  });

  it("history lists a path's versions newest first, deletions included; restore brings one back as a new version", async () => {
    const vol = Volume.fromName(unique("history"), { ...options, createIfMissing: true });
    vol.writeFile("/doc.txt", "draft 1");
    const v1 = await vol.commit();
    vol.writeFile("/doc.txt", "draft 2!");
    const v2 = await vol.commit();
    const v3 = await vol.removeFile("/doc.txt");
    const history = await vol.history("/doc.txt");
    expect(history.map((h) => [h.version, h.deleted ?? false])).toEqual([
      [v3, true],
      [v2, false],
      [v1, false],
    ]);
    expect(history[1]).toMatchObject({ type: "file", size: 8 });
    expect(await vol.history("/doc.txt", { limit: 2 })).toHaveLength(2);

    // Undelete from a version: one new version, the pin moves to it.
    const restored = await vol.restore("/doc.txt", { version: v1 });
    expect(restored.version).toBe(v3 + 1);
    expect(restored.entry).toMatchObject({ type: "file", size: 7 });
    expect(await vol.version()).toBe(restored.version);
    expect(await vol.readFile("/doc.txt").text()).toBe("draft 1");

    // From a snapshot, to another path.
    await vol.snapshot("kept");
    vol.writeFile("/doc.txt", "changed");
    await vol.commit();
    await vol.restore("/doc.txt", { snapshot: "kept", to: "/copy-of-doc.txt" });
    expect(await vol.readFile("/copy-of-doc.txt").text()).toBe("draft 1");
    expect(await vol.readFile("/doc.txt").text()).toBe("changed");
    await expect(vol.restore("/doc.txt", { snapshot: "nope" })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(vol.restore("/doc.txt", {} as never)).rejects.toBeInstanceOf(InvalidRequestError);
    await Volume.delete(vol.name, options);
  });

  it("an ephemeral volume is a share while it lives and is gone after dispose", async () => {
    const vol = await Volume.ephemeral(options);
    vol.writeFile("/tmp.txt", "scratch");
    await vol.commit();
    expect(await vol.readFile("/tmp.txt").text()).toBe("scratch");
    expect((await Volume.list(options)).some((s) => s.name === vol.name && s.ephemeral)).toBe(true);
    await vol[Symbol.asyncDispose]();
    await expect(Volume.fromName(vol.name, options).listdir("/")).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe("Volume without a retention window", () => {
  it("a pin others have moved past is ExpiredError until reload()", async () => {
    const bare = await startServer({ vars: E2E_VARS }); // EDGEFS_VERSION_RETENTION_SECONDS=0
    try {
      const opts = { url: bare.url, token: bare.token };
      const name = unique("expire");
      const writer = Volume.fromName(name, { ...opts, createIfMissing: true });
      writer.writeFile("/f.txt", "1");
      await writer.commit();
      const reader = Volume.fromName(name, opts);
      await reader.version();
      writer.writeFile("/f.txt", "2");
      await writer.commit();
      await expect(reader.readFile("/f.txt").text()).rejects.toBeInstanceOf(ExpiredError);
      await expect(reader.listdir("/")).rejects.toBeInstanceOf(ExpiredError);
      await reader.reload();
      expect(await reader.readFile("/f.txt").text()).toBe("2");
    } finally {
      await bare.stop();
    }
  });
});
