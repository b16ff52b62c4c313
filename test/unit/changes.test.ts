// The SDK's change feed (changes, watch, waitFor) against a scripted server
// that follows the feed's HTTP contract (docs/api.md "Change feed"): opaque
// `next` cursors that may stop inside a batch commit's version, a path glob
// that `next` advances over, long polls that wait for the next commit, 410
// past the retention window. Failures are injected per request.
import { describe, expect, it } from "vitest";
import {
  type ChangeEvent,
  changePages,
  reconnectDelay,
  watchChanges,
} from "../../src/client/changes.js";
import {
  AuthenticationError,
  type ChangePage,
  ExpiredError,
  errorFromCode,
  InvalidRequestError,
  NetworkFileSystem,
  NotFoundError,
  PermissionError,
  ServerError,
  TimeoutError,
  Volume,
} from "../../src/client/index.js";
import { compileGlob } from "../../src/core/glob.js";

const BASE = "http://edgefs.test";
const FEED_ROUTE = "/v1/shares/demo/changes";

type Change = Omit<ChangeEvent, "version" | "mtime">;
type Failure = "network" | 503 | 500 | 502 | 410 | 401 | 403 | 400 | 404 | "cut-body";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const errorBody = (status: number, code: string, message: string) =>
  json({ error: { code, message } }, status);

const CODES: Record<number, string> = {
  400: "EINVAL",
  401: "EUNAUTHENTICATED",
  403: "EACCES",
  404: "ENOENT",
  410: "EEXPIRED",
  500: "EINTERNAL",
  502: "EUPSTREAM",
  503: "EINTERNAL",
};

/**
 * A share and its feed, as the server keeps them. Cursors are "@<index>"
 * into the event log, so a page can end between two events of one version.
 */
class FakeShare {
  readonly events: ChangeEvent[] = [];
  readonly files = new Map<string, { type: "file" | "directory"; size: number }>();
  version = 0;
  /** Versions at or below this have left the feed's retention. */
  retainedAfter = 0;
  /** Every request, in order. */
  readonly requests: URL[] = [];
  /** Failures of the next feed requests, one each. */
  readonly failures: Failure[] = [];
  /** Runs once, after the stat route answers (a write racing a check). */
  afterStat: (() => void) | undefined;
  /** Resolves the feed requests that are waiting for a commit. */
  #wake = new Set<() => void>();
  /** How many feed requests are waiting now. */
  waiting = 0;
  /** Resolved when a feed request starts to wait. */
  #onWait: (() => void) | undefined;

