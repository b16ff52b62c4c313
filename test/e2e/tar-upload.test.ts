// Tar uploads (docs/api.md "Tar uploads") with the real tools a user pipes:
// `tar -c . | curl -T - -H 'Content-Type: application/x-tar' …/files/dest/`
// against wrangler dev, in GNU and pax formats; then a kill -9 of the whole
// server in the middle of a big archive, and a restart: the destination has
// all of the archive or none of it.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";
import { Edgefs, type FileEntry, KiB, MiB, prngBytes, sha256, uniqueName } from "./helpers.js";
import { E2E_VARS } from "./server-vars.js";

let work = "";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "edgefs-e2e-tar-"));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Writes `files` (relative name → bytes) under a fresh directory; returns it. */
function tree(name: string, files: Map<string, Uint8Array>): string {
  const root = join(work, name);
  for (const [rel, data] of files) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), data);
  }
  mkdirSync(join(root, "empty-dir"), { recursive: true });
  return root;
}

/**
 * `tar -c -C SRC . | curl -T - …` in bash with pipefail; resolves with curl's
 * status line and body (from -w and -o) and the pipeline's exit code.
 */
function tarPipe(
  src: string,
  url: string,
  token: string,
  extra: { tarArgs?: string; curlArgs?: string } = {},
): { done: Promise<{ code: number | null; status: number; body: string }> } {
  const out = join(work, `answer-${Math.random().toString(36).slice(2)}`);
  const script = [
    "set -o pipefail",
    `tar -c ${extra.tarArgs ?? ""} -C "$SRC" . | curl -q -sS --noproxy '*' --max-time 60 ${extra.curlArgs ?? ""} -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-tar' -T - -o "$OUT" -w '%{http_code}' "$URL"`,
  ].join("\n");
  const child = spawn("bash", ["-c", script], {
    env: { ...process.env, SRC: src, TOKEN: token, OUT: out, URL: url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr.on("data", (d) => {
    stderr += String(d);
  });
  const done = new Promise<{ code: number | null; status: number; body: string }>((resolve) => {
    child.on("close", (code) => {
      let body = stderr;
      try {
        body = `${readFileSync(out, "utf8")}${stderr}`;
      } catch {}
      resolve({ code, status: Number(stdout.trim()) || 0, body });
    });
  });
  return { done };
}

async function listing(api: Edgefs, share: string, dir: string): Promise<FileEntry[] | null> {
  const res = await api.fetch(`${api.route(share, "list", dir)}?recursive=true`);
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  return ((await res.json()) as { entries: FileEntry[] }).entries;
}

async function version(api: Edgefs, share: string): Promise<number> {
  const res = await api.fetch(`/v1/shares/${share}`);
  return ((await res.json()) as { version: number }).version;
}

describe("tar -c . | curl -T - into a share", () => {
  const files = new Map<string, Uint8Array>([
    ["README.txt", new TextEncoder().encode("hello from tar\n")],
    ["big/data.bin", prngBytes(71, 2 * MiB + 123)],
    [`${"long-".repeat(30)}dir/${"name-".repeat(30)}file.txt`, prngBytes(72, 5 * KiB)],
    ...Array.from(
      { length: 40 },
      (_, i) => [`many/sub${i % 4}/f${i}.txt`, prngBytes(100 + i, 100 + i * 37)] as const,
    ),
  ]);

  for (const format of ["gnu", "pax"]) {
    it(`extracts a ${format} archive as one version, every file byte-identical`, async () => {
      const api = Edgefs.shared();
      const share = uniqueName("tar");
      expect((await api.fetch(`/v1/shares/${share}`, { method: "PUT" })).status).toBe(201);
      const src = tree(`src-${format}`, files);
      const before = await version(api, share);
      const { code, status, body } = await tarPipe(
        src,
        `${api.url}/v1/shares/${share}/files/dest/`,
        api.token,
        { tarArgs: `--format=${format}` },
      ).done;
      expect({ code, status }, body).toEqual({ code: 0, status: 200 });
      const answer = JSON.parse(body) as { version: number; files: number; bytes: number };
      const total = [...files.values()].reduce((n, d) => n + d.byteLength, 0);
      expect(answer).toEqual({ version: before + 1, files: files.size, bytes: total });
      expect(await version(api, share)).toBe(before + 1);
      for (const [rel, data] of files) {
        const res = await api.fetch(api.route(share, "files", `dest/${rel}`));
        expect(res.status, rel).toBe(200);
        expect(sha256(new Uint8Array(await res.arrayBuffer())), rel).toBe(sha256(data));
      }
      const entries = (await listing(api, share, "dest")) ?? [];
      expect(entries.filter((e) => e.type === "file")).toHaveLength(files.size);
      expect(entries.some((e) => e.type === "directory" && e.path.endsWith("empty-dir"))).toBe(
        true,
      );
    });
  }
});

describe("kill -9 of the server in the middle of a tar upload", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "edgefs-tar-crash-"));
  const token = `tar-crash-${Math.random().toString(36).slice(2)}`;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("after the restart the destination holds all of the archive or none of it", async () => {
    server = await startServer({ dataDir, token, vars: E2E_VARS });
    let api = new Edgefs(server.url, token);
    const share = uniqueName("tarcrash");
    expect((await api.fetch(`/v1/shares/${share}`, { method: "PUT" })).status).toBe(201);
    // 12 MiB sent at 2 MiB/s: the kill lands about a quarter of the way in.
    const files = new Map<string, Uint8Array>([
      ["small.txt", new TextEncoder().encode("first\n")],
      ["a.bin", prngBytes(81, 4 * MiB)],
      ["b.bin", prngBytes(82, 4 * MiB)],
      ["c.bin", prngBytes(83, 4 * MiB)],
      ["last.txt", new TextEncoder().encode("last\n")],
    ]);
    const src = tree("src-crash", files);
    const before = await version(api, share);
    const upload = tarPipe(src, `${api.url}/v1/shares/${share}/files/dest/`, token, {
      curlArgs: "--limit-rate 2M",
    });
    let finished = false;
    void upload.done.then(() => {
      finished = true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(finished, "the upload ended before the kill").toBe(false);
    await server.kill();
    const cut = await upload.done;
    expect(cut.status, cut.body).not.toBe(200);

    server = await startServer({ dataDir, token, vars: E2E_VARS });
    api = new Edgefs(server.url, token);
    const entries = await listing(api, share, "dest");
    const after = await version(api, share);
    if (entries === null || entries.length === 0) {
      // None of it: the share is as it was.
      expect(after).toBe(before);
    } else {
      // All of it, in one version.
      expect(after).toBe(before + 1);
      for (const [rel, data] of files) {
        const res = await api.fetch(api.route(share, "files", `dest/${rel}`));
        expect(sha256(new Uint8Array(await res.arrayBuffer())), rel).toBe(sha256(data));
      }
    }
    // The share takes the same archive again, whole.
    const again = await tarPipe(src, `${api.url}/v1/shares/${share}/files/dest/`, token).done;
    expect({ code: again.code, status: again.status }, again.body).toEqual({
      code: 0,
      status: 200,
    });
    expect((await listing(api, share, "dest"))?.filter((e) => e.type === "file")).toHaveLength(
      files.size,
    );
  });
});
