import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, bytesOf, json, newShare, put, r2Count, shareId, sleep, stub } from "./helpers";

interface Info {
  name: string;
  id: string;
  expiresAt?: number;
}

const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName("main"));

async function ephemeral(ttlSeconds: number): Promise<Info> {
  const res = await api("POST", "/v1/shares", {
    body: JSON.stringify({ ephemeral: true, ttlSeconds }),
  });
  expect(res.status).toBe(201);
  return json<Info>(res);
}

/** The expiry the registry holds for the share, read from its row. */
function registryExpiry(name: string): Promise<number | undefined> {
  return runInDurableObject(registry(), (_i, state) => {
    const row = state.storage.sql
      .exec<{ info: string }>("SELECT info FROM shares WHERE name = ?", name)
      .toArray()[0];
    return row ? (JSON.parse(row.info) as Info).expiresAt : undefined;
  });
}

async function listed(name: string): Promise<Info | undefined> {
  const page = await json<{ shares: Info[] }>(await api("GET", "/v1/shares"));
  return page.shares.find((s) => s.name === name);
}

/** Breaks (or repairs) a table the alarm's housekeeping reads. */
function renameTable(share: string, from: string, to: string) {
  return runInDurableObject(stub(share), (_i, state) => {
    state.storage.sql.exec(`ALTER TABLE ${from} RENAME TO ${to}`);
  });
}

function alarmAt(share: string) {
  return runInDurableObject(stub(share), (_i, state) => state.storage.getAlarm());
}

function dueNow(share: string) {
  return runInDurableObject(stub(share), (_i, state) => state.storage.setAlarm(Date.now()));
}

describe("the alarm never stalls", () => {
  it("a failing GC run re-arms itself with a growing backoff and frees the blob once repaired", async () => {
    const s = await newShare();
    const id = await shareId(s);
    expect((await put(s, "/f", bytesOf(70_000, 1))).status).toBe(201);
    expect((await put(s, "/f", bytesOf(70_000, 2))).status).toBe(200);
    expect(await r2Count(`blobs/${id}/`)).toBe(2);
    // Broken before the old blob falls due, so no alarm can free it first.
    await renameTable(s, "gc", "gc_broken");
    await sleep(1100); // past the test grace period: the old blob is due
    await dueNow(s);
    // Before: the alarm threw, and Cloudflare gives up on it after a few retries.
    expect(await runDurableObjectAlarm(stub(s))).toBe(true);
    const first = await alarmAt(s);
    expect(first).toBeGreaterThan(Date.now() + 5_000);
    await dueNow(s);
    expect(await runDurableObjectAlarm(stub(s))).toBe(true);
    const second = await alarmAt(s);
    expect(second).toBeGreaterThan(Date.now() + 15_000);
    expect(await r2Count(`blobs/${id}/`)).toBe(2);

    await renameTable(s, "gc_broken", "gc");
    await dueNow(s);
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub(s))); i++);
    expect(await r2Count(`blobs/${id}/`)).toBe(1);
    expect(await stub(s).usage()).toMatchObject({ gc: 0, blobs: 1 });
    // The backoff is over: the next failure starts again at the first delay.
    const retry = await runInDurableObject(stub(s), (_i, state) =>
      state.storage.get("alarm-retry"),
    );
    expect(retry).toBeUndefined();
    expect((await api("GET", `/v1/shares/${s}/files/f`)).status).toBe(200);
  });

  it("a failing expiry is retried and reclaims the share once repaired", async () => {
    const e = await ephemeral(60);
    expect((await put(e.name, "/small", "s")).status).toBe(201);
    expect((await put(e.name, "/big", bytesOf(100_000, 3))).status).toBe(201);
    const past = Date.now() - 1;
    await runInDurableObject(stub(e.name), (_i, state) => {
      state.storage.sql.exec("UPDATE share SET expires_at = ?", past);
    });
    await renameTable(e.name, "leases", "leases_broken");
    await dueNow(e.name);
    expect(await runDurableObjectAlarm(stub(e.name))).toBe(true);
    expect(await alarmAt(e.name)).toBeGreaterThan(Date.now() + 5_000);
    expect((await stub(e.name).usage()).entries).toBeGreaterThan(0);

    await renameTable(e.name, "leases_broken", "leases");
    await dueNow(e.name);
    for (let i = 0; i < 10 && (await runDurableObjectAlarm(stub(e.name))); i++);
    expect(await stub(e.name).usage()).toEqual({
      entries: 0,
      blobs: 0,
      pending: 0,
      gc: 0,
      doomed: 0,
      retired: 0,
      copies: 0,
    });
    expect(await r2Count(`blobs/${e.id}/`)).toBe(0);
    expect(await listed(e.name)).toBeUndefined();
    expect(await registryExpiry(e.name)).toBeUndefined();
  });
});

describe("the registry is off the heartbeat path", () => {
  it("many heartbeats write the registry at most once, and the share stays listed", async () => {
    const e = await ephemeral(60);
    const seen = new Set<number | undefined>([await registryExpiry(e.name)]);
    for (let i = 0; i < 20; i++) {
      const beat = await api("POST", `/v1/shares/${e.name}/heartbeat`);
      expect(beat.status).toBe(200);
      const { expiresAt } = await json<{ expiresAt: number }>(beat);
      seen.add(await registryExpiry(e.name));
      // The list never claims an earlier end than the real one.
      expect((await listed(e.name))?.expiresAt).toBeGreaterThanOrEqual(expiresAt);
    }
    // The creation's entry plus at most one announcement (before: one per heartbeat).
    expect(seen.size).toBeLessThanOrEqual(2);
    const exact = await json<Info>(await api("GET", `/v1/shares/${e.name}`));
    expect((await listed(e.name))?.expiresAt).toBeLessThanOrEqual(
      (exact.expiresAt as number) + 30_000,
    );
  });

  it("announces again once the registry's copy would lapse, and never hides a live share", async () => {
    const e = await ephemeral(60);
    await api("POST", `/v1/shares/${e.name}/heartbeat`);
    // As if 50 s passed since: the registry's copy and the share's record of it age alike.
    const held = (await registryExpiry(e.name)) as number;
    const aged = held - 50_000;
    await runInDurableObject(stub(e.name), (_i, state) => {
      state.storage.sql.exec("UPDATE share SET listed_until = ?", aged);
    });
    await runInDurableObject(registry(), (_i, state) => {
      state.storage.sql.exec(
        "UPDATE shares SET info = json_set(info, '$.expiresAt', ?) WHERE name = ?",
        aged,
        e.name,
      );
    });
    const beat = await json<{ expiresAt: number }>(
      await api("POST", `/v1/shares/${e.name}/heartbeat`),
    );
    expect(await registryExpiry(e.name)).toBeGreaterThanOrEqual(beat.expiresAt);
    expect(await listed(e.name)).toBeDefined();
  });

  it("an announcement arriving late never shortens the registry's expiry", async () => {
    const e = await ephemeral(60);
    const info = await json<Info & { env: string }>(await api("GET", `/v1/shares/${e.name}`));
    const held = (await registryExpiry(e.name)) as number;
    await registry().add({ ...info, expiresAt: held - 10_000 } as never);
    expect(await registryExpiry(e.name)).toBe(held);
  });
});