  /** One commit: one version, one event per change. */
  commit(...changes: Change[]): number {
    this.version++;
    for (const c of changes) {
      this.events.push({ ...c, version: this.version, mtime: 1_700_000_000_000 + this.version });
      if (c.op === "put" || c.op === "mkdir" || c.op === "copy") {
        const at = c.to ?? c.path;
        this.files.set(at, { type: c.type, size: c.size ?? 0 });
        for (let dir = at.slice(0, at.lastIndexOf("/")); dir !== ""; ) {
          this.files.set(dir, { type: "directory", size: 0 });
          dir = dir.slice(0, dir.lastIndexOf("/"));
        }
      }
      if (c.op === "delete") this.files.delete(c.path);
    }
    for (const wake of this.#wake) wake();
    return this.version;
  }

  put(path: string, size = 1): number {
    return this.commit({ op: "put", path, type: "file", size, etag: `"${path}"` });
  }

  /** Resolves once a feed request is waiting for a commit (a long poll in progress). */
  nextWait(): Promise<void> {
    return new Promise((resolve) => {
      this.#onWait = resolve;
    });
  }

  readonly fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    this.requests.push(url);
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const path = url.pathname;
    if (path === "/v1/shares/demo") return json({ name: "demo", version: this.version });
    if (path.startsWith("/v1/shares/demo/stat/")) {
      const target = `/${decodeURIComponent(path.slice("/v1/shares/demo/stat/".length))}`;
      const found = this.files.get(target);
      const answer = found
        ? json({ path: target, absolutePath: target, type: found.type, size: found.size, mtime: 1 })
        : errorBody(404, "ENOENT", `no such file or directory: ${target}`);
      const race = this.afterStat;
      this.afterStat = undefined;
      race?.();
      return answer;
    }
    if (path === FEED_ROUTE) return this.#feed(url, signal);
    return errorBody(404, "ENOENT", `no route ${path}`);
  }) as typeof fetch;

  async #feed(url: URL, signal: AbortSignal | undefined): Promise<Response> {
    const failure = this.failures.shift();
    if (failure === "network") throw new TypeError("fetch failed");
    if (typeof failure === "number") return errorBody(failure, CODES[failure] ?? "EX", "injected");
    const q = url.searchParams;
    const since = q.get("since");
    const limit = Number(q.get("limit") ?? 100);
    const wait = Number(q.get("wait") ?? 0);
    const filter = q.get("path");
    const glob = filter === null || !/[*?[{]/.test(filter) ? undefined : compileGlob(filter);
    // The server's rule for a plain path: events at or below it, and trees above or below it.
    const within = (p: string, dir: string) => dir === "/" || p === dir || p.startsWith(`${dir}/`);
    const near = (e: ChangeEvent, dir: string) => {
      const places = e.to === undefined ? [e.path] : [e.path, e.to];
      const tree = e.type === "directory" && (e.recursive === true || e.op !== "mkdir");
      return places.some((p) => within(p, dir) || (tree && within(dir, p)));
    };
    let from: number;
    if (since === null) from = this.events.length;
    else if (/^\d+$/.test(since)) {
      if (Number(since) < this.retainedAfter) {
        return errorBody(410, "EEXPIRED", "since is older than the feed keeps: list, then watch");
      }
      from = this.events.findIndex((e) => e.version > Number(since));
      if (from < 0) from = this.events.length;
    } else if (/^@\d+$/.test(since)) from = Number(since.slice(1));
    else return errorBody(400, "EINVAL", `bad since: ${since}`);
    const matches = (e: ChangeEvent) =>
      filter === null ||
      (glob ? glob.matches(e.path) || (e.to !== undefined && glob.matches(e.to)) : near(e, filter));
    for (;;) {
      const changes: ChangeEvent[] = [];
      let at = from;
      while (at < this.events.length && changes.length < limit) {
        const e = this.events[at++] as ChangeEvent;
        if (matches(e)) changes.push(e);
      }
      // Past the limit, the scan stops after the last event it took.
      const more = this.events.slice(at).some(matches);
      if (changes.length > 0 || wait === 0) {
        const page: ChangePage = { changes, version: this.version, next: `@${at}`, more };
        if (failure === "cut-body") {
          const body = new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode(JSON.stringify(page).slice(0, 10)));
              c.error(new TypeError("terminated"));
            },
          });
          return new Response(body, { status: 200 });
        }
        return json(page);
      }
      from = at; // nothing matched: the wait resumes after what was scanned
      await this.#waitForCommit(signal);
    }
  }

  #waitForCommit(signal: AbortSignal | undefined): Promise<void> {
    this.waiting++;
    const waited = this.#onWait;
    this.#onWait = undefined;
    waited?.();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.waiting--;
        this.#wake.delete(done);
        signal?.removeEventListener("abort", aborted);
        resolve();
      };
      const aborted = () => {
        this.waiting--;
        this.#wake.delete(done);
        reject(signal?.reason);
      };
      this.#wake.add(done);
      signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  /** The `since` of every feed request, in order. */
  get sinces(): (string | null)[] {
    return this.requests
      .filter((u) => u.pathname === FEED_ROUTE)
      .map((u) => u.searchParams.get("since"));
  }
}

function setup(retries = 2) {
  const share = new FakeShare();
  const options = { url: BASE, token: "tok", fetch: share.fetch, retries };
  return { share, options, nfs: NetworkFileSystem.fromName("demo", options) };
}

/** Takes `n` events of a watch, then leaves the loop (which ends the watch). */
async function take(watch: AsyncIterable<ChangeEvent>, n: number): Promise<ChangeEvent[]> {
  const got: ChangeEvent[] = [];
  if (n === 0) return got;
  for await (const event of watch) {
    got.push(event);
    if (got.length === n) break;
  }
  return got;
}

