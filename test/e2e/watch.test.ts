// The change feed from the client's side, against a real edgefs (wrangler
// dev): the SDK's watch() sees writes in order and resumes after a cut with
// no gap and no repeat, a glob watch sees only its matches, changes() pages
// through a batch commit, waitFor() resolves on a later write or times out;
// and `edgefs nfs watch` / `nfs wait` as a user runs them.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServer, stopGroup } from "../../scripts/dev-server.mjs";
import {
  AuthenticationError,
  type ChangeEvent,
  type ClientOptions,
  ExpiredError,
  NetworkFileSystem,
  TimeoutError,
  Volume,
} from "../../src/client/node.js";
import { Edgefs, sleep, uniqueName } from "./helpers.js";
import { E2E_VARS } from "./server-vars.js";

const server = Edgefs.shared();
const options: ClientOptions = { url: server.url, token: server.token };
const bin = resolve(import.meta.dirname, "../../bin/edgefs.mjs");
const shares: string[] = [];
const children: ChildProcess[] = [];

async function freshShare(prefix: string): Promise<NetworkFileSystem> {
  const name = uniqueName(prefix);
  await server.createShare(name);
  shares.push(name);
  return NetworkFileSystem.fromName(name, options);
}

afterAll(async () => {
  for (const child of children) await stopGroup(child, { signal: "SIGKILL" });
  for (const name of shares) await server.deleteShare(name);
});

/** The first `n` events of a watch; leaving the loop ends the watch. */
async function take(watch: AsyncIterable<ChangeEvent>, n: number): Promise<ChangeEvent[]> {
  const got: ChangeEvent[] = [];
  for await (const event of watch) {
    got.push(event);
    if (got.length === n) break;
  }
  return got;
}

const label = (e: ChangeEvent) => `${e.op} ${e.path}${e.to ? ` ${e.to}` : ""}`;

