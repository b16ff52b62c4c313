import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";

const run = promisify(execFile);

/** The README's API examples: every ```sh block between "## API" and the next top section. */
function apiExamples(): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const api = readme.slice(readme.indexOf("\n## API"), readme.indexOf("\n## How it works"));
  const blocks = [...api.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThan(5);
  return blocks.join("\n");
}

describe("README examples", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let cwd: string;
  beforeAll(async () => {
    server = await startServer();
    cwd = mkdtempSync(join(tmpdir(), "edgefs-readme-"));
  });
  afterAll(async () => {
    await server?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it("run as pasted, in order, with no server error", async () => {
    // Every curl call also prints its status on a line of its own.
    const script = [
      "set -euo pipefail",
      `curl() { command curl -w '\\n@status %{http_code}\\n' "$@"; }`,
      apiExamples(),
    ].join("\n");
    const { stdout } = await run("bash", ["-c", script], {
      cwd,
      env: { ...process.env, EDGEFS_URL: server.url, EDGEFS_TOKEN: server.token },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    });
    const statuses = [...stdout.matchAll(/^@status (\d{3})$/gm)].map((m) => Number(m[1]));
    expect(statuses.length).toBeGreaterThan(25);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(stdout).not.toContain("EINTERNAL");
    // What the examples promise, visible in their output.
    expect(stdout).toContain('"code":"ENOENT"'); // the error example
    expect(stdout).toMatch(/^hello$/m); // the file read back
    expect(statuses.filter((s) => s === 206)).toHaveLength(2); // the two range reads
    expect(stdout).toContain('"path":"/data/numbers.txt"'); // the piped, unknown-length write
    expect(stdout).toContain('"code":"ELOCKED"'); // a writer without the lease
    expect(stdout).toContain('"code":"EACCES"'); // the read-only CI token writing
    expect(stdout).toContain("this token has been revoked"); // the CI token after revocation
    expect(stdout).toMatch(/^for the auditors$/m); // read through a presigned URL
    expect(stdout).toContain('"path":"/shared/dropbox.txt"'); // written through a presigned URL
    expect(stdout).toMatch(
      /"path":"\/datasets\/dataset.bin","absolutePath":"\/datasets\/dataset.bin","type":"file","size":12000000/,
    ); // the multipart upload
    expect(stdout).toContain('"path":"/reports/q3.txt"'); // the lease holder's write
    expect(stdout).toMatch(/^\{"expiresAt":\d+\}$/m); // the ephemeral share's heartbeat
    expect(stdout).toMatch(/^dav: 1, 2\r?$/im); // WebDAV OPTIONS
    expect(stdout).toContain("<D:href>/dav/main/demo/drafts/plan.txt</D:href>"); // PROPFIND Depth 1
    expect(statuses).toContain(423); // a WebDAV writer without the lock token
    // --fail-with-body: each example that shows an error says curl failed.
    expect(stdout.match(/^curl exited 22$/gm)).toHaveLength(5);
    expect(stdout).toMatch(/^second draft$/m); // the lock holder's write, moved, read natively
  });
});