const label = (e: ChangeEvent) => `${e.version}:${e.op}:${e.path}${e.to ? `>${e.to}` : ""}`;

async function thrown(p: () => unknown): Promise<unknown> {
  try {
    await p();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

/** A clock that records the delays it is asked for and never waits. */
function recordingClock(random = () => 0.5) {
  const delays: number[] = [];
  return {
    delays,
    clock: {
      pause: async (ms: number) => void delays.push(ms),
      random,
    },
  };
}

describe("changes(): one page", () => {
  it("sends since, path, limit and wait, and answers the page as the server sent it", async () => {
    const { share, nfs } = setup();
    share.put("/data/a.csv", 4096);
    share.put("/logs/x.log");
    const page = await nfs.changes({ since: 0, path: "/data/**", limit: 10, wait: 0 });
    expect(page.changes.map(label)).toEqual(["1:put:/data/a.csv"]);
    expect(page).toMatchObject({ version: 2, next: "@2", more: false });
    const q = share.requests.at(-1)?.searchParams;
    expect(Object.fromEntries(q ?? [])).toEqual({
      env: "main",
      since: "0",
      path: "/data/**",
      limit: "10",
      wait: "0",
    });
    const again = await nfs.changes({ since: page.next });
    expect(again.changes).toEqual([]);
    expect(share.sinces.at(-1)).toBe("@2");
  });

  it("refuses a bad since, limit, wait, path or signal before any request", async () => {
    const { share, nfs } = setup();
    for (const bad of [
      { since: -1 },
      { since: 1.5 },
      { since: "" },
      { limit: 0 },
      { limit: 1001 },
      { wait: 61 },
      { wait: -1 },
      { path: "" },
      { signal: "stop" },
      { sinse: 3 },
    ]) {
      const e = await thrown(() => nfs.changes(bad as never));
      expect(e, JSON.stringify(bad)).toBeInstanceOf(InvalidRequestError);
      expect(e).toMatchObject({ status: 0 });
    }
    expect(() => nfs.watch("/x", { wait: 0 })).toThrow(InvalidRequestError);
    expect(() => nfs.watch("", {})).toThrow(InvalidRequestError);
    expect(() => nfs.watch("/x", { sinse: 3 } as never)).toThrow(/unknown option "sinse"/);
    expect(share.requests).toHaveLength(0);
  });

  it("maps EEXPIRED to ExpiredError with the server's advice", async () => {
    const { share, nfs } = setup();
    share.put("/a");
    share.retainedAfter = 5;
    const e = await thrown(() => nfs.changes({ since: 1 }));
    expect(e).toBeInstanceOf(ExpiredError);
    expect(e).toMatchObject({ code: "EEXPIRED", status: 410 });
    expect((e as Error).message).toContain("list, then watch");
  });
});

describe("watch(): the ordered stream", () => {
  it("yields every event in order across pages that end inside a batch commit's version, resuming from next", async () => {
    const { share } = setup();
    share.put("/a");
    share.commit(
      { op: "mkdir", path: "/b", type: "directory" },
      { op: "put", path: "/b/1", type: "file", size: 1 },
      { op: "put", path: "/b/2", type: "file", size: 2 },
    );
    share.commit({ op: "move", path: "/a", to: "/c", type: "file" });
    share.commit({ op: "delete", path: "/b", type: "directory", recursive: true });
    // limit is the server's: 100 by default; here pages of 2 through a wrapped fetch.
    const small = new NetworkFileSystem("demo", {
      url: BASE,
      token: "tok",
      fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
        const url = new URL(String(input));
        url.searchParams.set("limit", "2");
        return share.fetch(url, init);
      }) as typeof fetch,
    });
    const got = await take(small.watch(undefined, { since: 0 }), 6);
    expect(got.map(label)).toEqual([
      "1:put:/a",
      "2:mkdir:/b",
      "2:put:/b/1",
      "2:put:/b/2",
      "3:move:/a>/c",
      "4:delete:/b",
    ]);
    // Each request resumed from the previous answer's next, not from an event's version.
    expect(share.sinces.slice(0, 3)).toEqual(["0", "@2", "@4"]);
  });

  it("long-polls: waits for the next commit and yields it, with the default wait of 30 s", async () => {
    const { share, nfs } = setup();
    share.put("/old");
    const watch = nfs.watch(); // from now: /old is not seen
    const first = watch.next();
    await share.nextWait();
    share.put("/new");
    expect(label((await first).value as ChangeEvent)).toBe("2:put:/new");
    expect(share.requests.at(-1)?.searchParams.get("wait")).toBe("30");
    expect(share.sinces[0]).toBeNull();
    await watch.return();
  });

  it("sends the glob as path and sees only the changes it matches", async () => {
    const { share, nfs } = setup();
    share.put("/data/a.csv");
    share.put("/logs/1.log");
    share.commit({ op: "move", path: "/tmp/b.csv", to: "/data/b.csv", type: "file" });
    share.put("/data/c.txt");
    share.put("/data/d.csv");
    const got = await take(nfs.watch("/data/*.csv", { since: 0 }), 3);
    expect(got.map(label)).toEqual([
      "1:put:/data/a.csv",
      "3:move:/tmp/b.csv>/data/b.csv",
      "5:put:/data/d.csv",
    ]);
    expect(share.requests.every((u) => u.searchParams.get("path") === "/data/*.csv")).toBe(true);
  });

  it("reconnects after network errors, a cut-off body and 5xx answers from the same cursor: no gap, no repeat", async () => {
    const { share, options } = setup();
    const nfs = NetworkFileSystem.fromName("demo", options);
    share.put("/1");
    share.put("/2");
    const watch = nfs.watch(undefined, { since: 0 });
    const got: string[] = [];
    const step = await watch.next();
    got.push(label(step.value as ChangeEvent));
    got.push(label((await watch.next()).value as ChangeEvent));
    share.failures.push("network", "cut-body", 502);
    share.put("/3");
    got.push(label((await watch.next()).value as ChangeEvent));
    await watch.return();
    expect(got).toEqual(["1:put:/1", "2:put:/2", "3:put:/3"]);
    // One request per failure (the watch, not the transport, retries), all from the same next.
    expect(share.sinces).toEqual(["0", "@2", "@2", "@2", "@2"]);
  });

  it("throws ExpiredError, auth errors and other 4xx at once, without retrying", async () => {
    for (const [failure, Class] of [
      [410, ExpiredError],
      [401, AuthenticationError],
      [403, PermissionError],
      [400, InvalidRequestError],
      [404, NotFoundError],
    ] as const) {
      const { share, nfs } = setup();
      share.failures.push(failure);
      const e = await thrown(() => take(nfs.watch(undefined, { since: 0 }), 1));
      expect(e, String(failure)).toBeInstanceOf(Class);
      expect(share.requests, String(failure)).toHaveLength(1);
    }
  });

  it("an abort ends a waiting watch: the loop finishes without an error, and nothing more is sent", async () => {
    const { share, nfs } = setup();
    const stop = new AbortController();
    const seen: ChangeEvent[] = [];
    const loop = (async () => {
      for await (const e of nfs.watch(undefined, { signal: stop.signal })) seen.push(e);
    })();
    await share.nextWait();
    stop.abort();
    await loop;
    expect(seen).toEqual([]);
    expect(share.waiting).toBe(0);
    const sent = share.requests.length;
    share.put("/after");
    await new Promise((r) => setTimeout(r, 10));
    expect(share.requests).toHaveLength(sent);
  });

  it("an abort during a reconnect's backoff ends the watch too", async () => {
    const { share, nfs } = setup();
    const stop = new AbortController();
    share.failures.push("network");
    const watch = nfs.watch(undefined, { since: 0, signal: stop.signal });
    const done = watch.next();
    setTimeout(() => stop.abort(), 1);
    expect(await done).toEqual({ done: true, value: undefined });
    expect(share.requests).toHaveLength(1);
  });

  it("breaking out of for await sends nothing more", async () => {
    const { share, nfs } = setup();
    share.put("/a");
    share.put("/b");
    const got = await take(nfs.watch(undefined, { since: 0 }), 1);
    expect(got.map(label)).toEqual(["1:put:/a"]);
    expect(share.requests).toHaveLength(1);
  });

  it("cursor resumes exactly after a page or a whole version, and before a version broken off inside", async () => {
    const { share, nfs } = setup();
    share.put("/a");
    share.commit(
      { op: "put", path: "/b/1", type: "file" },
      { op: "put", path: "/b/2", type: "file" },
    );
    share.put("/c");
    const watch = nfs.watch(undefined, { since: 0 });
    expect(watch.cursor).toBe("0");
    await watch.next(); // 1:/a, the end of version 1
    expect(watch.cursor).toBe("1");
    await watch.next(); // 2:/b/1, inside version 2
    expect(watch.cursor).toBe("1");
    await watch.return();
    // A new watch from there sees version 2 again, whole: nothing is missed.
    const resumed = await take(nfs.watch(undefined, { since: watch.cursor }), 3);
    expect(resumed.map(label)).toEqual(["2:put:/b/1", "2:put:/b/2", "3:put:/c"]);
    // After the last event of a page the cursor is the page's next.
    const whole = nfs.watch(undefined, { since: 0 });
    expect((await take(whole, 4)).length).toBe(4);
    expect(whole.cursor).toBe("@4");
    share.put("/d");
    const rest = await take(nfs.watch(undefined, { since: whole.cursor }), 1);
    expect(rest.map(label)).toEqual(["4:put:/d"]);
  });

  it("Volume watches and pages the same feed", async () => {
    const share = new FakeShare();
    const vol = Volume.fromName("demo", { url: BASE, token: "tok", fetch: share.fetch });
    share.put("/v");
    expect((await vol.changes({ since: 0 })).changes.map(label)).toEqual(["1:put:/v"]);
    expect((await take(vol.watch("/v", { since: 0 }), 1)).map(label)).toEqual(["1:put:/v"]);
  });
});

