import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, expectError, json, put, r2Count, stub } from "./helpers";

interface Info {
  name: string;
  id: string;
  ephemeral: boolean;
  expiresAt?: number;
}

async function ephemeral(ttlSeconds?: number): Promise<Info> {
  const body = ttlSeconds === undefined ? { ephemeral: true } : { ephemeral: true, ttlSeconds };
  const res = await api("POST", "/v1/shares", { body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return json<Info>(res);
}

/**
 * Moves the share's expiry into the past, in the ShareDO and in the
 * environment's registry, as the passing of time would.
 */
async function age(name: string) {
  const past = Date.now() - 1;
  await runInDurableObject(stub(name), (_i, state) => {
    state.storage.sql.exec("UPDATE share SET expires_at = ?", past);
  });
  await runInDurableObject(env.REGISTRY.get(env.REGISTRY.idFromName("main")), (_i, state) => {
    state.storage.sql.exec(
      "UPDATE shares SET info = json_set(info, '$.expiresAt', ?) WHERE name = ?",
      past,
      name,
    );
  });
}

/** Ages the share and makes its alarm due. */
async function expire(name: string) {
  await age(name);
  await runInDurableObject(stub(name), (_i, state) => state.storage.setAlarm(Date.now()));
}

describe("ephemeral shares", () => {
  it("get an unguessable generated name, an expiry, and show as ephemeral in the list", async () => {
    const before = Date.now();
    const a = await ephemeral();
    const b = await ephemeral(30);
    expect(a.name).toMatch(/^ephemeral-[0-9a-f]{32}$/);
    expect(a.name).not.toBe(b.name);
    expect(a.ephemeral).toBe(true);
    expect(a.expiresAt).toBeGreaterThanOrEqual(before + 600_000);
    expect(b.expiresAt).toBeLessThan(before + 60_000);
    const listed = await json<{ shares: Info[] }>(await api("GET", "/v1/shares"));
    const mine = listed.shares.find((s) => s.name === a.name);
    expect(mine).toMatchObject({ ephemeral: true, expiresAt: a.expiresAt });
    expect((await put(a.name, "/f", "usable like any share")).status).toBe(201);
  });

  it("validates ttl and names", async () => {
    for (const body of [
      { ephemeral: true, ttlSeconds: 4 },
      { ephemeral: true, ttlSeconds: 86_401 },
      { ephemeral: true, ttlSeconds: 10.5 },
      { ephemeral: true, name: "mine" },
      { name: "plain", ttlSeconds: 60 },
    ]) {
      await expectError(
        await api("POST", "/v1/shares", { body: JSON.stringify(body) }),
        400,
        "EINVAL",
      );
    }
  });

  it("a heartbeat extends by the ttl; a non-ephemeral or expired share gets a clear error", async () => {
    const e = await ephemeral(60);
    await runInDurableObject(stub(e.name), (_i, state) => {
      state.storage.sql.exec("UPDATE share SET expires_at = ?", Date.now() + 5_000);
    });
    const beat = await api("POST", `/v1/shares/${e.name}/heartbeat`);
    expect(beat.status).toBe(200);
    const { expiresAt } = await json<{ expiresAt: number }>(beat);
    expect(expiresAt).toBeGreaterThan(Date.now() + 50_000);
    const listed = await json<{ shares: Info[] }>(await api("GET", "/v1/shares"));
    // The list holds an expiry never earlier than the real one (at most ttl/2 later).
    const listedAt = listed.shares.find((s) => s.name === e.name)?.expiresAt as number;
    expect(listedAt).toBeGreaterThanOrEqual(expiresAt);
    expect(listedAt).toBeLessThanOrEqual(expiresAt + 30_000);

    await api("PUT", "/v1/shares/durable-one");
    const err = await expectError(
      await api("POST", "/v1/shares/durable-one/heartbeat"),
      400,
      "EINVAL",
    );
    expect(err.message).toContain("not ephemeral");

    await expire(e.name);
    const gone = await expectError(
      await api("POST", `/v1/shares/${e.name}/heartbeat`),
      404,
      "ENOENT",
    );
    expect(gone.message).toBe(`share not found: ${e.name} (env main): the ephemeral share expired`);
    await expectError(await api("POST", "/v1/shares/never-existed/heartbeat"), 404, "ENOENT");
  });

  it("is 404 from the moment it expires, before reclamation, then reclaimed whole by the alarm", async () => {
    const e = await ephemeral(60);
    await put(e.name, "/small", "s");
    await put(e.name, "/big", new Uint8Array(100_000));
    expect(await r2Count(`blobs/${e.id}/`)).toBe(1);
    await age(e.name);
    // Expired, not yet reclaimed: every request already sees no share.
    await expectError(await api("GET", `/v1/shares/${e.name}`), 404, "ENOENT");
    await expectError(await api("GET", `/v1/shares/${e.name}/files/small`), 404, "ENOENT");
    await expectError(await put(e.name, "/more", "x"), 404, "ENOENT");
    const listed = await json<{ shares: Info[] }>(await api("GET", "/v1/shares"));
    expect(listed.shares.map((s) => s.name)).not.toContain(e.name);

    await runInDurableObject(stub(e.name), (_i, state) => state.storage.setAlarm(Date.now()));
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
  });

  it("reclaims 10,000 files across several alarm runs, and a retried alarm frees nothing twice", {
    timeout: 120_000,
  }, async () => {
    const e = await ephemeral(60);
    const s = stub(e.name);
    // 10,000 files: 2,500 in R2, the rest inline, written straight into the tree.
    const blobKeys = Array.from({ length: 2500 }, (_, i) => `blobs/${e.id}/b${i}`);
    for (let i = 0; i < blobKeys.length; i += 250) {
      await Promise.all(blobKeys.slice(i, i + 250).map((k) => env.BLOBS.put(k, "x")));
    }
    await runInDurableObject(s, (_i, state) => {
      const sql = state.storage.sql;
      // Node ids far above the share's own, announced to its id counter.
      const root = sql.exec<{ root_id: number }>("SELECT root_id FROM share").one().root_id;
      const base = 1_000_000;
      sql.exec(
        "INSERT INTO nodes (id, parent, name, born, type, mtime) VALUES (?, ?, 'd', 0, 'directory', 0)",
        base,
        root,
      );
      sql.exec("UPDATE counters SET value = ? WHERE name = 'node'", base + 10_001);
      for (let i = 0; i < 10_000; i++) {
        const blob = i < blobKeys.length ? `b${i}` : null;
        if (blob)
          sql.exec(
            "INSERT INTO blobs (id, key, refs) VALUES (?, ?, 1)",
            blob,
            `blobs/${e.id}/${blob}`,
          );
        const inline = blob
          ? null
          : sql
              .exec<{ id: number }>(
                "INSERT INTO inline_data (refs, data) VALUES (1, ?) RETURNING id",
                new Uint8Array([1]),
              )
              .one().id;
        sql.exec(
          "INSERT INTO nodes (id, parent, name, born, type, size, mtime, etag, blob_id, inline_id) VALUES (?, ?, ?, 0, 'file', 1, 0, '\"e\"', ?, ?)",
          base + 1 + i,
          base,
          `f${i}`,
          blob,
          inline,
        );
      }
    });
    expect((await s.usage()).entries).toBe(10_001);
    await expire(e.name);
    let runs = 0;
    while (runs < 20 && (await runDurableObjectAlarm(s))) {
      runs++;
      // Every run is also retried once, as Cloudflare may do.
      await runInDurableObject(s, (_i, state) => state.storage.setAlarm(Date.now()));
      await runDurableObjectAlarm(s);
    }
    expect(runs).toBeGreaterThan(1);
    expect(await s.usage()).toEqual({
      entries: 0,
      blobs: 0,
      pending: 0,
      gc: 0,
      doomed: 0,
      retired: 0,
      copies: 0,
    });
    const inlineLeft = await runInDurableObject(
      s,
      (_i, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM inline_data").one().n,
    );
    expect(inlineLeft).toBe(0);
    expect(await r2Count(`blobs/${e.id}/`)).toBe(0);
    await expectError(await api("GET", `/v1/shares/${e.name}`), 404, "ENOENT");
  });

  it("an explicit DELETE works at any time", async () => {
    const e = await ephemeral(60);
    await put(e.name, "/x", "y");
    expect((await api("DELETE", `/v1/shares/${e.name}`)).status).toBe(204);
    await expectError(await api("GET", `/v1/shares/${e.name}`), 404, "ENOENT");
  });
});