describe("SDK watch()", () => {
  it("sees every kind of write, in version order, a batch commit as one version", async () => {
    const nfs = await freshShare("watch-order");
    const since = (await nfs.info()).version;
    const watching = take(nfs.watch(undefined, { since }), 8);
    await nfs.writeFile("/a.txt", "alpha");
    await nfs.mkdir("/d");
    await nfs.writeFile("/d/b.bin", new Uint8Array(1024));
    await nfs.move("/a.txt", "/c.txt");
    await nfs.copy("/c.txt", "/e.txt");
    await nfs.removeFile("/d", { recursive: true });
    await Volume.fromName(nfs.name, options).batchUpload(async (batch) => {
      batch.putFile(new TextEncoder().encode("1"), "/x1");
      batch.putFile(new TextEncoder().encode("2"), "/x2");
    });
    const got = await watching;
    expect(got.map(label)).toEqual([
      "put /a.txt",
      "mkdir /d",
      "put /d/b.bin",
      "move /a.txt /c.txt",
      "copy /c.txt /e.txt",
      "delete /d",
      "put /x1",
      "put /x2",
    ]);
    const versions = got.map((e) => e.version);
    expect(versions.slice(0, 7)).toEqual([...versions.slice(0, 7)].sort((x, y) => x - y));
    expect(new Set(versions.slice(0, 7)).size).toBe(7);
    expect(versions[6]).toBe(versions[7]); // one batch, one version
    expect(got[2]).toMatchObject({ type: "file", size: 1024 });
    expect(got[5]).toMatchObject({ type: "directory", recursive: true });
  });

  it("resumes after a cut mid-wait from its cursor: what was written meanwhile, no gap, no repeat", async () => {
    const nfs = await freshShare("watch-resume");
    const since = (await nfs.info()).version;
    const stop = new AbortController();
    const first = nfs.watch(undefined, { since, signal: stop.signal });
    await nfs.writeFile("/1", "1");
    await nfs.writeFile("/2", "2");
    const seen = [(await first.next()).value, (await first.next()).value] as ChangeEvent[];
    // The next poll waits on the server: cut it there.
    const pending = first.next();
    await sleep(500);
    stop.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    const cursor = first.cursor;
    expect(cursor).toBeDefined();
    await nfs.writeFile("/3", "3");
    await nfs.writeFile("/4", "4");
    const rest = await take(nfs.watch(undefined, { since: cursor }), 2);
    expect([...seen, ...rest].map(label)).toEqual(["put /1", "put /2", "put /3", "put /4"]);
  });

  it("a glob watch sees only the changes it matches", async () => {
    const nfs = await freshShare("watch-glob");
    await nfs.mkdir("/data/sub");
    await nfs.mkdir("/logs");
    const since = (await nfs.info()).version;
    const watching = take(nfs.watch("/data/*.csv", { since }), 3);
    await nfs.writeFile("/data/a.csv", "a");
    await nfs.writeFile("/data/b.txt", "b");
    await nfs.writeFile("/logs/c.csv", "c");
    await nfs.writeFile("/data/sub/d.csv", "d");
    await nfs.writeFile("/logs/f.txt", "f");
    await nfs.move("/logs/f.txt", "/data/f.csv");
    await nfs.writeFile("/data/e.csv", "e");
    expect((await watching).map(label)).toEqual([
      "put /data/a.csv",
      "move /logs/f.txt /data/f.csv",
      "put /data/e.csv",
    ]);
  });

  it("changes() pages through a batch commit one event at a time by `next`", async () => {
    const nfs = await freshShare("watch-pages");
    const since = (await nfs.info()).version;
    await Volume.fromName(nfs.name, options).batchUpload(async (batch) => {
      for (const n of [1, 2, 3]) batch.putFile(new TextEncoder().encode(String(n)), `/p${n}`);
    });
    const paths: string[] = [];
    let cursor: string | number = since;
    for (let page = 0; page < 10; page++) {
      const answer = await nfs.changes({ since: cursor, limit: 1 });
      paths.push(...answer.changes.map((e) => e.path));
      cursor = answer.next;
      if (!answer.more) break;
    }
    expect(paths).toEqual(["/p1", "/p2", "/p3"]);
    expect((await nfs.changes({ since: cursor })).changes).toEqual([]);
  });

  it("a refused token is thrown at once as AuthenticationError", async () => {
    const nfs = await freshShare("watch-auth");
    const stranger = NetworkFileSystem.fromName(nfs.name, { ...options, token: "not-a-token" });
    await expect(take(stranger.watch(), 1)).rejects.toBeInstanceOf(AuthenticationError);
  });
});

describe("SDK watch() past the feed's retention", () => {
  it("throws ExpiredError with the server's advice at once, without retrying", async () => {
    // A server whose feeds keep 5 events: the share's first versions leave it.
    const small = await startServer({ vars: { ...E2E_VARS, EDGEFS_FEED_MAX_EVENTS: "5" } });
    try {
      let requests = 0;
      const counted: typeof fetch = (input, init) => {
        if (String(input).includes("/changes")) requests++;
        return fetch(input, init);
      };
      const nfs = NetworkFileSystem.fromName("expiring", {
        url: small.url,
        token: small.token,
        fetch: counted,
        createIfMissing: true,
      });
      for (let i = 0; i < 20; i++) await nfs.writeFile(`/f${i}`, String(i));
      const e = await take(nfs.watch(undefined, { since: 1 }), 1).catch((error: unknown) => error);
      expect(e).toBeInstanceOf(ExpiredError);
      expect(e).toMatchObject({ code: "EEXPIRED", status: 410 });
      expect((e as Error).message).toMatch(/resync by listing the share/);
      expect(requests).toBe(1);
      // From a version the feed still holds, the watch goes on.
      const { version } = await nfs.info();
      await nfs.writeFile("/later", "x");
      expect((await take(nfs.watch(undefined, { since: version }), 1)).map(label)).toEqual([
        "put /later",
      ]);
    } finally {
      await small.stop();
    }
  });
});

