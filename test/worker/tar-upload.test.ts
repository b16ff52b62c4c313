import { packTar, type TarEntry } from "modern-tar";
import { describe, expect, it } from "vitest";
import { concat } from "../../src/core/streams";
import {
  api,
  bytesOf,
  chunkedBody,
  expectError,
  json,
  mountUnreachableBucket,
  newShare,
  put,
  r2Count,
  runAllGc,
  sha256,
  shareId,
  stub,
} from "./helpers";

const KiB = 1024;
const MiB = 1024 * KiB;
const TAR = { "content-type": "application/x-tar" };

const utf8 = new TextEncoder();

function file(name: string, body: Uint8Array | string): TarEntry {
  const bytes = typeof body === "string" ? utf8.encode(body) : body;
  return { header: { name, size: bytes.byteLength, type: "file" }, body: bytes };
}
const dir = (name: string): TarEntry => ({ header: { name, size: 0, type: "directory" } });

/**
 * One raw 512-byte ustar header, written here rather than by the library
 * under test's packer, for the entries a packer would not make or would
 * rewrite: GNU long names, links, devices, absolute and ".." names.
 */
function rawHeader(name: string, typeflag: string, size = 0, linkname = ""): Uint8Array {
  const h = new Uint8Array(512);
  const text = (at: number, value: string) => h.set(utf8.encode(value), at);
  const octal = (at: number, width: number, n: number) =>
    text(at, `${n.toString(8).padStart(width - 1, "0")}\0`);
  text(0, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  text(156, typeflag);
  text(157, linkname);
  text(257, "ustar\0");
  text(263, "00");
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  const sum = h.reduce((a, b) => a + b, 0);
  text(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** A body padded to whole blocks, as in an archive. */
function padded(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 512) * 512);
  out.set(bytes);
  return out;
}

const EOF = new Uint8Array(1024);

const joined = (...parts: Uint8Array[]): Uint8Array =>
  concat(
    parts,
    parts.reduce((n, p) => n + p.byteLength, 0),
  );

function upload(
  share: string,
  dest: string,
  archive: Uint8Array,
  { query = "", headers = {} }: { query?: string; headers?: Record<string, string> } = {},
) {
  // Chunked (no Content-Length), as `tar -c . | curl -T -` sends it.
  return api("PUT", `/v1/shares/${share}/files${dest}${query}`, {
    body: chunkedBody(archive),
    headers: { ...TAR, ...headers },
  });
}

async function version(share: string): Promise<number> {
  return (await json<{ version: number }>(await api("GET", `/v1/shares/${share}`))).version;
}

async function tree(share: string): Promise<string[]> {
  const res = await api("GET", `/v1/shares/${share}/list/?recursive=true`);
  expect(res.status).toBe(200);
  const { entries } = await json<{ entries: { path: string; type: string; size?: number }[] }>(res);
  return entries.map((e) => `${e.path} ${e.type} ${e.size ?? ""}`).sort();
}

async function bytesAt(share: string, path: string): Promise<Uint8Array> {
  const res = await api("GET", `/v1/shares/${share}/files${path}`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

/** A share with one file in /dest and what it looks like: a refused upload must leave exactly this. */
async function seeded(): Promise<{ s: string; prefix: string; before: number; listed: string[] }> {
  const s = await newShare("tar");
  await put(s, "/dest/kept.txt", "kept");
  return {
    s,
    prefix: `blobs/${await shareId(s)}/`,
    before: await version(s),
    listed: await tree(s),
  };
}

/** Nothing of a refused upload is left: same version, same tree, no blob (once GC ran), nothing pending. */
async function unchanged(
  { s, prefix, before, listed }: Awaited<ReturnType<typeof seeded>>,
  r2Before = 0,
) {
  expect(await version(s)).toBe(before);
  expect(await tree(s)).toEqual(listed);
  expect((await stub(s).usage()).pending).toBe(0);
  await runAllGc(s);
  expect(await r2Count(prefix)).toBe(r2Before);
}

/** A big file (over the 64 KiB inline limit, so put to R2 before the refusal) to lead refused archives. */
const bigFirst = () => file("./big.bin", bytesOf(300 * KiB, 9));

describe("tar upload", () => {
  it("extracts many small files, a big one, nested dirs and pax long names as ONE version", async () => {
    const s = await newShare("tar");
    const prefix = `blobs/${await shareId(s)}/`;
    const before = await version(s);
    const longDir = `${"d".repeat(120)}/${"e".repeat(120)}`;
    const longName = `${longDir}/${"f".repeat(200)}.txt`;
    const big = bytesOf(3 * MiB + 17, 5);
    const small = Array.from({ length: 200 }, (_, i) =>
      file(`./many/${i}.txt`, `file number ${i}`),
    );
    const archive = await packTar([
      dir("./"),
      dir("./many/"),
      ...small,
      dir("./a/"),
      dir("./a/b/"),
      dir("./a/b/empty/"),
      file("./a/b/c.txt", "nested"),
      file("./a/zero", ""),
      file("./big.bin", big),
      file(`./${longName}`, "long"),
      file("plain.txt", "no ./ prefix"),
    ]);
    const res = await upload(s, "/dest/", archive);
    expect(res.status).toBe(200);
    const body = await json<{ version: number; files: number; bytes: number }>(res);
    const bytes =
      small.reduce((n, e) => n + e.header.size, 0) + 6 + big.byteLength + 4 + "no ./ prefix".length;
    expect(body).toEqual({ version: before + 1, files: 205, bytes });
    expect(res.headers.get("edgefs-version")).toBe(String(before + 1));
    expect(await version(s)).toBe(before + 1);

    expect(await sha256(await bytesAt(s, "/dest/big.bin"))).toBe(await sha256(big));
    for (const i of [0, 99, 199]) {
      expect(new TextDecoder().decode(await bytesAt(s, `/dest/many/${i}.txt`))).toBe(
        `file number ${i}`,
      );
    }
    expect(new TextDecoder().decode(await bytesAt(s, "/dest/a/b/c.txt"))).toBe("nested");
    expect(await bytesAt(s, "/dest/a/zero")).toHaveLength(0);
    expect(new TextDecoder().decode(await bytesAt(s, `/dest/${longName}`))).toBe("long");
    expect(new TextDecoder().decode(await bytesAt(s, "/dest/plain.txt"))).toBe("no ./ prefix");
    const listed = await tree(s);
    expect(listed).toContain("dest/a/b/empty directory 0");
    expect(listed.filter((l) => l.startsWith("dest/many/"))).toHaveLength(200);
    // Only the big file went to R2; the small ones are inline.
    expect(await r2Count(prefix)).toBe(1);
    expect((await stub(s).usage()).pending).toBe(0);
  });

  it("reads GNU long names (type L) and extracts at the share's root", async () => {
    const s = await newShare("tar");
    const name = `${"g".repeat(150)}/${"h".repeat(150)}`;
    const nameBytes = utf8.encode(`${name}\0`);
    const archive = joined(
      rawHeader("././@LongLink", "L", nameBytes.byteLength),
      padded(nameBytes),
      rawHeader(name.slice(0, 99), "0", 3),
      padded(utf8.encode("gnu")),
      EOF,
    );
    const res = await upload(s, "/", archive);
    expect(res.status).toBe(200);
    expect(new TextDecoder().decode(await bytesAt(s, `/${name}`))).toBe("gnu");
  });

  it("replaces existing files by default, and refuses with ?force=false (409, nothing written)", async () => {
    const seed = await seeded();
    const archive = await packTar([bigFirst(), file("./new.txt", "new"), file("./kept.txt", "x")]);
    const error = await expectError(
      await upload(seed.s, "/dest/", archive, { query: "?force=false" }),
      409,
      "EEXIST",
    );
    expect(error.message).toContain("/dest/kept.txt");
    await unchanged(seed);
    const ok = await upload(seed.s, "/dest/", archive);
    expect(ok.status).toBe(200);
    expect(new TextDecoder().decode(await bytesAt(seed.s, "/dest/kept.txt"))).toBe("x");
  });

  it("keeps at most 16 MiB of small files in memory: past it they go to R2 like big ones", async () => {
    const s = await newShare("tar");
    const prefix = `blobs/${await shareId(s)}/`;
    // 260 files of 64 KiB (each at the inline limit): 16.25 MiB, a quarter MiB over.
    const files = Array.from({ length: 260 }, (_, i) => file(`f${i}`, bytesOf(64 * KiB, i + 1)));
    const res = await upload(s, "/held/", await packTar(files));
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ files: 260, bytes: 260 * 64 * KiB });
    expect(await r2Count(prefix)).toBe(4);
    for (const i of [0, 255, 256, 259]) {
      expect(await sha256(await bytesAt(s, `/held/f${i}`))).toBe(
        await sha256(bytesOf(64 * KiB, i + 1)),
      );
    }
  });

  describe("refuses, writing nothing", () => {
    const refusals: [string, () => Promise<Uint8Array> | Uint8Array, string][] = [
      ["a symlink", () => joined(rawHeader("link", "2", 0, "kept.txt"), EOF), "symbolic link"],
      ["a hard link", () => joined(rawHeader("hard", "1", 0, "kept.txt"), EOF), "hard link"],
      ["a character device", () => joined(rawHeader("tty", "3"), EOF), "character device"],
      ["a block device", () => joined(rawHeader("sda", "4"), EOF), "block device"],
      ["a FIFO", () => joined(rawHeader("pipe", "6"), EOF), "FIFO"],
      ["an absolute name", () => joined(rawHeader("/etc/passwd", "0"), EOF), "absolute"],
      ["a name with ..", () => joined(rawHeader("a/../../escape", "0"), EOF), '".."'],
      ["a leading ..", () => joined(rawHeader("../escape", "5"), EOF), '".."'],
      [
        "a name the path parser refuses",
        () => joined(rawHeader("back\\slash", "0"), EOF),
        "backslash",
      ],
    ];
    for (const [what, make, message] of refusals) {
      it(`${what}: 400 EINVAL, after a big file and a small one were read`, async () => {
        const seed = await seeded();
        const lead = await packTar([bigFirst(), file("./small.txt", "small")]);
        // The packed lead without its end-of-archive blocks, then the bad entry.
        const archive = joined(lead.subarray(0, lead.byteLength - 1024), await make());
        const error = await expectError(await upload(seed.s, "/dest/", archive), 400, "EINVAL");
        expect(error.message).toContain(message);
        expect(error.message).toContain("entry 3");
        await unchanged(seed);
      });
    }

    it("a truncated archive (cut in a file's bytes, in a header, or without its end blocks): 400", async () => {
      const seed = await seeded();
      const archive = await packTar([bigFirst(), file("./after.txt", "after")]);
      for (const cut of [
        100 * KiB,
        archive.byteLength - 1024 - 512 - 100,
        archive.byteLength - 1024,
      ]) {
        const error = await expectError(
          await upload(seed.s, "/dest/", archive.subarray(0, cut)),
          400,
          "EINVAL",
        );
        expect(error.message).toContain("truncated or corrupt");
      }
      await unchanged(seed);
    });

    it("a corrupt header (bad checksum) or an empty body: 400", async () => {
      const seed = await seeded();
      const archive = await packTar([bigFirst(), file("./after.txt", "after")]);
      const broken = archive.slice();
      const second = 512 + 300 * KiB;
      broken[second] = (broken[second] as number) ^ 0xff;
      await expectError(await upload(seed.s, "/dest/", broken), 400, "EINVAL");
      await expectError(await upload(seed.s, "/dest/", new Uint8Array(0)), 400, "EINVAL");
      await unchanged(seed);
    });

    it("more than 10,000 entries: 413 ETOOLARGE", async () => {
      const seed = await seeded();
      const entries = Array.from({ length: 10_001 }, (_, i) => dir(`d${i}/`));
      const error = await expectError(
        await upload(seed.s, "/dest/", await packTar([bigFirst(), ...entries])),
        413,
        "ETOOLARGE",
      );
      expect(error.message).toContain("10000 entries");
      await unchanged(seed);
    });

    it("a tar body on a path that does not end in '/': 400", async () => {
      const seed = await seeded();
      const archive = await packTar([file("a.txt", "a")]);
      const error = await expectError(await upload(seed.s, "/dest", archive), 400, "EINVAL");
      expect(error.message).toContain("end the path in '/'");
      await unchanged(seed);
    });

    it("a file entry where the share has a directory (the commit refuses): 409", async () => {
      const seed = await seeded();
      await put(seed.s, "/dest/sub/inner.txt", "inner");
      const seed2 = { ...seed, before: await version(seed.s), listed: await tree(seed.s) };
      const archive = await packTar([bigFirst(), file("./sub", "a file over a directory")]);
      await expectError(await upload(seed.s, "/dest/", archive), 409, "EISDIR");
      await unchanged(seed2);
    });
  });

  it("follows leases: a leased path needs Edgefs-Lease (423 without it, nothing written)", async () => {
    const seed = await seeded();
    const lease = await json<{ leaseId: string }>(
      await api("POST", `/v1/shares/${seed.s}/leases`, {
        body: JSON.stringify({ path: "/dest/locked", ttlSeconds: 60 }),
      }),
    );
    const seed2 = { ...seed, before: await version(seed.s) };
    const archive = await packTar([bigFirst(), file("./locked/f.txt", "locked")]);
    await expectError(await upload(seed.s, "/dest/", archive), 423, "ELOCKED");
    await unchanged(seed2);
    const ok = await upload(seed.s, "/dest/", archive, {
      headers: { "edgefs-lease": lease.leaseId },
    });
    expect(ok.status).toBe(200);
    expect(new TextDecoder().decode(await bytesAt(seed.s, "/dest/locked/f.txt"))).toBe("locked");
  });

  it("applies the share's quota to the whole archive (507 ENOSPC, nothing written)", async () => {
    const seed = await seeded();
    const q = await api("PUT", `/v1/shares/${seed.s}/quota`, {
      body: JSON.stringify({ files: 3 }),
    });
    expect(q.status).toBe(200);
    const seed2 = { ...seed, before: await version(seed.s) };
    const archive = await packTar([bigFirst(), file("a", "a"), file("b", "b")]);
    await expectError(await upload(seed.s, "/dest/", archive), 507, "ENOSPC");
    await unchanged(seed2);
  });

  it("answers 501 ENOTSUP under a bucket mount, as a batch commit does", async () => {
    const s = await newShare("tar");
    await mountUnreachableBucket(s);
    const archive = await packTar([file("a.txt", "a")]);
    const error = await expectError(await upload(s, "/bucket/in/", archive), 501, "ENOTSUP");
    expect(error.message).toContain("/bucket/in");
    // A mount below the target directory is refused by the commit, naming the entry.
    const below = await expectError(
      await upload(s, "/", await packTar([file("ok.txt", "ok"), file("bucket/x.txt", "x")])),
      501,
      "ENOTSUP",
    );
    expect(below.message).toContain("/bucket/x.txt");
    await expectError(await api("GET", `/v1/shares/${s}/files/ok.txt`), 404, "ENOENT");
  });
});
