import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify, stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Edgefs, prngBytes, treeOf, uniqueName } from "./helpers.js";

/**
 * The WebDAV front-end against real clients: the litmus compliance suite
 * and rclone's WebDAV backend, both from Debian (.ci/run installs them),
 * talking to the real `wrangler dev` of global-setup.ts.
 */
const run = promisify(execFile);
const edgefs = Edgefs.shared();
const share = uniqueName("dav");
const davUrl = (path = "/") => `${edgefs.url}/dav/main/${share}${path}`;
let work: string;

beforeAll(async () => {
  await edgefs.createShare(share);
  work = mkdtempSync(join(tmpdir(), "edgefs-dav-"));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("litmus", () => {
  it("passes every test of the basic, copymove, props, locks and http suites", async () => {
    const { stdout } = await run("litmus", ["-k", davUrl("/"), "user", edgefs.token], {
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
      cwd: work, // litmus writes its debug.log here
    });
    const text = stripVTControlCharacters(stdout);
    const summaries = [
      ...text.matchAll(/summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed/g),
    ].map(([, suite, ran, passed, failed]) => ({
      suite,
      ran: Number(ran),
      passed: Number(passed),
      failed: Number(failed),
    }));
    expect(summaries.map((s) => s.suite)).toEqual(["basic", "copymove", "props", "locks", "http"]);
    for (const s of summaries) {
      expect(s, `litmus ${s.suite}:\n${text}`).toMatchObject({ failed: 0, passed: s.ran });
    }
  });
});

describe("rclone (WebDAV backend)", () => {
  async function rclone(...args: string[]) {
    const { stdout: pass } = await run("rclone", ["obscure", edgefs.token]);
    return run("rclone", args, {
      timeout: 300_000,
      env: {
        ...process.env,
        RCLONE_CONFIG: join(work, "rclone.conf"),
        RCLONE_CONFIG_EDGE_TYPE: "webdav",
        RCLONE_CONFIG_EDGE_URL: davUrl("/"),
        RCLONE_CONFIG_EDGE_VENDOR: "other",
        RCLONE_CONFIG_EDGE_USER: "rclone",
        RCLONE_CONFIG_EDGE_PASS: pass.trim(),
      },
    });
  }

  it("copies a tree up and syncs it back byte-identical, then syncs a change", async () => {
    const src = join(work, "src");
    const files: Record<string, Uint8Array> = {
      "top.txt": new TextEncoder().encode("top\n"),
      "a/inline.bin": prngBytes(1, 10_000),
      "a/b/c/r2.bin": prngBytes(2, 300_000),
      "ünï cødé/spaced name.dat": prngBytes(3, 70_000),
      "a/empty.txt": new Uint8Array(0),
    };
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(join(src, path, ".."), { recursive: true });
      writeFileSync(join(src, path), bytes);
    }
    await rclone("copy", src, "edge:tree");
    const back = join(work, "back");
    await rclone("sync", "edge:tree", back);
    expect(treeOf(back)).toEqual(treeOf(src));

    // A second sync transfers the difference: one file changed, one deleted.
    writeFileSync(join(src, "a/inline.bin"), prngBytes(4, 12_345));
    rmSync(join(src, "a/b/c/r2.bin"));
    await rclone("sync", src, "edge:tree");
    const { stdout } = await rclone("lsf", "-R", "--files-only", "edge:tree");
    expect(stdout.trim().split("\n").sort()).toEqual(
      ["a/empty.txt", "a/inline.bin", "top.txt", "ünï cødé/spaced name.dat"].sort(),
    );
    const read = await edgefs.fetch(edgefs.route(share, "files", "/tree/a/inline.bin"));
    expect(
      createHash("sha256")
        .update(new Uint8Array(await read.arrayBuffer()))
        .digest("hex"),
    ).toBe(createHash("sha256").update(prngBytes(4, 12_345)).digest("hex"));
  });

  it("renames server-side with MOVE", async () => {
    await rclone("moveto", "edge:tree/top.txt", "edge:tree/renamed.txt");
    const { stdout } = await rclone("lsf", "edge:tree");
    expect(stdout).toContain("renamed.txt");
    expect(stdout).not.toContain("top.txt");
  });
});

/** A raw request through node:http, for bodies and headers fetch will not send. */
function request(
  method: string,
  url: string,
  headers: Record<string, string>,
  chunks: Uint8Array[] = [],
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((ok, fail) => {
    const req = http.request(url, { method, headers, timeout: 60_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", fail);
    req.on("timeout", () => req.destroy(new Error("timed out")));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe("client quirks", () => {
  const basic = () => `Basic ${Buffer.from(`finder:${edgefs.token}`).toString("base64")}`;

  it("macOS Finder: a chunked PUT with X-Expected-Entity-Length stores every byte", async () => {
    const bytes = prngBytes(9, 3 * 1024 * 1024 + 7);
    const chunks = [bytes.subarray(0, 1_000_000), bytes.subarray(1_000_000)];
    const res = await request(
      "PUT",
      davUrl("/finder.bin"),
      {
        authorization: basic(),
        "transfer-encoding": "chunked",
        "x-expected-entity-length": String(bytes.byteLength),
      },
      chunks,
    );
    expect(res.status).toBe(201);
    const read = await edgefs.fetch(edgefs.route(share, "files", "/finder.bin"));
    const got = new Uint8Array(await read.arrayBuffer());
    expect(got.byteLength).toBe(bytes.byteLength);
    expect(createHash("sha256").update(got).digest("hex")).toBe(
      createHash("sha256").update(bytes).digest("hex"),
    );
  });

  it("macOS Finder: a body shorter than X-Expected-Entity-Length is refused and nothing is stored", async () => {
    const res = await request(
      "PUT",
      davUrl("/short.bin"),
      { authorization: basic(), "transfer-encoding": "chunked", "x-expected-entity-length": "100" },
      [new Uint8Array(10)],
    );
    expect(res.status).toBe(400);
    expect((await request("HEAD", davUrl("/short.bin"), { authorization: basic() })).status).toBe(
      404,
    );
  });

  it("Windows: LOCK a new name, PUT with the token, UNLOCK", async () => {
    const lockinfo =
      '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>WINDOWS\\user</D:href></D:owner></D:lockinfo>';
    const locked = await request(
      "LOCK",
      davUrl("/report.docx"),
      { authorization: basic(), "content-type": "text/xml", timeout: "Second-3600" },
      [new TextEncoder().encode(lockinfo)],
    );
    expect(locked.status).toBe(201);
    expect(locked.body).toContain("WINDOWS\\user");
    const token = String(locked.headers["lock-token"]);
    expect(token).toMatch(/^<urn:uuid:[0-9a-f-]{36}>$/);
    // The empty file exists at once and is locked for everyone else.
    const other = await request("PUT", davUrl("/report.docx"), { authorization: basic() }, [
      new TextEncoder().encode("not mine"),
    ]);
    expect(other.status).toBe(423);
    const mine = await request(
      "PUT",
      davUrl("/report.docx"),
      { authorization: basic(), if: `(${token})` },
      [new TextEncoder().encode("the report")],
    );
    expect(mine.status).toBe(204);
    const unlocked = await request("UNLOCK", davUrl("/report.docx"), {
      authorization: basic(),
      "lock-token": token,
    });
    expect(unlocked.status).toBe(204);
    const read = await edgefs.fetch(edgefs.route(share, "files", "/report.docx"));
    expect(await read.text()).toBe("the report");
  });
});