describe("the reconnect loop", () => {
  const page = (n: number): ChangePage => ({
    changes: [{ version: n, op: "put", path: `/${n}`, type: "file", mtime: n }],
    version: n,
    next: `@${n}`,
    more: false,
  });

  it("backs off exponentially with jitter, bounded at 30 s, and starts over after an answer", async () => {
    const { delays, clock } = recordingClock(() => 1);
    let calls = 0;
    const sinces: (string | undefined)[] = [];
    const source = async (since: string | undefined) => {
      sinces.push(since);
      calls++;
      if (calls <= 10 || (calls > 11 && calls <= 13))
        throw new ServerError("down", { status: 503 });
      return page(calls);
    };
    const pages = changePages(source, "7", undefined, clock);
    expect((await pages.next()).value).toMatchObject({ next: "@11" });
    expect((await pages.next()).value).toMatchObject({ next: "@14" });
    await pages.return();
    // 250 ms doubling, capped at 30 s; then, after the answer, from 250 ms again.
    expect(delays).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 250, 500,
    ]);
    expect(sinces).toEqual([...Array(11).fill("7"), ...Array(3).fill("@11")]);
  });

  it("jitter scales each delay to between half and all of its ceiling", () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(30_000, 250 * 2 ** (attempt - 1));
      expect(reconnectDelay(attempt, () => 0)).toBe(ceiling / 2);
      expect(reconnectDelay(attempt, () => 0.999_999)).toBeLessThanOrEqual(ceiling);
      const d = reconnectDelay(attempt);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });

  it("retries 500, 503 and a 502 from upstream; not 501 or 507, which say something lasting", async () => {
    for (const [code, status, retried] of [
      ["EINTERNAL", 500, true],
      ["HTTP_503", 503, true],
      ["EUPSTREAM", 502, true],
      ["ENOTSUP", 501, false],
      ["HTTP_501", 501, false],
      ["ENOSPC", 507, false],
    ] as const) {
      const { delays, clock } = recordingClock();
      let calls = 0;
      const source = async () => {
        if (calls++ === 0) throw errorFromCode(code, "injected", status);
        return page(1);
      };
      const watch = watchChanges(source, undefined, undefined, clock);
      if (retried) {
        expect((await watch.next()).value, code).toMatchObject({ path: "/1" });
        expect(delays, code).toHaveLength(1);
      } else {
        expect(await thrown(() => watch.next()), code).toMatchObject({ code, status });
        expect(delays, code).toEqual([]);
      }
    }
  });
});

