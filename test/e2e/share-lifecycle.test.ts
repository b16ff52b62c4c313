// A share's whole life: create, fill, delete, recreate under the same name
// (it starts empty, with a new id, and the old blobs are reclaimed), and
// its data surviving a hard server restart on the same data dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";
import {
  Edgefs,
  type ErrorBody,
  type FileEntry,
  KiB,
  MiB,
  prngBytes,
  type ShareInfo,
  sha256,
  sleep,
  uniqueName,
} from "./helpers.js";
import { E2E_VARS } from "./server-vars.js";

/** A mix of inline (≤ 64 KiB) and R2-backed files, in nested directories. */
const FILES: { path: string; seed: number; size: number }[] = [
  { path: "notes.txt", seed: 11, size: 120 },
  { path: "docs/readme.md", seed: 12, size: 5 * KiB },
  { path: "docs/deep/empty", seed: 13, size: 0 },
  { path: "data/a.bin", seed: 14, size: 200 * KiB },
  { path: "data/b.bin", seed: 15, size: 3 * MiB + 1 },
  { path: "data/nested/c.bin", seed: 16, size: 64 * KiB + 1 },
];
const LARGE = FILES.filter((f) => f.size > 64 * KiB).length;

async function fill(server: Edgefs, share: string): Promise<void> {
  for (const f of FILES) {
    const { status, body } = await server.put(share, f.path, prngBytes(f.seed, f.size));
    expect(status, `${f.path}: ${JSON.stringify(body)}`).toBe(201);
  }
}

async function expectAllFiles(server: Edgefs, share: string): Promise<void> {
  for (const f of FILES) {
    const got = await server.get(share, f.path);
    expect(got.status, f.path).toBe(200);
    expect(got.bytes.byteLength, f.path).toBe(f.size);
    expect(sha256(got.bytes), f.path).toBe(sha256(prngBytes(f.seed, f.size)));
  }
}

describe("delete and recreate a share", () => {
  const server = Edgefs.shared();
  const name = uniqueName("lifecycle");
  let first: ShareInfo;

  it("a new share holds small files inline and large ones in R2", async () => {
    first = await server.createShare(name);
    expect(first).toMatchObject({ name, env: "main", kind: "nfs" });
    await fill(server, name);
    await expectAllFiles(server, name);
    expect(await server.r2Count(first.id)).toBe(LARGE);
    // PUT again is idempotent: 200 and the same share.
    const again = await server.json<ShareInfo>(`/v1/shares/${name}`, { method: "PUT" });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.id);
  });

  it("deleting the share makes it and its files disappear", async () => {
    expect(await server.deleteShare(name)).toBe(204);
    const info = await server.json<ErrorBody>(`/v1/shares/${name}`);
    expect(info.status).toBe(404);
    expect(info.body.error.code).toBe("ENOENT");
    const file = await server.json<ErrorBody>(server.route(name, "files", "notes.txt"));
    expect(file.status).toBe(404);
    expect(file.body.error.code).toBe("ENOENT");
    const list = await server.json<{ shares: ShareInfo[] }>("/v1/shares");
    expect(list.body.shares.map((s) => s.name)).not.toContain(name);
  });

  it("recreating the name gives an empty share with a new id", async () => {
    const second = await server.json<ShareInfo>(`/v1/shares/${name}`, { method: "PUT" });
    expect(second.status).toBe(201);
    expect(second.body.name).toBe(name);
    expect(second.body.id).not.toBe(first.id);

    const root = await server.json<{ entries: FileEntry[] }>(
      `${server.route(name, "list", "")}?recursive=true`,
    );
    expect(root.status).toBe(200);
    expect(root.body.entries).toEqual([]);
    for (const f of FILES) {
      expect((await server.stat(name, f.path)).status, f.path).toBe(404);
    }
    const list = await server.json<{ shares: ShareInfo[] }>("/v1/shares");
    expect(list.body.shares.filter((s) => s.name === name).map((s) => s.id)).toEqual([
      second.body.id,
    ]);

    // A write to an old path holds the new bytes only.
    const fresh = prngBytes(99, 300 * KiB);
    expect((await server.put(name, "data/a.bin", fresh)).status).toBe(201);
    const got = await server.get(name, "data/a.bin");
    expect(sha256(got.bytes)).toBe(sha256(fresh));
    expect(await server.r2Count(second.body.id)).toBe(1);
  });

  it("the old incarnation's blobs are reclaimed after the GC grace period", async () => {
    expect(await server.waitForR2Count(first.id, 0)).toBe(0);
    // ...and only those: the new share's file is still there.
    const info = await server.json<ShareInfo>(`/v1/shares/${name}`);
    expect(await server.r2Count(info.body.id)).toBe(1);
    const got = await server.get(name, "data/a.bin");
    expect(got.status).toBe(200);
    expect(sha256(got.bytes)).toBe(sha256(prngBytes(99, 300 * KiB)));
  });
});

describe("restart on the same data dir", () => {
  const token = `restart-${Math.random().toString(36).slice(2)}`;
  let dataDir: string | undefined;
  let running: Awaited<ReturnType<typeof startServer>> | undefined;

  afterAll(async () => {
    await running?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("files written before a SIGKILL are all there, byte-identical, after restart", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "edgefs-e2e-restart-"));
    running = await startServer({ dataDir, token, vars: E2E_VARS });
    let server = new Edgefs(running.url, token);
    const name = uniqueName("restart");
    const info = await server.createShare(name);
    await fill(server, name);
    // An overwrite whose superseded blob is still waiting for GC at the kill.
    const v2 = prngBytes(17, 3 * MiB + 1);
    const overwrite = await server.put(name, "data/b.bin", v2);
    expect(overwrite.status).toBe(200);

    await running.kill(); // no graceful shutdown
    running = await startServer({ dataDir, token, vars: E2E_VARS });
    server = new Edgefs(running.url, token);

    const after = await server.json<ShareInfo>(`/v1/shares/${name}`);
    expect(after.status).toBe(200);
    expect(after.body.id).toBe(info.id);
    for (const f of FILES.filter((x) => x.path !== "data/b.bin")) {
      const got = await server.get(name, f.path);
      expect(got.status, f.path).toBe(200);
      expect(sha256(got.bytes), f.path).toBe(sha256(prngBytes(f.seed, f.size)));
    }
    const b = await server.get(name, "data/b.bin");
    expect(b.status).toBe(200);
    expect(b.res.headers.get("etag")).toBe(overwrite.body.etag);
    expect(sha256(b.bytes)).toBe(sha256(v2));

    const tree = await server.json<{ entries: FileEntry[] }>(
      `${server.route(name, "list", "")}?recursive=true`,
    );
    expect(tree.body.entries.filter((e) => e.type === "file").map((e) => e.path)).toEqual(
      FILES.map((f) => f.path).sort(),
    );

    // The GC queued before the kill still runs after the restart: only live blobs remain.
    await sleep(1500);
    expect(await server.waitForR2Count(info.id, LARGE)).toBe(LARGE);
    // And the server still takes writes.
    expect((await server.put(name, "after-restart.txt", prngBytes(3, 10))).status).toBe(201);
  });
});
