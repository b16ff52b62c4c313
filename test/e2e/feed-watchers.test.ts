// The change feed under load (issue 19, docs/api.md "Change feed"): 8 writers
// make CHANGES changes (files, overwrites, mkdirs, moves, deletes, recursive
// deletes, batch commits of several ops) while watchers of every kind — a
// long-poll puller, an SSE stream, a WebSocket, and a pull filtered by a glob —
// are cut off at random points and resume from what they last saw (`since=`
// the last `next`, `Last-Event-ID`, a new socket from the last frame's `next`).
// In the end each watcher's events are exactly the feed as one clean pull from
// the start reads it: same (version, op, path, to), in order, nothing missing,
// nothing twice; every version a writer got back is in it; and the glob
// watcher saw exactly the events that touch its paths.
// Short in `npm test` (1,000 changes); EDGEFS_STRESS=long: 10,000.
// The random cuts follow a seed (EDGEFS_FEED_SEED to replay one run).
import { beforeAll, describe, expect, it } from "vitest";
import { Edgefs, LONG_STRESS, stressCount, uniqueName } from "./helpers.js";

const server = Edgefs.shared();
const CHANGES = stressCount(1_000, 10_000);
const WRITERS = 8;
const GLOB_WRITER = 3;
const TIMEOUT = LONG_STRESS ? 900_000 : 120_000;
/** How long the watchers may take to catch up once the writers are done. */
const CATCH_UP_MS = LONG_STRESS ? 300_000 : 60_000;
const SEED = Number(process.env.EDGEFS_FEED_SEED ?? Date.now() % 1_000_000);

/** One event as the contract gives it (the fields this test compares). */
interface Change {
  version: number;
  op: string;
  path: string;
  to?: string;
}

interface Page {
  changes: Change[];
  version: number;
  next: string;
  more: boolean;
}

const key = (e: Change) => `${e.version} ${e.op} ${e.path}${e.to ? ` → ${e.to}` : ""}`;