describe("waitFor()", () => {
  it("answers at once when the path exists, without watching", async () => {
    const { share, nfs } = setup();
    share.put("/ready/flag", 3);
    const entry = await nfs.waitFor("/ready/flag");
    expect(entry).toMatchObject({ path: "/ready/flag", type: "file", size: 3 });
    expect(share.sinces).toEqual([]);
  });

  it("resolves on a later write of the path, and ignores other changes meanwhile", async () => {
    const { share, nfs } = setup();
    share.put("/other");
    const waiting = nfs.waitFor("results/out.json");
    await share.nextWait();
    share.put("/unrelated");
    await share.nextWait();
    share.put("/results/out.json", 42);
    expect(await waiting).toMatchObject({ path: "/results/out.json", size: 42 });
    // It watched from the version it saw before checking, the path's neighbourhood only.
    expect(share.sinces[0]).toBe("1");
    expect(share.requests.at(-2)?.searchParams.get("path")).toBe("/results/out.json");
  });

  it("a write between the check and the first poll is not missed", async () => {
    const { share, nfs } = setup();
    share.afterStat = () => share.put("/raced");
    expect(await nfs.waitFor("/raced")).toMatchObject({ path: "/raced" });
    expect(share.sinces).toEqual(["0"]);
  });

  it("a directory appears when a file is written below it", async () => {
    const { share, nfs } = setup();
    const waiting = nfs.waitFor("/out/");
    await share.nextWait();
    share.put("/out/part-0");
    expect(await waiting).toMatchObject({ path: "/out", type: "directory" });
  });

  it("keeps waiting when the path appears and goes again within one page", async () => {
    const { share, nfs } = setup();
    const waiting = nfs.waitFor("/flicker");
    await share.nextWait();
    share.commit(
      { op: "put", path: "/flicker", type: "file" },
      { op: "delete", path: "/flicker", type: "file" },
    );
    await share.nextWait();
    share.put("/flicker", 9);
    expect(await waiting).toMatchObject({ size: 9 });
  });

  it("rejects with TimeoutError (ETIMEDOUT, status 0) when the path does not appear in time", async () => {
    const { share, nfs } = setup();
    const e = await thrown(() => nfs.waitFor("/never", { timeout: 0.05 }));
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e).toMatchObject({ code: "ETIMEDOUT", status: 0, path: "/never" });
    expect((e as Error).message).toContain("/never");
    expect(share.waiting).toBe(0); // the long poll was cancelled with it
  });

  it("rejects with the signal's reason when aborted, and refuses bad options before any request", async () => {
    const { share, nfs } = setup();
    const stop = new AbortController();
    const waiting = thrown(() => nfs.waitFor("/never", { signal: stop.signal }));
    await share.nextWait();
    stop.abort(new Error("shutting down"));
    expect(((await waiting) as Error).message).toBe("shutting down");
    const sent = share.requests.length;
    for (const bad of [{ timeout: -1 }, { timeout: "5" }, { signal: {} }, { nope: 1 }]) {
      expect(await thrown(() => nfs.waitFor("/x", bad as never))).toBeInstanceOf(
        InvalidRequestError,
      );
    }
    expect(await thrown(() => nfs.waitFor("/a/../b"))).toBeInstanceOf(InvalidRequestError);
    expect(share.requests).toHaveLength(sent);
  });

  it("rides out a network error while waiting", async () => {
    const { share, nfs } = setup();
    share.failures.push("network");
    const waiting = nfs.waitFor("/late");
    await share.nextWait();
    share.put("/late");
    expect(await waiting).toMatchObject({ path: "/late" });
    expect(share.sinces).toEqual(["0", "0"]);
  });
});
