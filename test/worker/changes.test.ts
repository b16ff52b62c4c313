import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { packTar } from "modern-tar";
import { describe, expect, it } from "vitest";
import type { ChangeEvent, ChangePage } from "../../src/core/changes";
import type { FsPath } from "../../src/core/paths";
import { dav } from "./dav-helpers";
import { api, bytesOf, expectError, json, newShare, sleep, stub, TOKEN } from "./helpers";
import { s3 } from "./s3-helpers";

const body = (b: unknown) => ({ body: JSON.stringify(b) });

async function page(share: string, query: string): Promise<ChangePage> {
  const res = await api("GET", `/v1/shares/${share}/changes?${query}`);
  expect(res.status).toBe(200);
  return json<ChangePage>(res);
}

/** Every event after `since`, following `next` until nothing more is there. */
async function all(share: string, since = "0", extra = ""): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  let cursor = since;
  for (let i = 0; i < 1000; i++) {
    const p = await page(share, `since=${cursor}&limit=1000${extra}`);
    out.push(...p.changes);
    cursor = p.next;
    if (!p.more) return out;
  }
  throw new Error("the feed never ended");
}

const versionOf = (res: Response) => Number(res.headers.get("edgefs-version"));

describe("the change feed records every committed change, from every front-end", () => {
  it("native, WebDAV, S3, batch and tar changes appear in version order, one version each, no gap", async () => {
    const s = await newShare();
    const made: number[] = [];
    const change = async (res: Promise<Response>, ok: number[]) => {
      const r = await res;
      expect(ok).toContain(r.status);
      const v = versionOf(r);
      if (v) made.push(v);
      return r;
    };
    await change(api("PUT", `/v1/shares/${s}/files/a.txt`, { body: "a" }), [201]);
    await change(api("PUT", `/v1/shares/${s}/files/big.bin`, { body: bytesOf(100_000) }), [201]);
    await change(api("PUT", `/v1/shares/${s}/files/d/`), [201]);
    await change(
      api("POST", `/v1/shares/${s}/move`, body({ from: "/a.txt", to: "/d/a.txt" })),
      [200],
    );
    await change(
      api("POST", `/v1/shares/${s}/copy`, body({ from: "/d/a.txt", to: "/c.txt" })),
      [201],
    );
    await change(
      api("POST", `/v1/shares/${s}/commit`, {
        body: JSON.stringify({
          ops: [
            { op: "put", path: "/b1.txt", content: btoa("1") },
            { op: "mkdir", path: "/e" },
            { op: "delete", path: "/c.txt" },
          ],
        }),
      }),
      [200],
    );
    const archive = await packTar([
      { header: { name: "t1.txt", size: 2, type: "file" }, body: new TextEncoder().encode("t1") },
    ]);
    const tar = await api("PUT", `/v1/shares/${s}/files/tar/`, {
      body: archive,
      headers: { "content-type": "application/x-tar" },
    });
    expect(tar.status).toBe(200);
    made.push((await json<{ version: number }>(tar)).version);
    await change(dav("PUT", s, "/w.txt", { body: "w" }), [201]);
    await change(dav("DELETE", s, "/w.txt"), [204]);
    const put = await s3("PUT", `/${s}/k/s3.txt`, { body: "s3" });
    expect(put.status).toBe(200);
    await change(api("DELETE", `/v1/shares/${s}/files/d?recursive=true`), [204]);

    const events = await all(s);
    const versions = [...new Set(events.map((e) => e.version))];
    // From the share's creation on, every version is there once, in order.
    expect(versions).toEqual(
      Array.from({ length: versions.length }, (_, i) => (versions[0] as number) + i),
    );
    for (const v of made) expect(versions).toContain(v);
    const summary = events.map((e) => `${e.op} ${e.path}${e.to ? ` ${e.to}` : ""}`);
    expect(summary).toEqual([
      "mkdir /",
      "put /a.txt",
      "put /big.bin",
      "mkdir /d",
      "move /a.txt /d/a.txt",
      "copy /d/a.txt /c.txt",
      "put /b1.txt",
      "mkdir /e",
      "delete /c.txt",
      "mkdir /tar",
      "put /tar/t1.txt",
      "put /w.txt",
      "delete /w.txt",
      "put /k/s3.txt",
      "delete /d",
    ]);
    // A batch is one version; each event says what a watcher needs.
    const batch = events.filter((e) => ["/b1.txt", "/e", "/c.txt"].includes(e.path));
    expect(new Set(batch.map((e) => e.version)).size).toBe(1);
    const big = events.find((e) => e.path === "/big.bin");
    expect(big).toMatchObject({ type: "file", size: 100_000 });
    expect(big?.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(events.at(-1)).toMatchObject({ op: "delete", type: "directory", recursive: true });
  });

  it("a background copy and a restore are events when they link; a seeded directory is one", async () => {
    const s = await newShare();
    await stub(s).seed({ dir: "/many" as FsPath, count: 150, prefix: "f", content: "m" });
    const copy = await api(
      "POST",
      `/v1/shares/${s}/copy`,
      body({ from: "/many", to: "/many2", recursive: true }),
    );
    expect(copy.status).toBe(201);
    await api("POST", `/v1/shares/${s}/snapshots`, body({ name: "k" }));
    await api("DELETE", `/v1/shares/${s}/files/many?recursive=true`);
    const restore = await api(
      "POST",
      `/v1/shares/${s}/restore`,
      body({ path: "/many", snapshot: "k" }),
    );
    expect(restore.status).toBe(200);
    const events = await all(s);
    expect(events.map((e) => `${e.op} ${e.path}${e.to ? ` ${e.to}` : ""}`)).toEqual([
      "mkdir /",
      "put /many",
      "copy /many /many2",
      "delete /many",
      "restore /many",
    ]);
    expect(events[2]).toMatchObject({
      version: versionOf(copy),
      type: "directory",
      recursive: true,
    });
    expect(events[4]?.version).toBe(versionOf(restore));
  });

  it("a deleted and recreated share tells a watcher from before: delete / then mkdir /", async () => {
    const s = await newShare();
    const before = (await page(s, "")).next;
    await api("PUT", `/v1/shares/${s}/files/x`, { body: "x" });
    expect((await api("DELETE", `/v1/shares/${s}`)).status).toBe(204);
    await expectError(await api("GET", `/v1/shares/${s}/changes?since=${before}`), 404, "ENOENT");
    expect((await api("PUT", `/v1/shares/${s}`)).status).toBe(201);
    const events = await all(s, before);
    expect(events.map((e) => `${e.op} ${e.path}`)).toEqual(["put /x", "delete /", "mkdir /"]);
  });
});

describe("pages, cursors and filters", () => {
  it("a page may end inside a batch; its next resumes there, with no gap and no duplicate", async () => {
    const s = await newShare();
    const start = (await page(s, "")).next;
    const ops = Array.from({ length: 7 }, (_, i) => ({ op: "mkdir", path: `/d${i}` }));
    const res = await api("POST", `/v1/shares/${s}/commit`, body({ ops }));
    const v = versionOf(res);
    const first = await page(s, `since=${start}&limit=3`);
    expect(first.changes.map((e) => e.path)).toEqual(["/d0", "/d1", "/d2"]);
    expect(first).toMatchObject({ next: `${v}:2`, more: true, version: v });
    const second = await page(s, `since=${first.next}&limit=3`);
    expect(second.changes.map((e) => e.path)).toEqual(["/d3", "/d4", "/d5"]);
    const third = await page(s, `since=${second.next}&limit=3`);
    expect(third.changes.map((e) => e.path)).toEqual(["/d6"]);
    expect(third).toMatchObject({ next: String(v), more: false });
    // Omitting since is "from now": nothing, and the latest version as next.
    expect(await page(s, "")).toMatchObject({ changes: [], next: String(v) });
  });

  it("a glob sees exactly the matching changes, and directory-wide changes that reach them", async () => {
    const s = await newShare();
    const start = (await page(s, "")).next;
    await api("PUT", `/v1/shares/${s}/files/data/a.csv`, { body: "1" });
    await api("PUT", `/v1/shares/${s}/files/data/a.txt`, { body: "2" });
    await api("PUT", `/v1/shares/${s}/files/other/b.csv`, { body: "3" });
    await api("POST", `/v1/shares/${s}/move`, body({ from: "/other/b.csv", to: "/data/b.csv" }));
    await api("PUT", `/v1/shares/${s}/files/data/deep/c.csv`, { body: "4" });
    await api("DELETE", `/v1/shares/${s}/files/data?recursive=true`);
    const glob = encodeURIComponent("/data/*.csv");
    const seen = await all(s, start, `&path=${glob}`);
    expect(seen.map((e) => `${e.op} ${e.path}`)).toEqual([
      "put /data/a.csv",
      "move /other/b.csv",
      "delete /data",
    ]);
    const under = await all(s, start, `&path=${encodeURIComponent("/data/deep")}`);
    expect(under.map((e) => `${e.op} ${e.path}`)).toEqual(["put /data/deep/c.csv", "delete /data"]);
    // The filtered page's next still moves past everything it read.
    const p = await page(s, `since=${start}&path=${glob}`);
    expect(p.next).toBe(String(p.version));
  });

  it("wait long-polls: an empty page answers at the first matching change", async () => {
    const s = await newShare();
    const start = (await page(s, "")).next;
    const waiting = api("GET", `/v1/shares/${s}/changes?since=${start}&wait=20&path=/want/**`);
    await sleep(50);
    await api("PUT", `/v1/shares/${s}/files/other.txt`, { body: "o" });
    await api("PUT", `/v1/shares/${s}/files/want/x.txt`, { body: "x" });
    const res = await waiting;
    const p = await json<ChangePage>(res);
    expect(p.changes.map((e) => e.path)).toEqual(["/want/x.txt"]);
    // A wait that sees nothing answers empty when it ends, moved past what it skipped.
    const quiet = await page(s, `since=${start}&wait=0.2&path=/none/**`);
    expect(quiet).toMatchObject({ changes: [], next: String(p.version) });
  });

  it("refuses bad input with the contract's errors", async () => {
    const s = await newShare();
    for (const q of [
      "since=abc",
      "since=-1",
      "since=1:x",
      "limit=0",
      "limit=1001",
      "wait=61",
      "wait=x",
      "path=rel",
      "path=/[a",
    ]) {
      await expectError(await api("GET", `/v1/shares/${s}/changes?${q}`), 400, "EINVAL");
    }
    await expectError(await api("GET", `/v1/shares/${s}/changes?since=999999`), 400, "EINVAL");
    await expectError(await api("GET", `/v1/shares/nope-${Date.now()}/changes`), 404, "ENOENT");
    await expectError(
      await api("GET", `/v1/shares/${s}/changes`, { token: "bad" }),
      401,
      "EUNAUTHENTICATED",
    );
    const minted = await json<{ token: string }>(
      await api("POST", "/v1/tokens", body({ shares: ["other"], permissions: ["read"] })),
    );
    await expectError(
      await api("GET", `/v1/shares/${s}/changes`, { token: minted.token }),
      403,
      "EACCES",
    );
  });

  it("events beyond the feed's bound are pruned and asking from before them is 410 EEXPIRED", async () => {
    // vitest.config.ts keeps at most 500 events per share.
    const s = await newShare();
    const ops = Array.from({ length: 400 }, (_, i) => ({ op: "mkdir", path: `/m${i}` }));
    await api("POST", `/v1/shares/${s}/commit`, body({ ops }));
    await api(
      "POST",
      `/v1/shares/${s}/commit`,
      body({ ops: ops.map((o) => ({ ...o, path: `${o.path}x` })) }),
    );
    const gone = await expectError(
      await api("GET", `/v1/shares/${s}/changes?since=0`),
      410,
      "EEXPIRED",
    );
    expect(gone.message).toMatch(/resync/);
    const info = await json<{ usage: { feedEvents: number; feedBytes: number } }>(
      await api("GET", `/v1/shares/${s}`),
    );
    expect(info.usage.feedEvents).toBe(500);
    expect(info.usage.feedBytes).toBeGreaterThan(500 * 50);
    // What is kept still reads in order from the floor on.
    const kept = await all(
      s,
      `${versionOf(await api("PUT", `/v1/shares/${s}/files/z`, { body: "z" })) - 1}`,
    );
    expect(kept.map((e) => e.path)).toEqual(["/z"]);
  });
});

describe("streams", () => {
  it("SSE: one event per change with its cursor as id; Last-Event-ID resumes exactly", async () => {
    const s = await newShare();
    const start = (await page(s, "")).next;
    await api(
      "POST",
      `/v1/shares/${s}/commit`,
      body({
        ops: [
          { op: "mkdir", path: "/a" },
          { op: "mkdir", path: "/b" },
        ],
      }),
    );
    const controller = new AbortController();
    const res = await exports.default.fetch(
      new Request(`http://edgefs.test/v1/shares/${s}/changes?since=${start}`, {
        headers: { authorization: `Bearer ${TOKEN}`, accept: "text/event-stream" },
        signal: controller.signal,
      }),
    );
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    while ((text.match(/event: change/g) ?? []).length < 2) text += (await reader.read()).value;
    await api("PUT", `/v1/shares/${s}/files/c`, { body: "c" });
    while ((text.match(/event: change/g) ?? []).length < 3) text += (await reader.read()).value;
    await reader.cancel();
    controller.abort();
    const frames = text.split("\n\n").filter((f) => f.includes("event: change"));
    const ids = frames.map((f) => /id: (.*)/.exec(f)?.[1]);
    const v = Number(ids[1]);
    expect(ids).toEqual([`${v}:0`, String(v), String(v + 1)]);
    // Resuming after the first event of the batch gives the rest, nothing twice.
    const resumed = await api("GET", `/v1/shares/${s}/changes?since=0`, {
      headers: { "last-event-id": ids[0] as string },
    });
    expect((await json<ChangePage>(resumed)).changes.map((e) => e.path)).toEqual(["/b", "/c"]);
  });

  it("a WebSocket gets the backlog, then each change as it commits, filtered", async () => {
    const s = await newShare();
    await api("PUT", `/v1/shares/${s}/files/old.txt`, { body: "o" });
    const res = await exports.default.fetch(
      new Request(`http://edgefs.test/v1/shares/${s}/changes/ws?since=0&path=/*.txt`, {
        headers: {
          upgrade: "websocket",
          "sec-websocket-protocol": `edgefs, edgefs.bearer.${TOKEN}`,
        },
      }),
    );
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBe("edgefs");
    const ws = res.webSocket as WebSocket;
    const frames: ChangePage[] = [];
    ws.addEventListener("message", (m) => frames.push(JSON.parse(m.data as string) as ChangePage));
    ws.accept();
    const seen = () => frames.flatMap((f) => f.changes.map((e) => e.path));
    for (let i = 0; i < 200 && seen().length < 1; i++) await sleep(10);
    await api("PUT", `/v1/shares/${s}/files/skip.bin`, { body: "s" });
    await api("PUT", `/v1/shares/${s}/files/new.txt`, { body: "n" });
    for (let i = 0; i < 200 && seen().length < 2; i++) await sleep(10);
    expect(seen()).toEqual(["/old.txt", "/new.txt"]);
    ws.close(1000, "done");
  });

  it("a WebSocket without a token, or from before the floor, is refused before it opens", async () => {
    const s = await newShare();
    const open = (query: string, headers: Record<string, string>) =>
      exports.default.fetch(
        new Request(`http://edgefs.test/v1/shares/${s}/changes/ws?${query}`, {
          headers: { upgrade: "websocket", ...headers },
        }),
      );
    await expectError(await open("", {}), 401, "EUNAUTHENTICATED");
    await expectError(
      await open("since=99999999", { authorization: `Bearer ${TOKEN}` }),
      400,
      "EINVAL",
    );
    await expectError(await api("GET", `/v1/shares/${s}/changes/ws`), 400, "EINVAL");
  });

  it("a socket opened with a scoped token closes at the first change after the token expired", async () => {
    const s = await newShare();
    const minted = await json<{ token: string }>(
      await api("POST", "/v1/tokens", body({ shares: [s], permissions: ["read"], expiresIn: 60 })),
    );
    const res = await exports.default.fetch(
      new Request(`http://edgefs.test/v1/shares/${s}/changes/ws`, {
        headers: { upgrade: "websocket", authorization: `Bearer ${minted.token}` },
      }),
    );
    const ws = res.webSocket as WebSocket;
    const closed = new Promise<number>((resolve) =>
      ws.addEventListener("close", (e) => resolve(e.code)),
    );
    const frames: string[] = [];
    ws.addEventListener("message", (m) => frames.push(m.data as string));
    ws.accept();
    // The token's expiry as the socket keeps it, moved into the past (a minute is the shortest token).
    await runInDurableObject(stub(s), (_instance, state) => {
      for (const socket of state.getWebSockets()) {
        socket.serializeAttachment({ ...(socket.deserializeAttachment() as object), until: 1 });
      }
    });
    await api("PUT", `/v1/shares/${s}/files/after.txt`, { body: "a" });
    expect(await closed).toBe(4401);
    expect(frames.map((f) => JSON.parse(f))).toEqual([
      { error: { code: "EUNAUTHENTICATED", message: expect.stringMatching(/expired/) } },
    ]);
  });
});
