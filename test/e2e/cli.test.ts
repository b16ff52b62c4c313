import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, createServer as createSocketServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";

/**
 * The `edgefs` CLI as a user runs it: the built bin as a subprocess, against
 * a real server, connection settings from the environment or `edgefs login`.
 */
const bin = resolve(import.meta.dirname, "../../bin/edgefs.mjs");
let server: Awaited<ReturnType<typeof startServer>>;
let work: string;

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function edgefs(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((ok) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd: work,
        encoding: "buffer",
        timeout: 120_000,
        maxBuffer: 256 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: work,
          XDG_CONFIG_HOME: join(work, "config"),
          EDGEFS_URL: server.url,
          EDGEFS_TOKEN: server.token,
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        ok({ code, stdout, stderr: stderr.toString("utf8") });
      },
    );
  });
}

/** edgefs with `input` on its stdin. */
function edgefsFed(args: string[], input: Buffer | string): Promise<Run> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: work,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: work,
        XDG_CONFIG_HOME: join(work, "config"),
        EDGEFS_URL: server.url,
        EDGEFS_TOKEN: server.token,
      },
    });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString("utf8");
    });
    child.on("close", (code) => ok({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(input);
  });
}

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

beforeAll(async () => {
  server = await startServer();
  work = mkdtempSync(join(tmpdir(), "edgefs-cli-"));
}, 120_000);
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("edgefs CLI", () => {
  it("the package's exports resolve as the README imports them: edgefs and edgefs/node", async () => {
    const script = `
      const core = await import("edgefs");
      const node = await import("edgefs/node");
      console.log(typeof core.NetworkFileSystem.fromName, typeof node.NetworkFileSystem.prototype.addLocalDir,
        new core.NotFoundError("x") instanceof core.EdgefsError);`;
    const out = await new Promise<string>((ok, fail) =>
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        { cwd: resolve(import.meta.dirname, "../..") },
        (e, stdout, stderr) => (e ? fail(new Error(stderr)) : ok(stdout)),
      ),
    );
    expect(out.trim()).toBe("function function true");
  });

  it("creates and lists shares", async () => {
    expect((await edgefs(["nfs", "create", "cli-share"])).code).toBe(0);
    const listed = await edgefs(["nfs", "list", "--json"]);
    expect(listed.code).toBe(0);
    const shares = JSON.parse(listed.stdout.toString()) as { name: string }[];
    expect(shares.map((s) => s.name)).toContain("cli-share");
  });

  it("puts a directory tree and gets it back byte-identical with a glob", async () => {
    const tree = join(work, "tree");
    const files: Record<string, Buffer> = {
      "a.txt": Buffer.from("alpha\n"),
      "nested/b.bin": Buffer.alloc(200_000, 7),
      "nested/deeper/c.csv": Buffer.from("x,y\n1,2\n"),
    };
    for (const [name, bytes] of Object.entries(files)) {
      mkdirSync(join(tree, name, ".."), { recursive: true });
      writeFileSync(join(tree, name), bytes);
    }
    const put = await edgefs(["nfs", "put", "cli-share", tree, "/project"]);
    expect(put.code, put.stderr).toBe(0);
    // stdout is not a terminal here: no progress bar in the output.
    expect(put.stdout.toString()).not.toMatch(/\[[█░=-]+\]/);

    const ls = await edgefs(["nfs", "ls", "cli-share", "/project", "--json"]);
    expect((JSON.parse(ls.stdout.toString()) as { path: string }[]).map((e) => e.path)).toEqual([
      "a.txt",
      "nested",
    ]);

    const out = join(work, "dump");
    const got = await edgefs(["nfs", "get", "cli-share", "/project/**", out]);
    expect(got.code, got.stderr).toBe(0);
    for (const [name, bytes] of Object.entries(files)) {
      expect(sha(readFileSync(join(out, name))), name).toBe(sha(bytes));
    }
    // A second get refuses to overwrite without --force.
    const again = await edgefs(["nfs", "get", "cli-share", "/project/a.txt", join(out, "a.txt")]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("--force");
    expect(
      (await edgefs(["nfs", "get", "cli-share", "/project/a.txt", join(out, "a.txt"), "--force"]))
        .code,
    ).toBe(0);
  });

  it("shows a progress bar on a terminal, and none with --quiet", async () => {
    // util-linux `script` gives the CLI a pseudo-terminal as a person's shell would.
    expect((await edgefs(["nfs", "create", "cli-share"])).code).toBe(0);
    const big = join(work, "big.bin");
    writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 1));
    const onTty = (quiet: boolean, put = ["nfs", "put"]) =>
      new Promise<string>((ok, fail) => {
        const command = [
          process.execPath,
          bin,
          ...put,
          "cli-share",
          big,
          "/big.bin",
          ...(quiet ? ["-q"] : []),
        ]
          .map((a) => `'${a}'`)
          .join(" ");
        execFile(
          "script",
          ["-qec", command, "/dev/null"],
          {
            cwd: work,
            timeout: 60_000,
            env: {
              PATH: process.env.PATH ?? "",
              EDGEFS_URL: server.url,
              EDGEFS_TOKEN: server.token,
              TERM: "xterm",
            },
          },
          (error, stdout) => (error ? fail(error) : ok(stdout)),
        );
      });
    expect(await onTty(false)).toMatch(/big\.bin \[.*\] 100% \| 3\.0 MiB\/3\.0 MiB/);
    expect(await onTty(true)).not.toContain("%");
    // volume put: the big file is staged before the one commit, with the same bar.
    const volumePut = ["volume", "put", "-f"];
    expect(await onTty(false, volumePut)).toMatch(/big\.bin \[.*\] 100% \| 3\.0 MiB\/3\.0 MiB/);
    expect(await onTty(true, volumePut)).not.toContain("%");
  });

  it("puts a file into a directory with a trailing slash, and gets it to stdout", async () => {
    const local = join(work, "report.txt");
    writeFileSync(local, "quarterly numbers\n");
    expect((await edgefs(["nfs", "put", "cli-share", local, "/reports/"])).code).toBe(0);
    const got = await edgefs(["nfs", "get", "cli-share", "/reports/report.txt", "-"]);
    expect(got.code).toBe(0);
    expect(got.stdout.toString()).toBe("quarterly numbers\n");
  });

  it("get … - leaves stdout open for the script's next command, also when stdout is a socket", async () => {
    // A script whose stdout is a socket (as when Node or systemd starts it):
    // after `get -`, the next command must still be able to write to it.
    writeFileSync(join(work, "socket.txt"), "quarterly numbers\n");
    expect((await edgefs(["nfs", "create", "cli-socket"])).code).toBe(0);
    expect(
      (await edgefs(["nfs", "put", "cli-socket", join(work, "socket.txt"), "/socket.txt"])).code,
    ).toBe(0);
    const received: Buffer[] = [];
    const sink = createSocketServer((s) => s.on("data", (d: Buffer) => received.push(d)));
    await new Promise<void>((ok) => sink.listen(0, "127.0.0.1", ok));
    const port = (sink.address() as AddressInfo).port;
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((ok) => socket.once("connect", () => ok()));
    const script = `"${process.execPath}" "${bin}" nfs get cli-socket /socket.txt - && echo after`;
    const code = await new Promise<number>((ok) => {
      const child = spawn("sh", ["-c", script], {
        cwd: work,
        stdio: ["ignore", socket, "inherit"],
        env: {
          PATH: process.env.PATH ?? "",
          HOME: work,
          XDG_CONFIG_HOME: join(work, "config"),
          EDGEFS_URL: server.url,
          EDGEFS_TOKEN: server.token,
        },
      });
      child.on("close", (c) => ok(c ?? 1));
    });
    socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    sink.close();
    expect(code).toBe(0);
    expect(Buffer.concat(received).toString()).toBe("quarterly numbers\nafter\n");
  });

  it("removes files and trees; errors are one line with the server's code", async () => {
    const missing = await edgefs(["nfs", "get", "cli-share", "/nope.txt", "-"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("ENOENT");
    const notEmpty = await edgefs(["nfs", "rm", "cli-share", "/project"]);
    expect(notEmpty.code).toBe(1);
    expect(notEmpty.stderr).toContain("ENOTEMPTY");
    expect((await edgefs(["nfs", "rm", "cli-share", "/project", "-r"])).code).toBe(0);
    const ls = await edgefs(["nfs", "ls", "cli-share", "/", "--json"]);
    expect(
      (JSON.parse(ls.stdout.toString()) as { path: string }[]).map((e) => e.path),
    ).not.toContain("project");
  });

  it("shows a share's usage and sets its quota; a write past it fails with ENOSPC", async () => {
    expect((await edgefs(["nfs", "create", "cli-quota"])).code).toBe(0);
    const set = await edgefs(["nfs", "quota", "cli-quota", "--files", "1", "--bytes", "none"]);
    expect(set.code).toBe(0);
    expect(set.stdout.toString()).toMatch(/files\s+0\s+\(quota: 1\)/);
    writeFileSync(join(work, "one.txt"), "one");
    const first = await edgefs(["nfs", "put", "cli-quota", join(work, "one.txt"), "/one.txt"]);
    expect(first.code).toBe(0);
    const second = await edgefs(["nfs", "put", "cli-quota", join(work, "one.txt"), "/two.txt"]);
    expect(second.code).toBe(1);
    expect(second.stderr.toString()).toContain("ENOSPC");
    const info = await edgefs(["nfs", "info", "cli-quota", "--json"]);
    expect(JSON.parse(info.stdout.toString())).toMatchObject({
      usage: { files: 1, bytes: 3 },
      quota: { files: 1 },
    });
    const bad = await edgefs(["nfs", "quota", "cli-quota", "--bytes", "lots"]);
    expect(bad.code).toBe(2);
    expect((await edgefs(["nfs", "quota", "cli-quota"])).code).toBe(2);
  });

  it("user errors: a bad share name or a missing local file is one line and exit 2", async () => {
    const bad = await edgefs(["nfs", "ls", ".hidden"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid share name");
    const missing = await edgefs(["nfs", "put", "cli-share", join(work, "no-such-file")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("login saves a 0600 profile that works without environment variables", async () => {
    const login = await edgefs(["login", "--url", server.url, "--token", server.token]);
    expect(login.code, login.stderr).toBe(0);
    const file = join(work, "config", "edgefs", "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const listed = await edgefs(["nfs", "list", "--json"], { EDGEFS_URL: "", EDGEFS_TOKEN: "" });
    expect(listed.code, listed.stderr).toBe(0);
    // The environment overrides the profile: a wrong token is refused.
    const wrong = await edgefs(["nfs", "list"], { EDGEFS_TOKEN: "wrong" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("EUNAUTHENTICATED");
  });

  it("secret, mount and token groups drive the admin routes", async () => {
    expect((await edgefs(["nfs", "create", "admin-share"])).code).toBe(0);
    const put = await edgefs(
      [
        "secret",
        "put",
        "bucket-creds",
        "AWS_ACCESS_KEY_ID=AKIA1",
        "--from-env",
        "AWS_SECRET_ACCESS_KEY",
      ],
      {
        AWS_SECRET_ACCESS_KEY: "s3cr3t-value",
      },
    );
    expect(put.code, put.stderr).toBe(0);
    const secrets = await edgefs(["secret", "list", "--json"]);
    expect(secrets.stdout.toString()).toContain("bucket-creds");
    expect(secrets.stdout.toString()).not.toContain("s3cr3t-value");

    const mounted = await edgefs([
      "mount",
      "add",
      "admin-share",
      "/data",
      "--bucket",
      "my-bucket",
      "--endpoint",
      "https://s3.example.com",
      "--secret",
      "bucket-creds",
      "--prefix",
      "team/",
      "--read-only",
      "--path-style",
    ]);
    expect(mounted.code, mounted.stderr).toBe(0);
    const mounts = JSON.parse(
      (await edgefs(["mount", "list", "admin-share", "--json"])).stdout.toString(),
    ) as {
      path: string;
      keyPrefix: string;
      readOnly: boolean;
    }[];
    expect(mounts).toMatchObject([{ path: "/data", keyPrefix: "team/", readOnly: true }]);
    const bad = await edgefs(["mount", "add", "admin-share", "/x", "--bucket", "Bad_Name"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("EINVAL");
    expect((await edgefs(["mount", "remove", "admin-share", "/data"])).code).toBe(0);
    expect((await edgefs(["secret", "delete", "bucket-creds"])).code).toBe(0);

    // A read-only token for one share: it lists, it cannot write, and revoked it is refused.
    const created = await edgefs([
      "token",
      "create",
      "-p",
      "read",
      "--share",
      "admin-share",
      "--name",
      "ci",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const readToken = created.stdout.toString().trim();
    expect(readToken.split(".")).toHaveLength(3);
    expect((await edgefs(["nfs", "ls", "admin-share"], { EDGEFS_TOKEN: readToken })).code).toBe(0);
    const denied = await edgefs(["nfs", "rm", "admin-share", "/x"], { EDGEFS_TOKEN: readToken });
    expect(denied.stderr).toContain("EACCES");
    const tokens = JSON.parse((await edgefs(["token", "list", "--json"])).stdout.toString()) as {
      tokenId: string;
      name: string;
    }[];
    const id = tokens.find((t) => t.name === "ci")?.tokenId ?? "";
    expect(JSON.stringify(tokens)).not.toContain(readToken);
    expect((await edgefs(["token", "revoke", id])).code).toBe(0);
    const revoked = await edgefs(["nfs", "ls", "admin-share"], { EDGEFS_TOKEN: readToken });
    expect(revoked.stderr).toContain("EUNAUTHENTICATED");
  });

  it("deletes a share only with --yes when not interactive", async () => {
    const refused = await edgefs(["nfs", "delete", "cli-share"]);
    expect(refused.code).toBe(2);
    expect((await edgefs(["nfs", "delete", "cli-share", "--yes"])).code).toBe(0);
    const listed = await edgefs(["nfs", "list", "--json"]);
    expect(
      (JSON.parse(listed.stdout.toString()) as { name: string }[]).map((s) => s.name),
    ).not.toContain("cli-share");
  });

  it("put SHARE - /path reads stdin; without a remote path it is a usage error", async () => {
    expect((await edgefs(["nfs", "create", "cli-parity"])).code).toBe(0);
    const bytes = Buffer.alloc(300_000, 5);
    const put = await edgefsFed(["nfs", "put", "cli-parity", "-", "/piped/data.bin"], bytes);
    expect(put.code, put.stderr).toBe(0);
    const got = await edgefs(["nfs", "get", "cli-parity", "/piped/data.bin", "-"]);
    expect(sha(got.stdout)).toBe(sha(bytes));
    const nowhere = await edgefsFed(["nfs", "put", "cli-parity", "-"], "x");
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain("stdin");
  });

  it("presign prints a URL that plain fetch reads (GET) or uploads to (PUT)", async () => {
    await edgefsFed(["nfs", "put", "cli-parity", "-", "/shared/a.txt"], "signed bytes\n");
    const get = await edgefs([
      "nfs",
      "presign",
      "cli-parity",
      "/shared/a.txt",
      "--expires-in",
      "60",
    ]);
    expect(get.code, get.stderr).toBe(0);
    expect(await (await fetch(get.stdout.toString().trim())).text()).toBe("signed bytes\n");
    const put = await edgefs(["nfs", "presign", "cli-parity", "/shared/in.txt", "--method", "PUT"]);
    const url = put.stdout.toString().trim();
    expect((await fetch(url, { method: "PUT", body: "dropped" })).ok).toBe(true);
    expect(
      (await edgefs(["nfs", "get", "cli-parity", "/shared/in.txt", "-"])).stdout.toString(),
    ).toBe("dropped");
    const bad = await edgefs(["nfs", "presign", "cli-parity", "/shared/a.txt", "--method", "POST"]);
    expect(bad.code).toBe(2);
  });

  it("lease acquire prints an id that put --lease holds; others get ELOCKED until release", async () => {
    const acquired = await edgefs([
      "lease",
      "acquire",
      "cli-parity",
      "/locked",
      "--ttl",
      "60",
      "--owner",
      "cli",
    ]);
    expect(acquired.code, acquired.stderr).toBe(0);
    const id = acquired.stdout.toString().trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const blocked = await edgefsFed(["nfs", "put", "cli-parity", "-", "/locked/x.txt"], "theirs");
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain("ELOCKED");
    const holder = await edgefsFed(
      ["nfs", "put", "cli-parity", "-", "/locked/x.txt", "--lease", id],
      "ours",
    );
    expect(holder.code, holder.stderr).toBe(0);
    const listed = JSON.parse(
      (await edgefs(["lease", "list", "cli-parity", "--json"])).stdout.toString(),
    );
    expect(listed).toMatchObject([{ leaseId: id, path: "/locked", owner: "cli" }]);
    expect((await edgefs(["lease", "renew", "cli-parity", id, "--ttl", "120"])).code).toBe(0);
    expect((await edgefs(["lease", "release", "cli-parity", id])).code).toBe(0);
    expect((await edgefs(["lease", "list", "cli-parity", "--json"])).stdout.toString().trim()).toBe(
      "[]",
    );
    expect((await edgefsFed(["nfs", "put", "cli-parity", "-", "/locked/x.txt"], "free")).code).toBe(
      0,
    );
  });

  it("secret put --shares stores the secret for those shares", async () => {
    const put = await edgefs([
      "secret",
      "put",
      "cli-shared-creds",
      "AWS_ACCESS_KEY_ID=AKIA2",
      "AWS_SECRET_ACCESS_KEY=v",
      "--shares",
      "cli-parity,other-share",
    ]);
    expect(put.code, put.stderr).toBe(0);
    const secrets = JSON.parse((await edgefs(["secret", "list", "--json"])).stdout.toString()) as {
      name: string;
      shares: string[];
    }[];
    expect(secrets.find((s) => s.name === "cli-shared-creds")?.shares.sort()).toEqual([
      "cli-parity",
      "other-share",
    ]);
    expect((await edgefs(["secret", "delete", "cli-shared-creds"])).code).toBe(0);
  });

  it("says 'not logged in' with the fix when there is no token, before any request", async () => {
    const fresh = { XDG_CONFIG_HOME: join(work, "no-config"), EDGEFS_TOKEN: "" };
    for (const args of [
      ["nfs", "list"],
      ["nfs", "ls", "cli-parity"],
      ["token", "list"],
      ["lease", "list", "x"],
    ]) {
      const run = await edgefs(args, fresh);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr.trim(), args.join(" ")).toBe(
        "edgefs: not logged in: run `edgefs login --url … --token …` or set EDGEFS_TOKEN",
      );
    }
  });

  it("login checks the token with the server first: a refused token or a dead URL saves nothing", async () => {
    const config = join(work, "login-config");
    const env = { XDG_CONFIG_HOME: config, EDGEFS_TOKEN: "", EDGEFS_URL: "" };
    const refused = await edgefs(["login", "--url", server.url, "--token", "nonsense"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("refused the token");
    const dead = await edgefs(
      ["login", "--url", "http://127.0.0.1:9", "--token", server.token],
      env,
    );
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain("cannot reach http://127.0.0.1:9");
    expect(() => statSync(join(config, "edgefs", "config.json"))).toThrow();
    const offline = await edgefs(
      ["login", "--url", "http://127.0.0.1:9", "--token", "t", "--no-verify"],
      env,
    );
    expect(offline.code, offline.stderr).toBe(0);
  });

  it("counts in words: uploaded 1 file, downloaded 1 file", async () => {
    const one = join(work, "one-file");
    mkdirSync(one, { recursive: true });
    writeFileSync(join(one, "only.txt"), "1");
    const put = await edgefs(["nfs", "put", "cli-parity", one, "/one"]);
    expect(put.stderr).toContain("uploaded 1 file,");
    const got = await edgefs(["nfs", "get", "cli-parity", "/one/*.txt", join(work, "one-back")]);
    expect(got.stderr).toContain("downloaded 1 file to");
  });
});

describe("edgefs volume, snapshot, --at", () => {
  const json = <T>(run: Run) => JSON.parse(run.stdout.toString()) as T;
  const paths = (run: Run) => json<{ path: string }[]>(run).map((e) => e.path);
  const versionOf = async (name: string) =>
    json<{ version: number }>(await edgefs(["nfs", "info", name, "--json"])).version;

  it("put a directory is one version (a big file staged); ls, get -, get a glob, rm, cp", async () => {
    const tree = join(work, "vol-tree");
    const files: Record<string, Buffer> = {
      "a.txt": Buffer.from("alpha\n"),
      "nested/big.bin": Buffer.alloc(2 * 1024 * 1024 + 3, 9),
      "nested/c.csv": Buffer.from("x,y\n"),
    };
    for (const [name, bytes] of Object.entries(files)) {
      mkdirSync(join(tree, name, ".."), { recursive: true });
      writeFileSync(join(tree, name), bytes);
    }
    const created = await edgefs(["volume", "create", "cli-vol"]);
    expect(created.code, created.stderr).toBe(0);
    const before = await versionOf("cli-vol");
    const put = await edgefs(["volume", "put", "cli-vol", tree, "/data"]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).toContain(`uploaded 3 files to cli-vol: version ${before + 1}`);
    expect(await versionOf("cli-vol")).toBe(before + 1);

    expect(paths(await edgefs(["volume", "ls", "cli-vol", "/data", "--json"]))).toEqual([
      "a.txt",
      "nested",
    ]);
    const cat = await edgefs(["volume", "get", "cli-vol", "/data/a.txt", "-"]);
    expect(cat.stdout.toString()).toBe("alpha\n");
    const out = join(work, "vol-dump");
    const got = await edgefs(["volume", "get", "cli-vol", "/data/**", out]);
    expect(got.code, got.stderr).toBe(0);
    for (const [name, bytes] of Object.entries(files)) {
      expect(sha(readFileSync(join(out, name))), name).toBe(sha(bytes));
    }

    // Without -f an existing target refuses the whole put; nothing is committed.
    writeFileSync(join(tree, "new.txt"), "new\n");
    const again = await edgefs(["volume", "put", "cli-vol", tree, "/data"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("EEXIST");
    expect(await versionOf("cli-vol")).toBe(before + 1);
    const forced = await edgefs(["volume", "put", "cli-vol", tree, "/data", "-f"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await versionOf("cli-vol")).toBe(before + 2);

    const fed = await edgefsFed(["volume", "put", "cli-vol", "-", "/stdin.txt"], "from stdin\n");
    expect(fed.code, fed.stderr).toBe(0);
    expect((await edgefs(["volume", "get", "cli-vol", "/stdin.txt", "-"])).stdout.toString()).toBe(
      "from stdin\n",
    );

    expect(
      (await edgefs(["volume", "cp", "cli-vol", "/data/a.txt", "/stdin.txt", "/copies/"])).code,
    ).toBe(0);
    expect(paths(await edgefs(["volume", "ls", "cli-vol", "/copies", "--json"])).sort()).toEqual([
      "a.txt",
      "stdin.txt",
    ]);
    expect((await edgefs(["volume", "cp", "cli-vol", "/data", "/data2"])).stderr).toContain(
      "EISDIR",
    );
    expect((await edgefs(["volume", "cp", "cli-vol", "/data", "/data2", "-r"])).code).toBe(0);
    expect(paths(await edgefs(["volume", "ls", "cli-vol", "/data2", "--json"]))).toContain(
      "nested",
    );

    expect((await edgefs(["volume", "rm", "cli-vol", "/data2"])).stderr).toContain("ENOTEMPTY");
    expect((await edgefs(["volume", "rm", "cli-vol", "/data2", "-r"])).code).toBe(0);
    expect(paths(await edgefs(["volume", "ls", "cli-vol", "/", "--json"]))).not.toContain("data2");
    const listed = json<{ name: string }[]>(await edgefs(["volume", "list", "--json"]));
    expect(listed.map((s) => s.name)).toContain("cli-vol");
    expect((await edgefs(["volume", "delete", "cli-vol", "--yes"])).code).toBe(0);
    expect((await edgefs(["volume", "ls", "cli-vol"])).stderr).toContain("ENOENT");
  });

  it("--at VERSION and --at SNAPSHOT on ls and get (volume and nfs); snapshot create, list, rm", async () => {
    expect((await edgefs(["nfs", "create", "cli-at"])).code).toBe(0);
    expect((await edgefsFed(["nfs", "put", "cli-at", "-", "/f.txt"], "old\n")).code).toBe(0);
    const old = await versionOf("cli-at");
    const snap = await edgefs(["snapshot", "create", "cli-at", "before", "--json"]);
    expect(snap.code, snap.stderr).toBe(0);
    expect(json<{ version: number }>(snap).version).toBe(old);
    expect((await edgefsFed(["nfs", "put", "cli-at", "-", "/f.txt"], "new\n")).code).toBe(0);
    expect((await edgefsFed(["nfs", "put", "cli-at", "-", "/g.txt"], "g\n")).code).toBe(0);

    for (const group of ["nfs", "volume"]) {
      for (const at of [String(old), "before"]) {
        const got = await edgefs([group, "get", "cli-at", "/f.txt", "-", "--at", at]);
        expect(got.stdout.toString(), `${group} --at ${at}`).toBe("old\n");
        const ls = await edgefs([group, "ls", "cli-at", "/", "--json", "--at", at]);
        expect(paths(ls), `${group} --at ${at}`).toEqual(["f.txt"]);
      }
      expect((await edgefs([group, "get", "cli-at", "/f.txt", "-"])).stdout.toString()).toBe(
        "new\n",
      );
    }
    const missing = await edgefs(["nfs", "ls", "cli-at", "/", "--at", "no-such-snapshot"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("ENOENT");

    const list = await edgefs(["snapshot", "list", "cli-at"]);
    expect(list.stdout.toString()).toMatch(new RegExp(`^before\\s+version ${old}\\s`, "m"));
    expect((await edgefs(["snapshot", "rm", "cli-at", "before"])).code).toBe(0);
    expect(json<unknown[]>(await edgefs(["snapshot", "list", "cli-at", "--json"]))).toEqual([]);
    await edgefs(["nfs", "delete", "cli-at", "--yes"]);
  });

  it("history lists a path's versions; restore --at brings one back (undelete), --to elsewhere", async () => {
    expect((await edgefs(["volume", "create", "cli-hist"])).code).toBe(0);
    expect((await edgefsFed(["volume", "put", "cli-hist", "-", "/n.txt"], "one\n")).code).toBe(0);
    const first = await versionOf("cli-hist");
    expect((await edgefs(["snapshot", "create", "cli-hist", "first"])).code).toBe(0);
    expect((await edgefs(["volume", "rm", "cli-hist", "/n.txt"])).code).toBe(0);
    const deleted = await versionOf("cli-hist");

    const hist = await edgefs(["history", "cli-hist", "/n.txt", "--json"]);
    expect(hist.code, hist.stderr).toBe(0);
    expect(json<{ version: number; deleted?: boolean }[]>(hist)).toMatchObject([
      { version: deleted, deleted: true },
      { version: first, type: "file", size: 4 },
    ]);
    const table = await edgefs(["history", "cli-hist", "/n.txt"]);
    expect(table.stdout.toString()).toMatch(new RegExp(`^\\s*${deleted}\\s.*deleted`, "m"));

    const back = await edgefs(["restore", "cli-hist", "/n.txt", "--at", String(first)]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toContain(`version ${deleted + 1}`);
    expect((await edgefs(["volume", "get", "cli-hist", "/n.txt", "-"])).stdout.toString()).toBe(
      "one\n",
    );
    const elsewhere = await edgefs([
      "restore",
      "cli-hist",
      "/n.txt",
      "--at",
      "first",
      "--to",
      "/m.txt",
    ]);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect((await edgefs(["volume", "get", "cli-hist", "/m.txt", "-"])).stdout.toString()).toBe(
      "one\n",
    );
    const noAt = await edgefs(["restore", "cli-hist", "/n.txt"]);
    expect(noAt.code).toBe(2);
    expect(noAt.stderr).toContain("--at");
    await edgefs(["volume", "delete", "cli-hist", "--yes"]);
  });
});

/**
 * `edgefs nfs get` with a glob against a hostile server: a fake edgefs on
 * 127.0.0.1 that lists paths meant to escape the destination. Nothing may
 * appear outside it, and nothing of the listing is written at all.
 */
describe("edgefs nfs get against a hostile server", () => {
  let fake: Server;
  let fakeUrl: string;
  let listing: { path: string; type: "file" | "directory" }[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    fake = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://fake");
      requests.push(`${req.method} ${url.pathname}`);
      const m = /^\/v1\/shares\/fake\/(list|stat|files)\/(.*)$/.exec(url.pathname);
      const path = `/${(m?.[2] ?? "").split("/").map(decodeURIComponent).join("/")}`;
      const body = Buffer.from(`bytes of ${path}\n`);
      const entry = { path, type: "file", size: body.length, mtime: 1, etag: '"e"' };
      const send = (status: number, type: string, data: string | Buffer) => {
        res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(data) });
        res.end(data);
      };
      if (m?.[1] === "list") {
        const entries = listing.map((e) => ({ ...e, size: 1, mtime: 1 }));
        return send(200, "application/json", JSON.stringify({ entries }));
      }
      if (m?.[1] === "stat") return send(200, "application/json", JSON.stringify(entry));
      if (m?.[1] === "files") return send(200, "application/octet-stream", body);
      send(404, "application/json", '{"error":{"code":"ENOENT","message":"no such route"}}');
    });
    await new Promise<void>((ok) => fake.listen(0, "127.0.0.1", ok));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((ok) => fake?.close(ok));
  });

  /** Every file and directory under dir, relative to it. */
  function tree(dir: string): string[] {
    return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
  }

  /** A fresh parent dir with the destination three levels down, so `../..` stays inside it. */
  function scratch(): { parent: string; dest: string } {
    const parent = mkdtempSync(join(tmpdir(), "edgefs-hostile-"));
    const dest = join(parent, "one", "two", "dest");
    mkdirSync(dest, { recursive: true });
    return { parent, dest };
  }

  const get = (glob: string, dest: string) =>
    edgefs(["nfs", "get", "fake", glob, dest], { EDGEFS_URL: fakeUrl, EDGEFS_TOKEN: "t" });

  it("downloads what a well-behaved listing names (the fake server works)", async () => {
    const { parent, dest } = scratch();
    try {
      listing = [
        { path: "/base/a.txt", type: "file" },
        { path: "/base/sub", type: "directory" },
        { path: "/base/sub/b.txt", type: "file" },
      ];
      const got = await get("/base/**", dest);
      expect(got.code, got.stderr).toBe(0);
      expect(readFileSync(join(dest, "a.txt"), "utf8")).toBe("bytes of /base/a.txt\n");
      expect(readFileSync(join(dest, "sub", "b.txt"), "utf8")).toBe("bytes of /base/sub/b.txt\n");
      expect(tree(parent)).toEqual(
        ["one", "one/two", "one/two/dest", "one/two/dest/a.txt"]
          .concat(["one/two/dest/sub", "one/two/dest/sub/b.txt"])
          .map((p) => p.split("/").join(sep))
          .sort(),
      );
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  const hostile: [glob: string, path: string][] = [
    ["/**", "/../../x"],
    ["/base/**", "/base/../../made-outside/x"],
    ["/base/**", "/base/a/../../x"],
    ["/base/**", "/base/..\\..\\x"],
    ["/base/**", "/other/x"],
    ["/**", "C:/x"],
    ["/base/**", "/base/sub/../../../made-outside/x"],
    ["/base/*.txt", "/base/.bashrc"],
  ];
  for (const [glob, path] of hostile) {
    it(`refuses ${JSON.stringify(path)} for ${glob}: exit 1, nothing created, nothing fetched`, async () => {
      const { parent, dest } = scratch();
      try {
        const before = tree(parent);
        // A good entry first: the whole page is checked before anything is written.
        listing = [
          { path: glob === "/**" ? "/good.txt" : "/base/good.txt", type: "file" },
          { path, type: "file" },
        ];
        requests.length = 0;
        const got = await get(glob, dest);
        expect(got.code, got.stderr).toBe(1);
        expect(got.stderr).toContain("refusing the server's path");
        expect(got.stderr).toContain(JSON.stringify(path));
        expect(got.stderr.trim().split("\n")).toHaveLength(1);
        expect(tree(parent)).toEqual(before);
        expect(requests.filter((r) => !r.includes("/list/"))).toEqual([]);
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    });
  }
});