/** mulberry32: the same seed, the same cuts. */
function prng(seed: number) {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Requests in flight (what → since when): a stalled run says which one hangs. */
const inFlight = new Map<string, number>();
async function tracked<T>(what: string, run: () => Promise<T>): Promise<T> {
  const key = `${what} #${inFlight.size}-${Math.random().toString(36).slice(2, 6)}`;
  inFlight.set(key, Date.now());
  try {
    return await run();
  } finally {
    inFlight.delete(key);
  }
}
const stalled = () =>
  [...inFlight.entries()]
    .filter(([, since]) => Date.now() - since > 5_000)
    .map(([what, since]) => `${what} (${Math.round((Date.now() - since) / 1000)} s)`);

/**
 * `run`, but settled by an abort of `signal` whatever `run` does. Node's
 * fetch (undici 6, Node 22) can leave a response's body read pending for
 * good when the request is aborted just as its answer arrives: seen here,
 * the gateway had answered in 12 ms and the client's text() neither
 * resolved nor rejected. A cut must end the attempt, as it would for a
 * client whose connection dropped.
 */
function settleOnAbort<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error("aborted"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    run()
      .then(resolve, reject)
      .finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The feed's end as the writers left it: a watcher is done when it reached `next`. */
interface End {
  next: string | null;
  /** Something failed: every watcher stops. */
  stop: boolean;
}

function versionOf(res: Response, what: string): number {
  const v = Number(res.headers.get("edgefs-version"));
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new Error(`${what}: ${res.status} without an Edgefs-Version`);
  }
  return v;
}

/** One writer: its own directory /w{w}, a mix of every kind of change. */
async function writer(
  share: string,
  w: number,
  random: () => number,
  budget: { left: number },
  versions: number[],
): Promise<void> {
  const dir = `/w${w}`;
  const live: string[] = [];
  const dirs: string[] = [];
  let k = 0;
  const files = (path: string) => server.route(share, "files", path);
  const send = async (what: string, path: string, init: RequestInit, ok: number[]) => {
    const { res, text } = await tracked(`writer ${w}: ${what}`, async () => {
      const r = await server.fetch(path, init);
      return { res: r, text: await r.text() };
    });
    if (!ok.includes(res.status)) throw new Error(`${what}: ${res.status} ${text.slice(0, 200)}`);
    versions.push(versionOf(res, what));
  };
  const pick = () => live.splice(Math.floor(random() * live.length), 1)[0] as string;
  // Bounded: each round spends at least one change of the budget.
  while (budget.left > 0) {
    const r = random();
    k++;
    if (r < 0.35 || live.length < 3) {
      const path = `${dir}/f${k}.txt`;
      budget.left -= 1;
      await send(`put ${path}`, files(path), { method: "PUT", body: `${w}:${k}` }, [201]);
      live.push(path);
    } else if (r < 0.45) {
      const path = live[Math.floor(random() * live.length)] as string;
      budget.left -= 1;
      await send(
        `overwrite ${path}`,
        files(path),
        { method: "PUT", body: `again ${k}` },
        [200, 201],
      );
    } else if (r < 0.55) {
      const path = `${dir}/d${k}`;
      budget.left -= 1;
      await send(`mkdir ${path}`, `${files(path)}/`, { method: "PUT" }, [201]);
      dirs.push(path);
    } else if (r < 0.7) {
      const from = pick();
      // The glob's neighbour sometimes moves a file into the glob's directory.
      const to =
        w === GLOB_WRITER - 1 && r < 0.6
          ? `/w${GLOB_WRITER}/in/m${w}-${k}.txt`
          : `${dir}/m${k}.txt`;
      budget.left -= 1;
      await send(
        `move ${from}`,
        `/v1/shares/${share}/move`,
        { method: "POST", body: JSON.stringify({ from, to }) },
        [200],
      );
      if (to.startsWith(dir)) live.push(to);
    } else if (r < 0.85) {
      const path = pick();
      budget.left -= 1;
      await send(`delete ${path}`, files(path), { method: "DELETE" }, [204]);
    } else if (r < 0.9 && dirs.length > 0) {
      // A directory with a file in it, deleted recursively: one event on its root.
      const path = dirs.splice(Math.floor(random() * dirs.length), 1)[0] as string;
      budget.left -= 2;
      await send(`put in ${path}`, files(`${path}/x.txt`), { method: "PUT", body: "x" }, [201]);
      await send(`rm -r ${path}`, `${files(path)}?recursive=true`, { method: "DELETE" }, [204]);
    } else {
      // A batch: several events under one version.
      const gone = pick();
      const ops = [
        { op: "put", path: `${dir}/b${k}a.txt`, content: btoa(`a${k}`) },
        { op: "mkdir", path: `${dir}/b${k}d` },
        { op: "put", path: `${dir}/b${k}b.txt`, content: btoa(`b${k}`) },
        { op: "delete", path: gone },
      ];
      budget.left -= ops.length;
      await send(
        `commit ${k}`,
        `/v1/shares/${share}/commit`,
        { method: "POST", body: JSON.stringify({ ops }) },
        [200],
      );
      live.push(`${dir}/b${k}a.txt`, `${dir}/b${k}b.txt`);
    }
  }
}

/** Reads the whole feed from `since` in pages, following `next`. */
async function cleanPull(
  share: string,
  since: string,
  filter = "",
): Promise<Page & { all: Change[] }> {
  const all: Change[] = [];
  let cursor = since;
  for (let i = 0; i < 1_000; i++) {
    const { status, body } = await server.json<Page>(
      `/v1/shares/${share}/changes?since=${cursor}&limit=1000${filter}`,
    );
    if (status !== 200) throw new Error(`clean pull: ${status} ${JSON.stringify(body)}`);
    all.push(...body.changes);
    cursor = body.next;
    if (!body.more) return { ...body, all };
  }
  throw new Error("the feed never ended");
}

/** What a watcher did: how often it was cut, where it is (its last cursor). */
interface Progress {
  cuts: number;
  pongs: number;
  at: string;
}

/** Whether the writers are done and the watcher at `next` has everything. */
const reached = (end: End, next: string | null) =>
  end.stop || (end.next !== null && next === end.next);

/**
 * (a) Long-poll pulls with `wait`, of random page sizes, some aborted before
 * their answer arrives (then asked again from the same cursor).
 */
async function puller(
  share: string,
  since: string,
  filter: string,
  random: () => number,
  end: End,
  stats: Progress,
): Promise<Change[]> {
  const seen: Change[] = [];
  let cursor = since;
  for (let i = 0; i < 200_000 && !reached(end, cursor); i++) {
    const limit = 1 + Math.floor(random() * 200);
    const abort = new AbortController();
    const cut = random() < 0.2 ? setTimeout(() => abort.abort(), random() * 100) : null;
    try {
      const { res, text } = await tracked(`pull${filter ? " (glob)" : ""} since ${cursor}`, () =>
        settleOnAbort(abort.signal, async () => {
          const r = await fetch(
            `${server.url}/v1/shares/${share}/changes?since=${cursor}&limit=${limit}&wait=1${filter}`,
            { headers: { authorization: `Bearer ${server.token}` }, signal: abort.signal },
          );
          return { res: r, text: await r.text() };
        }),
      );
      if (res.status !== 200) throw new Error(`pull: ${res.status} ${text.slice(0, 200)}`);
      const page = JSON.parse(text) as Page;
      seen.push(...page.changes);
      cursor = page.next;
      stats.at = cursor;
    } catch (e) {
      if (!abort.signal.aborted) throw e;
      stats.cuts++;
    } finally {
      if (cut) clearTimeout(cut);
    }
  }
  return seen;
}

/**
 * (b) An SSE stream read with fetch, cut at a random moment (often inside a
 * frame: a frame counts only once its blank line arrived), resumed with
 * `Last-Event-ID` set to the last whole event's id.
 */
async function sseWatcher(
  share: string,
  since: string,
  random: () => number,
  end: End,
  stats: Progress,
): Promise<Change[]> {
  const seen: Change[] = [];
  let lastId: string | null = null;
  for (let i = 0; i < 20_000 && !reached(end, lastId ?? since); i++) {
    const abort = new AbortController();
    const headers: Record<string, string> = {
      authorization: `Bearer ${server.token}`,
      accept: "text/event-stream",
    };
    if (lastId !== null) headers["last-event-id"] = lastId;
    const cut = setTimeout(() => abort.abort(), 20 + random() * 300);
    try {
      const res = await tracked(`sse open after ${lastId}`, () =>
        settleOnAbort(abort.signal, () =>
          fetch(`${server.url}/v1/shares/${share}/changes?since=${since}`, {
            headers,
            signal: abort.signal,
          }),
        ),
      );
      if (res.status !== 200) throw new Error(`sse: ${res.status} ${await res.text()}`);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      // Streaming decode: a cut may fall inside a multi-byte character too.
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await settleOnAbort(abort.signal, () => reader.read());
        if (done) throw new Error("the SSE stream ended by itself");
        buffer += decoder.decode(value, { stream: true });
        const frames = buffer.split("\n\n");
        buffer = frames.pop() as string;
        for (const frame of frames) {
          const fields = new Map<string, string>();
          for (const line of frame.split("\n")) {
            const at = line.indexOf(": ");
            if (at > 0) fields.set(line.slice(0, at), line.slice(at + 2));
          }
          if (fields.get("event") === "error") throw new Error(`sse error: ${fields.get("data")}`);
          if (fields.get("event") !== "change") continue;
          seen.push(JSON.parse(fields.get("data") as string) as Change);
          lastId = fields.get("id") as string;
          stats.at = lastId;
        }
        if (reached(end, lastId)) {
          abort.abort();
          break;
        }
        // Sometimes cut right after a whole frame, not only at the timer.
        if (random() < 0.05) abort.abort();
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
      stats.cuts++;
    } finally {
      clearTimeout(cut);
    }
  }
  return seen;
}

/**
 * (c) A WebSocket (Node's global one), closed at a random moment and opened
 * again from the last frame's `next`; it authenticates by header and by the
 * `edgefs.bearer.<token>` subprotocol in turn, and keeps itself alive with "ping".
 */
async function socketWatcher(
  share: string,
  since: string,
  random: () => number,
  end: End,
  stats: Progress,
): Promise<Change[]> {
  const seen: Change[] = [];
  let next = since;
  const base = server.url.replace(/^http/, "ws");
  for (let i = 0; i < 20_000 && !reached(end, next); i++) {
    const url = `${base}/v1/shares/${share}/changes/ws?since=${next}&limit=${1 + Math.floor(random() * 300)}`;
    // Node's WebSocket (undici) takes headers as well as protocols.
    const init =
      i % 2 === 0
        ? { protocols: ["edgefs"], headers: { authorization: `Bearer ${server.token}` } }
        : { protocols: ["edgefs", `edgefs.bearer.${server.token}`] };
    const ws = new WebSocket(url, init as unknown as string[]);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(cut);
        clearInterval(keepAlive);
        if (error) reject(error);
        else resolve();
      };
      const cut = setTimeout(
        () => {
          stats.cuts++;
          // Settled first: closing a socket still connecting fires its error event at once.
          finish();
          ws.close(1000, "cut");
        },
        20 + random() * 300,
      );
      const keepAlive = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send("ping");
      }, 50);
      ws.addEventListener("message", (m) => {
        if (settled) return;
        if (m.data === "pong") {
          stats.pongs++;
          return;
        }
        const frame = JSON.parse(m.data as string) as Page & { error?: unknown };
        if (frame.error) return finish(new Error(`ws error: ${JSON.stringify(frame.error)}`));
        seen.push(...frame.changes);
        next = frame.next;
        stats.at = next;
        if (reached(end, next)) {
          finish();
          ws.close(1000, "done");
        }
      });
      ws.addEventListener("close", (e) => {
        if (e.code !== 1000) finish(new Error(`ws closed ${e.code} ${e.reason}`));
        else finish();
      });
      ws.addEventListener("error", () => finish(new Error("ws failed")));
    });
  }
  return seen;
}

