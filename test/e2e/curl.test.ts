// The flows a README reader pastes, run with the real curl binary: create a
// share, upload (file and stdin), download, ranges, list, delete, and the
// JSON error bodies (docs/api.md "Errors").
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Edgefs,
  type ErrorBody,
  type FileEntry,
  KiB,
  MiB,
  prngBytes,
  type ShareInfo,
  sha256,
  uniqueName,
} from "./helpers.js";

const server = Edgefs.shared();
const share = uniqueName("curl");
const base = `${server.url}/v1/shares/${share}`;
let work = "";

interface CurlResult {
  /** The HTTP status of the last response (0 if none). */
  status: number;
  /** The response body (from -o), as bytes. */
  body: Buffer;
  /** curl's own exit code. */
  exitCode: number;
  stderr: string;
}

let calls = 0;

/**
 * Runs `curl <args>` as a user would, plus the Bearer token (unless
 * `auth: false`), no ~/.curlrc, no proxy and a time limit. The body goes
 * to a file so binary bodies arrive untouched; the status comes from -w.
 */
function curl(
  args: string[],
  opts: { stdin?: Uint8Array; auth?: boolean } = {},
): Promise<CurlResult> {
  const out = join(work, `response-${++calls}`);
  const full = [
    "-q",
    "-sS",
    "--noproxy",
    "*",
    "--max-time",
    "60",
    ...(opts.auth === false ? [] : ["-H", `Authorization: Bearer ${server.token}`]),
    "-o",
    out,
    "-w",
    "%{http_code}",
    ...args,
  ];
  return new Promise((resolve) => {
    const child = execFile(
      "curl",
      full,
      { encoding: "utf8", timeout: 90_000 },
      (error, stdout, stderr) => {
        let body = Buffer.alloc(0);
        try {
          body = readFileSync(out);
        } catch {}
        const exitCode = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ status: Number(stdout.trim()) || 0, body, exitCode, stderr });
      },
    );
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(opts.stdin ?? undefined);
  });
}

const json = <T>(r: CurlResult): T => JSON.parse(r.body.toString("utf8")) as T;

