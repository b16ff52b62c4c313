import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";

/**
 * Ephemeral shares on a real wrangler dev, where the ShareDO's alarm fires by
 * itself: nothing here runs an alarm by hand.
 */
describe("ephemeral shares (live alarms)", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const call = (method: string, path: string, body?: BodyInit) =>
    fetch(`${server.url}${path}`, {
      method,
      body,
      headers: { authorization: `Bearer ${server.token}` },
    });
  const blobCount = async (id: string) => {
    const res = await call("GET", `/_dev/r2-count?prefix=blobs/${id}/`);
    return ((await res.json()) as { objects: number }).objects;
  };
  const createEphemeral = async (ttlSeconds: number) => {
    const res = await call("POST", "/v1/shares", JSON.stringify({ ephemeral: true, ttlSeconds }));
    expect(res.status).toBe(201);
    return (await res.json()) as { name: string; id: string; expiresAt: number };
  };
  const big = new Uint8Array(200_000).map((_, i) => i % 251);

  beforeAll(async () => {
    server = await startServer({ vars: { EDGEFS_DEV_ROUTES: "1" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("without heartbeats, disappears with its blobs; with them, survives 3× ttl", async () => {
    const ttl = 5;
    const [dying, kept] = [await createEphemeral(ttl), await createEphemeral(ttl)];
    const created = Date.now();
    for (const share of [dying, kept]) {
      expect((await call("PUT", `/v1/shares/${share.name}/files/small.txt`, "hello")).status).toBe(
        201,
      );
      expect((await call("PUT", `/v1/shares/${share.name}/files/data/big.bin`, big)).status).toBe(
        201,
      );
    }
    expect(await blobCount(dying.id)).toBe(1);

    // Gone means both: the share answers 404 and its blob is reclaimed.
    const isGone = async () =>
      (await call("GET", `/v1/shares/${dying.name}`)).status === 404 &&
      (await blobCount(dying.id)) === 0;
    let gone = false;
    // Bounded: 3× ttl of heartbeats for `kept`, watching `dying` meanwhile.
    while (Date.now() - created < 3 * ttl * 1000) {
      const beat = await call("POST", `/v1/shares/${kept.name}/heartbeat`);
      expect(beat.status).toBe(200);
      gone ||= await isGone();
      await new Promise((r) => setTimeout(r, 1000));
    }
    // No deadline is asserted (how fast an alarm fires is the runtime's
    // business): the outcome is, polled a bounded number of times.
    for (let i = 0; !gone && i < 60; i++) {
      await new Promise((r) => setTimeout(r, 500));
      gone = await isGone();
    }
    expect(gone, "the unattended ephemeral share and its blob are still there").toBe(true);
    const listed = (await (await call("GET", "/v1/shares")).json()) as {
      shares: { name: string }[];
    };
    expect(listed.shares.map((s) => s.name)).not.toContain(dying.name);

    // The one kept alive is whole.
    expect(await (await call("GET", `/v1/shares/${kept.name}/files/small.txt`)).text()).toBe(
      "hello",
    );
    const back = new Uint8Array(
      await (await call("GET", `/v1/shares/${kept.name}/files/data/big.bin`)).arrayBuffer(),
    );
    expect(back).toEqual(big);
    expect(await blobCount(kept.id)).toBe(1);
    expect((await call("DELETE", `/v1/shares/${kept.name}`)).status).toBe(204);
  });
});
