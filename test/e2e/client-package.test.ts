// The client package (packages/client, @edgefs/client) as a user gets it:
// `npm pack`, then `npm install <tarball>` into a scratch project outside the
// repository (its dependencies from the npm registry), then a plain .mjs SDK
// script under the system `node` and the installed `edgefs` CLI through
// `npx`, against a real server.
import { execFile } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";

const clientDir = resolve(import.meta.dirname, "../../packages/client");
const MB = 1024 * 1024;

let server: Awaited<ReturnType<typeof startServer>>;
let scratch: string;
let project: string;
let tarball: string;
let packed: { files: { path: string }[] };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Run> {
  return new Promise((ok) => {
    execFile(
      command,
      args,
      { cwd, env, encoding: "utf8", timeout: 60_000, maxBuffer: 16 * MB },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        ok({ code, stdout, stderr });
      },
    );
  });
}

/**
 * A user's shell: PATH without any node_modules/.bin (npm scripts put the
 * repository's Node 22 there), so `node` and `npx` are the system's; HOME in
 * the scratch dir, so no login profile of anyone's is read.
 */
function userEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => !dir.includes("node_modules"))
    .join(delimiter);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("EDGEFS_") && !k.startsWith("npm_")) env[k] = v;
  }
  return {
    ...env,
    PATH: path,
    HOME: scratch,
    XDG_CONFIG_HOME: join(scratch, "config"),
    EDGEFS_URL: server.url,
    EDGEFS_TOKEN: server.token,
  };
}

/** Bytes of every file under dir (symlinks not followed), as `du` of an install would count them. */
function treeSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeSize(path);
    else total += lstatSync(path).size;
  }
  return total;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "edgefs-client-pkg-"));
  const [started, pack] = await Promise.all([
    startServer(),
    // The package's prepack builds dist/ from the repository's sources first.
    run("npm", ["pack", "--json", "--pack-destination", scratch], clientDir),
  ]);
  server = started;
  expect(pack.code, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  packed = info;
  tarball = join(scratch, info.filename);

  project = join(scratch, "project");
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "scratch", private: true, type: "module" })}\n`,
  );
  const install = await run(
    "npm",
    ["install", "--no-fund", "--no-audit", "--prefer-offline", tarball],
    project,
  );
  expect(install.code, install.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("@edgefs/client, packed and installed into a fresh project", () => {
  it("holds the SDK and CLI only, and installs in under 5 MB with nothing of the gateway", () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        "bin/edgefs.mjs",
        "dist/client/index.js",
        "dist/client/index.d.ts",
        "dist/client/node.js",
        "dist/cli/main.js",
        "package.json",
        "README.md",
      ]),
    );
    expect(files.filter((f) => !/^(bin|dist)\/|^(package\.json|README\.md)$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^dist\/(worker|config)\//.test(f))).toEqual([]);

    const modules = join(project, "node_modules");
    const installed = readdirSync(modules).filter((n) => !n.startsWith("."));
    for (const gateway of ["miniflare", "workerd", "wrangler", "sharp", "hono", "typescript"]) {
      expect(installed).not.toContain(gateway);
    }
    const bytes = treeSize(modules);
    console.log(
      `@edgefs/client: tarball ${(lstatSync(tarball).size / 1024).toFixed(1)} KiB, ` +
        `installed ${(bytes / MB).toFixed(2)} MB (node_modules: ${installed.join(", ")})`,
    );
    expect(bytes).toBeLessThan(5 * MB);
  });

  it("runs a plain .mjs SDK script on the system node: edgefs and edgefs/node", async () => {
    const env = userEnv();
    const version = await run("node", ["--version"], project, env);
    expect(version.code).toBe(0);
    writeFileSync(join(project, "hello.txt"), "hello from a local file\n");
    writeFileSync(
      join(project, "app.mjs"),
      `import { NetworkFileSystem, NotFoundError } from "@edgefs/client";
import { NetworkFileSystem as NodeFileSystem } from "@edgefs/client/node";

const nfs = NetworkFileSystem.fromName("pkg-share", { createIfMissing: true });
await nfs.writeFile("/runs/42/metrics.json", JSON.stringify({ loss: 0.12 }));
const text = await nfs.readFile("/runs/42/metrics.json").text();
const listed = (await nfs.listdir("/runs/42")).map((e) => e.path);
let missing = "";
try {
  await nfs.readFile("/runs/nope.json").text();
} catch (e) {
  missing = e instanceof NotFoundError ? e.code : String(e);
}
const local = NodeFileSystem.fromName("pkg-share");
const uploaded = await local.addLocalFile("hello.txt", "/docs/");
console.log(JSON.stringify({ node: process.version, text, listed, missing, uploaded }));
`,
    );
    const app = await run("node", ["app.mjs"], project, env);
    expect(app.code, app.stderr).toBe(0);
    const out = JSON.parse(app.stdout) as Record<string, unknown>;
    console.log(`SDK script ran on the system node ${String(out.node)}`);
    expect(out).toEqual({
      node: version.stdout.trim(),
      text: '{"loss":0.12}',
      listed: ["metrics.json"],
      missing: "ENOENT",
      uploaded: 24,
    });
  });

  it("runs the installed edgefs CLI through npx: ls, get to stdout, version; serve says where the gateway is", async () => {
    const env = userEnv();
    const edgefs = (...args: string[]) =>
      run("npx", ["--no", "--", "edgefs", ...args], project, env);

    const ls = await edgefs("nfs", "ls", "pkg-share", "/", "--json");
    expect(ls.code, ls.stderr).toBe(0);
    const entries = JSON.parse(ls.stdout) as { path: string; type: string }[];
    expect(entries.map((e) => [e.path, e.type])).toEqual([
      ["docs", "directory"],
      ["runs", "directory"],
    ]);

    const got = await edgefs("nfs", "get", "pkg-share", "/docs/hello.txt", "-");
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe("hello from a local file\n");

    const version = await edgefs("--version");
    const manifest = JSON.parse(readFileSync(join(clientDir, "package.json"), "utf8")) as {
      version: string;
    };
    expect(version.stdout.trim()).toBe(manifest.version);

    const serve = await edgefs("serve", "--port", "0");
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain("does not include");
    expect(serve.stderr).toContain("npm start");
  });
});