const report = prngBytes(31, 300 * KiB + 5);
let reportFile = "";
let notesFile = "";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "edgefs-e2e-curl-"));
  reportFile = join(work, "report.bin");
  notesFile = join(work, "notes.txt");
  writeFileSync(reportFile, report);
  writeFileSync(notesFile, "remember the milk\n");
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("curl, as in the README", () => {
  it("creates a share with PUT (201), and PUT again is idempotent (200)", async () => {
    const created = await curl(["-X", "PUT", base]);
    expect(created.status).toBe(201);
    const info = json<ShareInfo>(created);
    expect(info).toMatchObject({ name: share, env: "main", kind: "nfs" });
    expect(info.id).toMatch(/^[0-9a-f]{16,}$/);

    const again = await curl(["-X", "PUT", base]);
    expect(again.status).toBe(200);
    expect(json<ShareInfo>(again).id).toBe(info.id);
  });

  it("uploads a file with -T, to a full path and to a directory URL", async () => {
    const up = await curl(["-T", reportFile, `${base}/files/docs/report.bin`]);
    expect(up.status).toBe(201);
    expect(json<FileEntry>(up)).toMatchObject({
      path: "/docs/report.bin",
      type: "file",
      size: report.byteLength,
    });

    // curl appends the file's name to a URL ending in "/".
    const intoDir = await curl(["-T", notesFile, `${base}/files/docs/`]);
    expect(intoDir.status).toBe(201);
    expect(json<FileEntry>(intoDir)).toMatchObject({ path: "/docs/notes.txt", size: 18 });

    // Uploading again replaces the file: 200.
    const replace = await curl(["-T", notesFile, `${base}/files/docs/notes.txt`]);
    expect(replace.status).toBe(200);
  });

  it("uploads from stdin with -T - (chunked), small and large", async () => {
    const small = await curl(["-T", "-", `${base}/files/logs/stdin.txt`], {
      stdin: new TextEncoder().encode("hello from stdin\n"),
    });
    expect(small.status).toBe(201);
    expect(json<FileEntry>(small)).toMatchObject({ path: "/logs/stdin.txt", size: 17 });

    const data = prngBytes(32, 5 * MiB + 3);
    const large = await curl(["-T", "-", `${base}/files/logs/big.bin`], { stdin: data });
    expect(large.status).toBe(201);
    expect(json<FileEntry>(large).size).toBe(data.byteLength);
    const back = await curl([`${base}/files/logs/big.bin`]);
    expect(back.status).toBe(200);
    expect(sha256(back.body)).toBe(sha256(data));

    const text = await curl([`${base}/files/logs/stdin.txt`]);
    expect(text.body.toString("utf8")).toBe("hello from stdin\n");
  });

  it("downloads a file byte-identical, and HEAD (-I) shows its headers", async () => {
    const got = await curl([`${base}/files/docs/report.bin`]);
    expect(got.status).toBe(200);
    expect(got.body.byteLength).toBe(report.byteLength);
    expect(sha256(got.body)).toBe(sha256(report));

    const head = await curl(["-I", `${base}/files/docs/report.bin`]);
    expect(head.status).toBe(200);
    const headers = head.body.toString("latin1").toLowerCase();
    expect(headers).toContain(`content-length: ${report.byteLength}`);
    expect(headers).toContain("accept-ranges: bytes");
    expect(headers).toMatch(/etag: "[^"]+"/);
  });

  it("reads byte ranges with -r", async () => {
    const first = await curl(["-r", "0-9", `${base}/files/docs/report.bin`]);
    expect(first.status).toBe(206);
    expect(Buffer.compare(first.body, Buffer.from(report.subarray(0, 10)))).toBe(0);

    const suffix = await curl(["-r", "-16", `${base}/files/docs/report.bin`]);
    expect(suffix.status).toBe(206);
    expect(Buffer.compare(suffix.body, Buffer.from(report.subarray(report.byteLength - 16)))).toBe(
      0,
    );

    const tail = await curl(["-r", "300000-", `${base}/files/docs/report.bin`]);
    expect(tail.status).toBe(206);
    expect(Buffer.compare(tail.body, Buffer.from(report.subarray(300000)))).toBe(0);

    const inline = await curl(["-r", "7-12", `${base}/files/docs/notes.txt`]);
    expect(inline.status).toBe(206);
    expect(inline.body.toString("utf8")).toBe("r the ");
  });

  it("lists a directory, and the whole share recursively", async () => {
    const dir = await curl([`${base}/list/docs`]);
    expect(dir.status).toBe(200);
    const entries = json<{ entries: FileEntry[] }>(dir).entries;
    expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ["notes.txt", "file", 18],
      ["report.bin", "file", report.byteLength],
    ]);

    const all = await curl([`${base}/list/?recursive=true`]);
    expect(all.status).toBe(200);
    expect(json<{ entries: FileEntry[] }>(all).entries.map((e) => e.path)).toEqual([
      "docs",
      "docs/notes.txt",
      "docs/report.bin",
      "logs",
      "logs/big.bin",
      "logs/stdin.txt",
    ]);
  });

  it("deletes a file (204); it is then 404 with a JSON error", async () => {
    const del = await curl(["-X", "DELETE", `${base}/files/docs/notes.txt`]);
    expect(del.status).toBe(204);
    expect(del.body.byteLength).toBe(0);

    const gone = await curl([`${base}/files/docs/notes.txt`]);
    expect(gone.status).toBe(404);
    expect(json<ErrorBody>(gone)).toEqual({
      error: { code: "ENOENT", message: expect.any(String), path: "/docs/notes.txt" },
    });

    // With -f, curl itself fails (exit 22) on the error status.
    const failing = await curl(["-f", `${base}/files/docs/notes.txt`]);
    expect(failing.exitCode).toBe(22);
  });

  it("refuses to delete a non-empty directory unless ?recursive=true", async () => {
    const refused = await curl(["-X", "DELETE", `${base}/files/logs`]);
    expect(refused.status).toBe(409);
    expect(json<ErrorBody>(refused).error).toMatchObject({ code: "ENOTEMPTY", path: "/logs" });
    expect((await curl([`${base}/files/logs/stdin.txt`])).status).toBe(200);

    const recursive = await curl(["-X", "DELETE", `${base}/files/logs?recursive=true`]);
    expect(recursive.status).toBe(204);
    expect((await curl([`${base}/stat/logs`])).status).toBe(404);
  });
});

