// "The socket survives the object's eviction" (issue 19): a WebSocket watcher
// is accepted by the share's Durable Object for hibernation, its position in
// the socket's attachment. Evicting the object (cloudflare:test's
// evictDurableObject: workerd's own idle-eviction path, which hibernates the
// sockets rather than closing them) throws away its instance and every
// in-memory field; the next change builds a new instance, which must find the
// socket through getWebSockets() and tell it, on the same connection.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChangePage } from "../../src/core/changes";
import { api, json, newShare, sleep, stub, TOKEN } from "./helpers";

/** Marks the object's current instance; an instance built after an eviction has no mark. */
const MARK = Symbol("instance before eviction");

async function openWatcher(share: string, query: string) {
  const res = await exports.default.fetch(
    new Request(`http://edgefs.test/v1/shares/${share}/changes/ws?${query}`, {
      headers: { upgrade: "websocket", authorization: `Bearer ${TOKEN}` },
    }),
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket as WebSocket;
  const frames: ChangePage[] = [];
  const closes: number[] = [];
  let pongs = 0;
  ws.addEventListener("message", (m) => {
    const text = m.data as string;
    if (text === "pong") pongs++;
    else frames.push(JSON.parse(text) as ChangePage);
  });
  ws.addEventListener("close", (e) => {
    closes.push(e.code);
  });
  ws.accept();
  const paths = () => frames.flatMap((f) => f.changes.map((e) => `${e.op} ${e.path}`));
  /** Waits (bounded: 5 s) until `check` holds. */
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await sleep(10);
  };
  return { ws, frames, closes, paths, until, pongs: () => pongs };
}

describe("a feed WebSocket survives the share object's eviction", () => {
  it("after eviction the next change reaches the same socket, from where it was, nothing twice", async () => {
    const s = await newShare();
    const start = (await json<ChangePage>(await api("GET", `/v1/shares/${s}/changes`))).next;
    await api("PUT", `/v1/shares/${s}/files/before.txt`, { body: "b" });
    const w = await openWatcher(s, `since=${start}`);
    await w.until(() => w.paths().length >= 1);
    expect(w.paths()).toEqual(["put /before.txt"]);

    const share = stub(s);
    await runInDurableObject(share, (instance) => {
      (instance as unknown as Record<symbol, boolean>)[MARK] = true;
    });
    await evictDurableObject(share);
    // The object is a new instance now: the mark went with the old one.
    const marked = await runInDurableObject(
      share,
      (instance) => (instance as unknown as Record<symbol, boolean>)[MARK] === true,
    );
    expect(marked).toBe(false);
    // The socket is still open at both ends, and the new instance holds it.
    const held = await runInDurableObject(share, (_i, state) => state.getWebSockets().length);
    expect(held).toBe(1);
    expect(w.closes).toEqual([]);

    await api("PUT", `/v1/shares/${s}/files/after.txt`, { body: "a" });
    await w.until(() => w.paths().length >= 2);
    expect(w.paths()).toEqual(["put /before.txt", "put /after.txt"]);
    expect(w.closes).toEqual([]);
    w.ws.close(1000, "done");
  });

  it("a socket evicted while idle keeps its filter and is answered without the object", async () => {
    const s = await newShare();
    const w = await openWatcher(s, "path=/want/**");
    const share = stub(s);
    await runInDurableObject(share, (instance) => {
      (instance as unknown as Record<symbol, boolean>)[MARK] = true;
    });
    await evictDurableObject(share);
    // The keep-alive is answered by the runtime (setWebSocketAutoResponse), not by an instance.
    w.ws.send("ping");
    await w.until(() => w.pongs() >= 1);
    expect(w.pongs()).toBe(1);

    await api("PUT", `/v1/shares/${s}/files/other.txt`, { body: "o" });
    await api("PUT", `/v1/shares/${s}/files/want/x.txt`, { body: "x" });
    await w.until(() => w.paths().length >= 1);
    expect(w.paths()).toEqual(["put /want/x.txt"]);
    const marked = await runInDurableObject(
      share,
      (instance) => (instance as unknown as Record<symbol, boolean>)[MARK] === true,
    );
    expect(marked).toBe(false);
    expect(w.closes).toEqual([]);
    w.ws.close(1000, "done");
  });
});
