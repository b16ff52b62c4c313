// Webhooks against a real edgefs (wrangler dev) and a real receiver: a
// Node HTTP server on 127.0.0.1 that fails its first answers. Every change
// must arrive, signed, in order, each batch retried under the same delivery
// id until acknowledged, and nothing lost; writers never wait for it.

import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { NetworkFileSystem } from "../../src/client/node.js";
import type { ChangeEvent, ChangePage } from "../../src/core/changes.js";
import { SIGNATURE_HEADER, verifyHookSignature } from "../../src/core/hook-signature.js";
import { Edgefs, sleep, uniqueName } from "./helpers.js";

const server = Edgefs.shared();
const SECRET = "a-receiver-secret-of-32-chars-!!";

interface Delivery {
  id: string;
  signed: boolean;
  status: number;
  body: { hook: string; changes: ChangeEvent[]; next: string; share: string; env: string };
}

/** A receiver that answers 500 to its first `failures` deliveries, then 204. Bounded: it closes itself. */
async function receiver(
  failures: number,
): Promise<{ url: string; deliveries: Delivery[]; close: () => Promise<void> }> {
  const deliveries: Delivery[] = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((ok) => {
      let text = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => {
        text += c;
      });
      req.on("end", () => ok(text));
    });
  const srv: Server = createServer(async (req, res) => {
    const raw = await read(req);
    const signed = await verifyHookSignature(SECRET, req.headers[SIGNATURE_HEADER] as string, raw);
    const status = deliveries.length < failures ? 500 : 204;
    deliveries.push({
      id: String(req.headers["edgefs-delivery"]),
      signed,
      status,
      body: JSON.parse(raw),
    });
    res.writeHead(status).end();
  });
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  const { port } = srv.address() as AddressInfo;
  const closing = setTimeout(() => srv.close(), 120_000);
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    close: () => {
      clearTimeout(closing);
      return new Promise((ok) => srv.close(() => ok()));
    },
  };
}

const shares: string[] = [];
afterAll(async () => {
  for (const name of shares) await server.deleteShare(name);
});

async function feed(share: string, since: string): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  let cursor = since;
  for (let i = 0; i < 100; i++) {
    const { body } = await server.json<ChangePage>(
      `/v1/shares/${share}/changes?since=${cursor}&limit=1000`,
    );
    out.push(...body.changes);
    cursor = body.next;
    if (!body.more) return out;
  }
  throw new Error("the feed did not end");
}

/** Waits (bounded) until the acknowledged deliveries hold `count` changes. */
async function acknowledged(deliveries: Delivery[], count: number): Promise<ChangeEvent[]> {
  for (let i = 0; i < 300; i++) {
    const seen = new Map<string, ChangeEvent[]>();
    for (const d of deliveries) if (d.status < 300) seen.set(d.id, d.body.changes);
    const changes = [...seen.values()].flat();
    if (changes.length >= count) return changes;
    await sleep(100);
  }
  throw new Error(`only part of ${count} changes were acknowledged`);
}

const label = (e: ChangeEvent) => `${e.version} ${e.op} ${e.path}`;

describe("webhooks", () => {
  it("a receiver failing its first answers gets every change, signed, in order, nothing lost", {
    timeout: 90_000,
  }, async () => {
    const share = uniqueName("hooks");
    shares.push(share);
    await server.createShare(share);
    const rx = await receiver(3);
    try {
      const created = await server.json<{ id: string; delivered: string }>(
        `/v1/shares/${share}/hooks`,
        {
          method: "POST",
          body: JSON.stringify({ url: rx.url, secret: SECRET }),
        },
      );
      expect(created.status).toBe(201);
      const since = created.body.delivered;
      // Writes while the receiver fails still answer at once.
      for (let i = 0; i < 30; i++) {
        const { status } = await server.put(
          share,
          `/f${i}.txt`,
          new TextEncoder().encode(String(i)),
        );
        expect(status).toBe(201);
      }
      const ops = Array.from({ length: 5 }, (_, i) => ({ op: "mkdir", path: `/dir${i}` }));
      const batch = await server.fetch(`/v1/shares/${share}/commit`, {
        method: "POST",
        body: JSON.stringify({ ops }),
      });
      expect(batch.status).toBe(200);
      const expected = await feed(share, since);
      expect(expected.length).toBe(35);
      const got = await acknowledged(rx.deliveries, expected.length);
      expect(got.map(label)).toEqual(expected.map(label));
      // Every delivery was signed with the hook's secret, failed ones retried under the same id.
      expect(rx.deliveries.every((d) => d.signed)).toBe(true);
      const failed = rx.deliveries.filter((d) => d.status >= 300);
      expect(failed.length).toBe(3);
      for (const f of failed)
        expect(rx.deliveries.some((d) => d.status < 300 && d.id === f.id)).toBe(true);
      expect(rx.deliveries[0]?.body).toMatchObject({ share, env: "main" });
      const { body } = await server.json<{ hooks: { failures: number; delivered: string }[] }>(
        `/v1/shares/${share}/hooks`,
      );
      expect(body.hooks[0]?.failures).toBe(0);
    } finally {
      await rx.close();
    }
  });

  it("a hook with a path glob receives only the changes that match it", {
    timeout: 60_000,
  }, async () => {
    const share = uniqueName("hooks");
    shares.push(share);
    await server.createShare(share);
    const rx = await receiver(0);
    try {
      await server.fetch(`/v1/shares/${share}/hooks`, {
        method: "POST",
        body: JSON.stringify({ url: rx.url, secret: SECRET, path: "/in/*.csv" }),
      });
      for (const p of ["/in/a.csv", "/in/b.txt", "/out/c.csv", "/in/d.csv"]) {
        await server.put(share, p, new TextEncoder().encode("x"));
      }
      const got = await acknowledged(rx.deliveries, 2);
      expect(got.map((e) => e.path)).toEqual(["/in/a.csv", "/in/d.csv"]);
    } finally {
      await rx.close();
    }
  });

  it("SDK addHook/listHooks/removeHook and CLI hook add/list/remove manage the same hooks", {
    timeout: 60_000,
  }, async () => {
    const share = uniqueName("hooks");
    shares.push(share);
    await server.createShare(share);
    const nfs = await NetworkFileSystem.fromName(share, { url: server.url, token: server.token });
    const rx = await receiver(0);
    try {
      const hook = await nfs.addHook({ url: rx.url, secret: SECRET, path: "/x/**" });
      expect((await nfs.listHooks()).map((h) => h.id)).toEqual([hook.id]);
      const cli = (...args: string[]) =>
        promisify(execFile)(
          process.execPath,
          [resolve(import.meta.dirname, "../../bin/edgefs.mjs"), ...args],
          {
            env: {
              ...process.env,
              EDGEFS_URL: server.url,
              EDGEFS_TOKEN: server.token,
              HOOK_SECRET: SECRET,
            },
            timeout: 30_000,
          },
        );
      const added = (
        await cli("hook", "add", share, rx.url, "--secret-env", "HOOK_SECRET")
      ).stdout.trim();
      const listed = (await cli("hook", "list", share)).stdout;
      expect(listed).toContain(hook.id);
      expect(listed).toContain(added);
      expect(listed).not.toContain(SECRET);
      await cli("hook", "remove", share, added);
      await nfs.removeHook(hook.id);
      expect(await nfs.listHooks()).toEqual([]);
    } finally {
      await rx.close();
    }
  });
});