/** The first place where two event lists part, for a readable failure. */
function firstDifference(got: Change[], want: Change[]): string | null {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w || key(g) !== key(w)) {
      return `at ${i} of ${want.length}: got ${g ? key(g) : "nothing"}, want ${w ? key(w) : "nothing"}`;
    }
  }
  return null;
}

describe(`${WRITERS} writers make ${CHANGES} changes while pull, SSE, WebSocket and glob watchers are cut and resume (seed ${SEED})`, () => {
  const share = uniqueName("feed");
  const glob = `/w${GLOB_WRITER}/**`;
  const start = "0";
  let globStart = "0";

  beforeAll(async () => {
    await server.createShare(share);
    // The writers' directories exist before the glob watcher starts, so every
    // event after its start that touches /w3 is inside it.
    const ops = [
      ...Array.from({ length: WRITERS }, (_, w) => ({ op: "mkdir", path: `/w${w}` })),
      { op: "mkdir", path: `/w${GLOB_WRITER}/in` },
    ];
    const res = await server.fetch(`/v1/shares/${share}/commit`, {
      method: "POST",
      body: JSON.stringify({ ops }),
    });
    expect(res.status).toBe(200);
    globStart = String(versionOf(res, "setup"));
  });

  it(
    "each watcher sees exactly the committed sequence; the glob watcher exactly its subset",
    async () => {
      const end: End = { next: null, stop: false };
      const budget = { left: CHANGES };
      const versions: number[] = [];
      const progress = (): Progress => ({ cuts: 0, pongs: 0, at: start });
      const cuts = { pull: progress(), sse: progress(), ws: progress(), glob: progress() };
      const filter = `&path=${encodeURIComponent(glob)}`;
      const watchers = Promise.all([
        puller(share, start, "", prng(SEED + 1), end, cuts.pull),
        sseWatcher(share, start, prng(SEED + 2), end, cuts.sse),
        socketWatcher(share, start, prng(SEED + 3), end, cuts.ws),
        puller(share, globStart, filter, prng(SEED + 4), end, cuts.glob),
      ]);
      // A watcher that fails stops the run at once, not at the test's timeout.
      let failed: unknown = null;
      watchers.catch((e) => {
        failed = e;
        budget.left = 0;
      });
      // Progress is watched: 20 s without a write or a watcher moving stops
      // the run and says what was in flight, instead of a bare timeout.
      let last = "";
      let still = 0;
      let stopRun: (e: Error) => void = () => undefined;
      const stopped = new Promise<never>((_, reject) => {
        stopRun = reject;
      });
      stopped.catch(() => undefined);
      const watchdog = setInterval(() => {
        const now = `${versions.length} ${Object.values(cuts)
          .map((p) => p.at)
          .join(" ")}`;
        still = now === last ? still + 1 : 0;
        last = now;
        if (still < 20 || failed) return;
        failed = new Error(
          `no progress for 20 s: ${versions.length} writes acknowledged, ${budget.left} left; ` +
            `watchers at ${Object.entries(cuts)
              .map(([n, p]) => `${n} ${p.at}`)
              .join(", ")}; ` +
            `stalled: ${stalled().join("; ") || "nothing in flight"}`,
        );
        budget.left = 0;
        end.stop = true;
        stopRun(failed as Error);
      }, 1000);
      try {
        await Promise.race([
          Promise.all(
            Array.from({ length: WRITERS }, (_, w) =>
              writer(share, w, prng(SEED * 31 + w), budget, versions),
            ),
          ),
          stopped,
        ]);
      } catch (e) {
        end.stop = true;
        clearInterval(watchdog);
        throw e;
      }
      if (failed) throw failed;
      const feed = await cleanPull(share, start);
      end.next = feed.next;
      // Bounded: watchers that have not caught up by then are stopped and said where they are.
      const deadline = setTimeout(() => {
        end.stop = true;
      }, CATCH_UP_MS);
      const [pulled, streamed, socketed, globbed] = await Promise.race([watchers, stopped]).finally(
        () => {
          clearTimeout(deadline);
          clearInterval(watchdog);
        },
      );
      if (failed) throw failed;
      const where = Object.entries(cuts).map(([name, p]) => `${name} at ${p.at}`);
      expect(end.stop, `watchers stopped before the end ${end.next}: ${where.join(", ")}`).toBe(
        false,
      );
      const all = feed.all;

      // The feed itself: versions in order, contiguous from the share's creation on.
      const feedVersions = [...new Set(all.map((e) => e.version))];
      expect(feedVersions).toEqual(
        Array.from({ length: feedVersions.length }, (_, i) => (feedVersions[0] as number) + i),
      );
      for (let i = 1; i < all.length; i++) {
        expect((all[i] as Change).version).toBeGreaterThanOrEqual((all[i - 1] as Change).version);
      }
      const inFeed = new Set(feedVersions);
      const missing = versions.filter((v) => !inFeed.has(v));
      expect(missing).toEqual([]);
      expect(all.length).toBeGreaterThanOrEqual(CHANGES);

      for (const [name, got] of [
        ["pull", pulled],
        ["sse", streamed],
        ["ws", socketed],
      ] as const) {
        expect(firstDifference(got, all), name).toBeNull();
      }
      // The glob watcher: exactly the events after its start that touch /w3/.
      const after = all.filter((e) => e.version > Number(globStart));
      const inside = (p?: string) => p?.startsWith(`/w${GLOB_WRITER}/`) ?? false;
      const subset = after.filter((e) => inside(e.path) || inside(e.to));
      expect(subset.some((e) => e.op === "move" && !inside(e.path))).toBe(true);
      expect(firstDifference(globbed, subset), "glob").toBeNull();

      // The cuts happened: every kind of watcher resumed many times.
      expect(cuts.pull.cuts).toBeGreaterThan(0);
      expect(cuts.sse.cuts).toBeGreaterThan(2);
      expect(cuts.ws.cuts).toBeGreaterThan(2);
      console.log(
        `feed-watchers: seed ${SEED}, ${all.length} events in ${feedVersions.length} versions; ` +
          `cuts: pull ${cuts.pull.cuts}, sse ${cuts.sse.cuts}, ws ${cuts.ws.cuts} (${cuts.ws.pongs} pongs), glob ${cuts.glob.cuts}`,
      );
    },
    TIMEOUT,
  );
});