describe("curl error cases show the contract's JSON error", () => {
  it("no token: 401 EUNAUTHENTICATED", async () => {
    const r = await curl([`${base}/files/docs/report.bin`], { auth: false });
    expect(r.status).toBe(401);
    expect(json<ErrorBody>(r).error.code).toBe("EUNAUTHENTICATED");
  });

  it("a range past the end: 416 ERANGE", async () => {
    const r = await curl(["-r", "999999-", `${base}/files/docs/report.bin`]);
    expect(r.status).toBe(416);
    expect(json<ErrorBody>(r).error.code).toBe("ERANGE");
  });

  it.each([
    ["..", "docs/../dotdot.txt", "dotdot.txt"],
    ["%2e%2e", "docs/%2e%2e/dotdot2.txt", "dotdot2.txt"],
    [".", "docs/./dot.txt", "docs/dot.txt"],
  ])(
    "a '%s' segment in the URL is resolved by the URL standard, inside the share",
    async (_, raw, landing) => {
      // workerd (like Cloudflare's edge and curl without --path-as-is) resolves
      // dot segments, percent-encoded or not, before the Worker sees the URL:
      // edgefs cannot refuse them there, and they cannot leave the share.
      const r = await curl(["--path-as-is", "-T", notesFile, `${base}/files/${raw}`]);
      expect(r.status, r.body.toString("utf8")).toBe(201);
      expect(json<{ path: string }>(r).path).toBe(`/${landing}`);
      expect((await curl([`${base}/stat/${landing}`])).status).toBe(200);
    },
  );

  it("dot segments that climb above files/ leave the route: 404, nothing written", async () => {
    const r = await curl([
      "--path-as-is",
      "-T",
      notesFile,
      `${base}/files/docs/../../../../escape.txt`,
    ]);
    expect(r.status).toBe(404);
    expect(json<ErrorBody>(r).error.code).toBe("ENOENT");
    expect((await curl([`${base}/stat/escape.txt`])).status).toBe(404);
  });

  it("create-only upload onto an existing file: 412 EPRECONDITION, file unchanged", async () => {
    const r = await curl([
      "-H",
      "If-None-Match: *",
      "-T",
      notesFile,
      `${base}/files/docs/report.bin`,
    ]);
    expect(r.status).toBe(412);
    expect(json<ErrorBody>(r).error.code).toBe("EPRECONDITION");
    const still = await curl([`${base}/files/docs/report.bin`]);
    expect(sha256(still.body)).toBe(sha256(report));
  });

  it("a missing share: 404 ENOENT", async () => {
    const r = await curl([`${server.url}/v1/shares/${share}-missing/files/x`]);
    expect(r.status).toBe(404);
    expect(json<ErrorBody>(r).error.code).toBe("ENOENT");
  });

  it("piping data to a directory URL (-T - …/dir/) is refused, not silently dropped", async () => {
    // With a file, curl would append its name; from stdin it PUTs to "…/inbox/"
    // itself. A path ending in "/" is a mkdir and takes only an empty body
    // (docs/api.md "Files"), as the Content-Length case already enforces.
    const r = await curl(["-T", "-", `${base}/files/inbox/`], {
      stdin: new TextEncoder().encode("these bytes must not vanish\n"),
    });
    expect(r.status, r.body.toString("utf8")).toBe(400);
    expect(json<ErrorBody>(r).error.code).toBe("EINVAL");
    expect((await curl([`${base}/stat/inbox`])).status).toBe(404);
  });
});
