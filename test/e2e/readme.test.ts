import { execFile } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(join(repo, file), "utf8");

/**
 * The pages whose examples run, in the order a reader follows them: the
 * README's tour, then the docs. Every ```sh block of these runs as pasted; a
 * ```js block whose first line is `// NAME.mjs` is saved as NAME.mjs at that
 * point (the `node NAME.mjs` that follows it is an sh block). Other fences
 * (```text, ```ts, plain) are shown, not run.
 */
const PAGES: { file: string; from?: string }[] = [
  { file: "README.md", from: "\n## A one-minute tour" },
  { file: "README.md", from: "\n## Two models" },
  { file: "docs/api.md" },
  { file: "docs/mounts.md" },
  { file: "docs/webdav.md" },
  { file: "docs/sdk.md" },
  { file: "docs/cli.md" },
];

/** One page's examples as shell, with the number of sh blocks. */
function examples(page: { file: string; from?: string }): { script: string; blocks: number } {
  let text = read(page.file);
  if (page.from !== undefined) {
    const start = text.indexOf(page.from);
    expect(start, `${page.file} has "${page.from.trim()}"`).toBeGreaterThanOrEqual(0);
    const end = text.indexOf("\n## ", start + page.from.length);
    text = text.slice(start, end < 0 ? undefined : end);
  }
  const parts: string[] = [];
  let blocks = 0;
  for (const m of text.matchAll(/```(sh|js)\n([\s\S]*?)```/g)) {
    const [, lang, code = ""] = m;
    if (lang === "sh") {
      blocks++;
      parts.push(code);
      continue;
    }
    const name = /^\/\/ ([\w.-]+\.mjs)\b/.exec(code)?.[1];
    if (name) parts.push(`cat > ${name} <<'EDGEFS_EXAMPLE_EOF'\n${code}EDGEFS_EXAMPLE_EOF`);
  }
  return { script: parts.join("\n"), blocks };
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

/** The anchors of a Markdown file's headings (outside code fences). */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const h = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (h?.[1]) found.add(slug(h[1].replace(/`/g, "")));
  }
  return found;
}

describe("README and docs examples", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let cwd: string;
  beforeAll(async () => {
    server = await startServer();
    cwd = mkdtempSync(join(tmpdir(), "edgefs-readme-"));
    // `@edgefs/client` as the examples import it: this repository's built SDK
    // (npm install / npm run build); test/e2e/client-package.test.ts installs
    // the packed package itself.
    const pkg = join(cwd, "node_modules", "@edgefs", "client");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({
        name: "@edgefs/client",
        type: "module",
        exports: { ".": "./index.js", "./node": "./node.js" },
      }),
    );
    for (const entry of ["index", "node"]) {
      const target = pathToFileURL(join(repo, "dist", "client", `${entry}.js`)).href;
      writeFileSync(join(pkg, `${entry}.js`), `export * from ${JSON.stringify(target)};\n`);
    }
  });
  afterAll(async () => {
    await server?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it("every sh block of the docs is on a page that runs", () => {
    const run = new Set(PAGES.map((p) => p.file));
    const docs = readdirSync(join(repo, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`);
    const unrun = [...docs, "bench/README.md"].filter(
      (f) => !run.has(f) && read(f).includes("```sh\n"),
    );
    expect(unrun).toEqual([]);
  });

  it("every link between the README and the docs leads to a file and heading that exist", () => {
    const pages = [
      "README.md",
      "bench/README.md",
      ...readdirSync(join(repo, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
    ];
    const broken: string[] = [];
    for (const page of pages) {
      const text = read(page).replace(/```[\s\S]*?```/g, "");
      for (const [, target = ""] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [file = "", anchor] = target.split("#");
        const path = file === "" ? page : join(dirname(page), file);
        let exists = false;
        try {
          exists = statSync(join(repo, path)).isFile();
        } catch {}
        if (!exists) broken.push(`${page}: ${target} (no file ${path})`);
        else if (anchor && !anchors(read(path)).has(anchor)) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("run as pasted, top to bottom, with no server error", async () => {
    const pages = PAGES.map(examples);
    expect(pages.map((p) => p.blocks > 0)).toEqual(PAGES.map(() => true));
    // Every curl call also prints its status on a line of its own; `npx
    // edgefs` is this repository's CLI (never a download from the registry).
    const script = [
      "set -euo pipefail",
      "exec </dev/null",
      // stdout through a pipe, as in a terminal or `| tee`: Node gives a child a
      // socket, and `edgefs nfs get … -` ending its stdout shuts that socket
      // down for every later command (rclone then dies of SIGPIPE).
      "exec > >(cat)",
      `trap 'echo "example failed: $BASH_COMMAND" >&2' ERR`,
      `curl() { command curl -w '\\n@status %{http_code}\\n' "$@"; }`,
      `npx() { if [ "$1" = edgefs ]; then shift; node ${JSON.stringify(join(repo, "bin", "edgefs.mjs"))} "$@"; else echo "npx $1: not an example's command" >&2; return 127; fi; }`,
      ...pages.map((p) => p.script),
    ].join("\n");
    const { stdout } = await run("bash", ["-c", script], {
      cwd,
      env: {
        ...Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !k.startsWith("EDGEFS_")),
        ),
        HOME: cwd,
        XDG_CONFIG_HOME: join(cwd, "config"),
        EDGEFS_URL: server.url,
        EDGEFS_TOKEN: server.token,
      },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 110_000,
    }).catch((e: { stdout?: string; stderr?: string; code?: number }) => {
      // The script is long: say which example failed and what it printed.
      const tail = (text = "") => text.split("\n").slice(-20).join("\n");
      throw new Error(
        `examples exited ${e.code}:\n${tail(e.stdout)}\n--- stderr:\n${tail(e.stderr)}`,
      );
    });
    const statuses = [...stdout.matchAll(/^@status (\d{3})$/gm)].map((m) => Number(m[1]));
    expect(statuses.length).toBeGreaterThan(25);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(stdout).not.toContain("EINTERNAL");
    // The README's tour: curl, the SDK on plain Node, the CLI, an rclone remote.
    expect(stdout).toMatch(/^\{"loss":0\.12\}$/m); // written with curl, read back
    expect(stdout).toMatch(/^\/runs\/42\/metrics\.json \{"loss":0\.12\}$/m); // tour.mjs, Modal's loop
    expect(stdout).toMatch(/^\/runs\/43\/metrics\.json \{"loss":0\.09\}$/m);
    expect(stdout).toMatch(/^done$/m); // edgefs nfs put - / get -
    expect(stdout).toMatch(/^ +\d+ 42\/metrics\.json$/m); // rclone ls over WebDAV
    // The README's two models: a batch commit read back at its version and at a snapshot.
    expect(stdout.match(/^v1 notes$/gm)).toHaveLength(2);
    // docs/api.md, as the README's API section promised before.
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
    expect(stdout).toMatch(/^\{"version":\d+,"count":4\}$/m); // the batch commit
    expect(stdout).toContain('"code":"EPRECONDITION"'); // the commit against a stale version
    expect(stdout).toContain("put target exists: /batch/hello.txt"); // force:false
    expect(stdout).toMatch(/"staged":true,"size":6000000/); // a staged upload's complete
    expect(stdout).toMatch(/^identical$/m); // the staged file, committed by a batch, read back
    expect(stdout).toMatch(/^\{"expiresAt":\d+\}$/m); // the ephemeral share's heartbeat
    // docs/webdav.md
    expect(stdout).toMatch(/^dav: 1, 2\r?$/im); // WebDAV OPTIONS
    expect(stdout).toContain("<D:href>/dav/main/demo/drafts/plan.txt</D:href>"); // PROPFIND Depth 1
    expect(statuses).toContain(423); // a WebDAV writer without the lock token
    expect(stdout).toMatch(/^second draft$/m); // the lock holder's write, moved, read natively
    expect(stdout).toContain("<D:href>/dav/main/demo@before-edit/drafts/final.txt</D:href>"); // a snapshot's PROPFIND
    // --fail-with-body: each example that shows an error says curl failed
    // (api.md: batch ifVersion and force:false, tar force=false and symlink,
    // lease, CI token ×2, error; webdav.md: the writer without the lock).
    expect(stdout.match(/^curl exited 22$/gm)).toHaveLength(9);
    // api.md's tar upload: the tree in one version, then read back.
    expect(stdout).toMatch(/"files":3,"bytes":200034\}/);
    expect(stdout).toMatch(/^h1 \{ color: teal \}$/m);
    expect(stdout).toMatch(/"code":"EEXIST","message":"[^"]*\/site\//);
    expect(stdout).toMatch(/is a symbolic link/);
    // docs/sdk.md and docs/cli.md, run to the end (set -e).
    expect(stdout).toMatch(/^ENOENT /m); // sdk.mjs: stat of a missing file, a NotFoundError
    expect(stdout).toMatch(/^# notes$/m); // edgefs nfs get … - of the uploaded notes
    expect(stdout).toMatch(/^v1\nrefused: EEXIST\npinned at \d+\nv1\nv2$/m); // volume.mjs: pin, reload
    expect(stdout).toMatch(/^current\.txt v1 v2$/m); // volume.mjs: the tree restored
    expect(stdout).toMatch(/^refused: the files exist/m); // edgefs volume put without -f
    expect(stdout).toMatch(/^a,b$/m); // edgefs nfs get --at v1-final of a deleted file
  });
});