describe("SDK waitFor()", () => {
  it("resolves at once for a path that exists, and on the later write of one that does not", async () => {
    const nfs = await freshShare("waitfor");
    await nfs.writeFile("/here.txt", "x");
    expect(await nfs.waitFor("/here.txt")).toMatchObject({ path: "/here.txt", type: "file" });
    const waiting = nfs.waitFor("/results/done.json", { timeout: 60 });
    await sleep(500);
    await nfs.writeFile("/results/other.json", "{}");
    await nfs.writeFile("/results/done.json", '{"ok":true}');
    expect(await waiting).toMatchObject({ path: "/results/done.json", size: 11 });
  });

  it("rejects with TimeoutError when the path does not appear in time", async () => {
    const nfs = await freshShare("waitfor-timeout");
    const e = await nfs.waitFor("/never", { timeout: 2 }).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e).toMatchObject({ code: "ETIMEDOUT", status: 0 });
  });
});

/** `edgefs ARGS` in its own process group, its stdout read line by line. */
function edgefs(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "", EDGEFS_URL: server.url, EDGEFS_TOKEN: server.token },
  });
  children.push(child);
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  const waiters: (() => void)[] = [];
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((ok) => child.once("exit", (code) => ok(code)));
  /** Resolves once `n` lines are out (bounded: 60 s, then what there is). */
  const linesOut = async (n: number) => {
    const deadline = Date.now() + 60_000;
    while (lines.length < n && Date.now() < deadline && child.exitCode === null) {
      await new Promise<void>((ok) => {
        waiters.push(ok);
        setTimeout(ok, 1000);
      });
    }
    return lines.slice(0, n);
  };
  return { child, lines, linesOut, exited, stderr: () => stderr };
}

describe("edgefs nfs watch / wait", () => {
  it("nfs watch --json prints one JSON event per line for writes made meanwhile, and Ctrl-C exits 0", async () => {
    const nfs = await freshShare("cli-watch");
    const since = (await nfs.info()).version;
    const run = edgefs(["nfs", "watch", nfs.name, "--since", String(since), "--json"]);
    await nfs.writeFile("/a.csv", "a,b\n");
    await nfs.mkdir("/dir");
    await nfs.removeFile("/a.csv");
    const lines = await run.linesOut(3);
    expect(
      lines.map((l) => label(JSON.parse(l) as ChangeEvent)),
      run.stderr(),
    ).toEqual(["put /a.csv", "mkdir /dir", "delete /a.csv"]);
    const { code } = await stopGroup(run.child, { signal: "SIGINT", graceMs: 15_000 });
    expect(code, run.stderr()).toBe(0);
  });

  it("nfs watch GLOB prints aligned lines and --until stops at a path, exit 0", async () => {
    const nfs = await freshShare("cli-watch-until");
    const since = (await nfs.info()).version;
    const run = edgefs([
      "nfs",
      "watch",
      nfs.name,
      "/in/**",
      "--since",
      String(since),
      "--until",
      "/in/last",
    ]);
    await nfs.writeFile("/in/a.bin", new Uint8Array(4096));
    await nfs.writeFile("/out/skip", "x");
    await nfs.writeFile("/in/last", "");
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.lines).toHaveLength(2);
    expect(run.lines[0]).toMatch(/^v\d+ +put {6}\/in\/a\.bin {2}4\.0 KiB$/);
    expect(run.lines[1]).toMatch(/^v\d+ +put {6}\/in\/last {2}0 B$/);
  });

  it("nfs wait prints the entry once the path exists; --timeout exits 1 with ETIMEDOUT", async () => {
    const nfs = await freshShare("cli-wait");
    const run = edgefs(["nfs", "wait", nfs.name, "/flag", "--json", "--timeout", "60"]);
    await sleep(1000);
    await nfs.writeFile("/flag", "up");
    expect(await run.exited, run.stderr()).toBe(0);
    expect(JSON.parse(run.lines.join("\n"))).toMatchObject({ path: "/flag", size: 2 });
    const late = edgefs(["nfs", "wait", nfs.name, "/never", "--timeout", "1"]);
    expect(await late.exited).toBe(1);
    expect(late.stderr()).toMatch(/^edgefs: ETIMEDOUT: .*\/never/);
  });
});
