// The change-feed benchmark's watchers (bench/feed.mjs): SSE streams and
// WebSockets of one share's feed, each calling back per event. Imported by
// the benchmark itself (delay, where one clock times write and delivery) and
// run as a child process by feed-watchers-child.mjs (throughput, so that the
// writers' event loop does not also receive every watcher's events).

/**
 * One watcher of a share's feed from now on: calls `onEvent(path, at)` for
 * each event as it arrives; `ready` resolves once it is connected.
 * @typedef {{ ready: Promise<void>, close: () => void, errors: string[] }} Watcher
 */

/**
 * @param {{ url: string, token: string }} server
 * @param {string} share
 * @param {string} since
 * @param {(path: string, at: number) => void} onEvent
 * @returns {Watcher}
 */
export function sseWatcher(server, share, since, onEvent) {
  const abort = new AbortController();
  /** @type {string[]} */
  const errors = [];
  /** @type {() => void} */
  let connected = () => {};
  const ready = new Promise((ok) => {
    connected = /** @type {() => void} */ (ok);
  });
  (async () => {
    const res = await fetch(`${server.url}/v1/shares/${share}/changes?since=${since}`, {
      headers: { authorization: `Bearer ${server.token}`, accept: "text/event-stream" },
      signal: abort.signal,
    });
    if (res.status !== 200) throw new Error(`SSE: ${res.status} ${await res.text()}`);
    const reader = /** @type {ReadableStream<Uint8Array>} */ (res.body).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      connected(); // its first bytes ("retry: …") came: the stream is open
      const at = performance.now();
      buffer += decoder.decode(value, { stream: true });
      const frames = buffer.split("\n\n");
      buffer = /** @type {string} */ (frames.pop());
      for (const frame of frames) {
        if (!frame.includes("event: change")) continue;
        // Fields in any order (event, data, id): the data line is the event's JSON.
        const data = frame.split("\n").find((line) => line.startsWith("data: "));
        if (data) onEvent(/** @type {{ path: string }} */ (JSON.parse(data.slice(6))).path, at);
      }
    }
  })().catch((e) => {
    if (!abort.signal.aborted) errors.push(`SSE: ${e instanceof Error ? e.message : e}`);
    connected();
  });
  return { ready, close: () => abort.abort(), errors };
}

/**
 * @param {{ url: string, token: string }} server
 * @param {string} share
 * @param {string} since
 * @param {(path: string, at: number) => void} onEvent
 * @returns {Watcher}
 */
export function socketWatcher(server, share, since, onEvent) {
  /** @type {string[]} */
  const errors = [];
  const url = `${server.url.replace(/^http/, "ws")}/v1/shares/${share}/changes/ws?since=${since}&limit=1000`;
  const ws = new WebSocket(url, ["edgefs", `edgefs.bearer.${server.token}`]);
  let closing = false;
  const ready = new Promise((ok) => {
    ws.addEventListener("open", () => ok(undefined));
    ws.addEventListener("error", () => {
      errors.push("WebSocket failed");
      ok(undefined);
    });
  });
  ws.addEventListener("message", (m) => {
    const at = performance.now();
    const frame = /** @type {{ changes?: { path: string }[], error?: unknown }} */ (
      JSON.parse(String(m.data))
    );
    if (frame.error) errors.push(`WebSocket: ${JSON.stringify(frame.error)}`);
    for (const e of frame.changes ?? []) onEvent(e.path, at);
  });
  ws.addEventListener("close", (e) => {
    if (!closing) errors.push(`WebSocket closed ${e.code} ${e.reason}`);
  });
  return {
    ready,
    close: () => {
      closing = true;
      ws.close(1000, "bench done");
    },
    errors,
  };
}

/**
 * What to watch: `count` watchers of `share` after `since`, "both" kinds
 * (half SSE, half WebSocket), or "sse" or "ws" only.
 * @typedef {{ server: { url: string, token: string }, share: string, since: string,
 *   count: number, kind: string, connectTimeoutMs: number }} WatchPlan
 */

/**
 * Opens the plan's watchers in groups of 50 (a thousand upgrades at once
 * would be a benchmark of the proxy) and resolves once all are connected.
 * @param {WatchPlan} plan
 * @param {(path: string, at: number) => void} onEvent
 */
export async function openWatchers(plan, onEvent) {
  const { server, share, since, count, kind } = plan;
  /** @type {Watcher[]} */
  const all = [];
  for (let i = 0; i < count; i += 50) {
    const group = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      group.push(
        (kind === "both" ? j % 2 === 0 : kind === "sse")
          ? sseWatcher(server, share, since, onEvent)
          : socketWatcher(server, share, since, onEvent),
      );
    }
    await Promise.race([
      Promise.all(group.map((w) => w.ready)),
      new Promise((_, fail) =>
        setTimeout(() => fail(new Error("watchers did not connect")), plan.connectTimeoutMs),
      ),
    ]);
    all.push(...group);
  }
  const errors = all.flatMap((w) => w.errors);
  if (errors.length > 0) throw new Error(`${errors.length} watchers failed: ${errors[0]}`);
  return {
    watchers: all,
    errors: () => all.flatMap((w) => w.errors),
    close: () => {
      for (const w of all) w.close();
    },
  };
}
