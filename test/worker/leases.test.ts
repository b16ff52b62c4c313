import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, expectError, getText, json, newShare, put, stub } from "./helpers";

interface Lease {
  leaseId: string;
  path: string;
  exclusive: boolean;
  depth: string;
  owner: string | null;
  expiresAt: number;
}

async function lease(share: string, body: Record<string, unknown>) {
  return api("POST", `/v1/shares/${share}/leases`, { body: JSON.stringify(body) });
}
async function acquire(share: string, body: Record<string, unknown>): Promise<Lease> {
  const res = await lease(share, body);
  expect(res.status).toBe(201);
  return json<Lease>(res);
}
/** Moves every lease's expiry into the past, as time passing would. */
async function expireLeases(share: string) {
  await runInDurableObject(stub(share), (_i, state) => {
    state.storage.sql.exec("UPDATE leases SET expires_at = ?", Date.now() - 1);
  });
}

describe("path leases", () => {
  it("acquires with an unguessable id and an expiry; defaults exclusive, depth infinity", async () => {
    const s = await newShare();
    const before = Date.now();
    const l = await acquire(s, { path: "/work", ttlSeconds: 30, owner: "job-17" });
    expect(l.leaseId).toMatch(/^[0-9a-f]{32}$/);
    expect(l).toMatchObject({ path: "/work", exclusive: true, depth: "infinity", owner: "job-17" });
    expect(l.expiresAt).toBeGreaterThanOrEqual(before + 30_000);
    const other = await acquire(s, { path: "/other" });
    expect(other.leaseId).not.toBe(l.leaseId);
    const listed = await json<{ leases: Lease[] }>(await api("GET", `/v1/shares/${s}/leases`));
    expect(listed.leases.map((x) => x.path)).toEqual(["/other", "/work"]);
  });

  it("blocks writes, deletes, moves and copies at or below the path without the header (423)", async () => {
    const s = await newShare();
    await put(s, "/dir/file", "v1");
    await put(s, "/elsewhere", "e");
    const l = await acquire(s, { path: "/dir", ttlSeconds: 60 });
    const blocked = [
      await put(s, "/dir/file", "v2"),
      await put(s, "/dir/new", "x"),
      await put(s, "/dir/big", new Uint8Array(100_000)),
      await api("PUT", `/v1/shares/${s}/files/dir/sub/`),
      await api("DELETE", `/v1/shares/${s}/files/dir/file`),
      await api("POST", `/v1/shares/${s}/move`, { body: '{"from":"/dir/file","to":"/out"}' }),
      await api("POST", `/v1/shares/${s}/move`, { body: '{"from":"/elsewhere","to":"/dir/in"}' }),
      await api("POST", `/v1/shares/${s}/copy`, { body: '{"from":"/elsewhere","to":"/dir/in"}' }),
    ];
    for (const res of blocked) {
      const err = await expectError(res, 423, "ELOCKED");
      // The message names the expiry, never the lease id.
      expect(err.message).toContain(new Date(l.expiresAt).toISOString());
      expect(err.message).not.toContain(l.leaseId);
    }
    // A recursive delete of a parent would remove the leased subtree.
    await expectError(await api("DELETE", `/v1/shares/${s}/files/?recursive=true`), 423, "ELOCKED");
    expect(await getText(s, "/dir/file")).toBe("v1");
    // Reads are not blocked, nor writes outside the path.
    expect((await put(s, "/elsewhere", "e2")).status).toBe(200);
    // The holder writes freely.
    const h = { "edgefs-lease": l.leaseId };
    expect((await put(s, "/dir/file", "v2", h)).status).toBe(200);
    expect((await put(s, "/dir/big", new Uint8Array(100_000), h)).status).toBe(201);
    expect(
      (
        await api("POST", `/v1/shares/${s}/move`, {
          body: '{"from":"/dir/file","to":"/dir/f2"}',
          headers: h,
        })
      ).status,
    ).toBe(200);
    expect((await api("DELETE", `/v1/shares/${s}/files/dir/f2`, { headers: h })).status).toBe(204);
  });

  it("depth 0 covers the path alone", async () => {
    const s = await newShare();
    await acquire(s, { path: "/d", depth: "0" });
    expect((await put(s, "/d/child", "x")).status).toBe(201);
    await expectError(await put(s, "/d", "x"), 423, "ELOCKED");
  });

  it("overlapping exclusive leases conflict; shared leases coexist and block only lease-less writers", async () => {
    const s = await newShare();
    const a = await acquire(s, { path: "/p", exclusive: false });
    const b = await acquire(s, { path: "/p/q", exclusive: false });
    await expectError(await lease(s, { path: "/p/q/r" }), 423, "ELOCKED"); // exclusive under shared
    await expectError(await lease(s, { path: "/" }), 423, "ELOCKED"); // exclusive above shared
    await expectError(await put(s, "/p/q/file", "x"), 423, "ELOCKED");
    expect((await put(s, "/p/q/file", "x", { "edgefs-lease": a.leaseId })).status).toBe(201);
    expect((await put(s, "/p/q/file", "y", { "edgefs-lease": b.leaseId })).status).toBe(200);
    // A holder of an unrelated lease is still a writer without one here.
    const c = await acquire(s, { path: "/unrelated" });
    await expectError(
      await put(s, "/p/q/file", "z", { "edgefs-lease": c.leaseId }),
      423,
      "ELOCKED",
    );

    const x = await acquire(s, { path: "/x" });
    await expectError(await lease(s, { path: "/x", exclusive: false }), 423, "ELOCKED");
    await expectError(await lease(s, { path: "/x/deeper" }), 423, "ELOCKED");
    // Siblings do not overlap.
    expect((await lease(s, { path: "/xy" })).status).toBe(201);
    // Two exclusive leases below one path: a recursive delete needs both.
    const m1 = await acquire(s, { path: "/m/1" });
    const m2 = await acquire(s, { path: "/m/2" });
    await put(s, "/m/1/f", "1", { "edgefs-lease": m1.leaseId });
    await expectError(
      await api("DELETE", `/v1/shares/${s}/files/m?recursive=true`, {
        headers: { "edgefs-lease": m1.leaseId },
      }),
      423,
      "ELOCKED",
    );
    expect(
      (
        await api("DELETE", `/v1/shares/${s}/files/m?recursive=true`, {
          headers: { "edgefs-lease": `${m1.leaseId}, ${m2.leaseId}` },
        })
      ).status,
    ).toBe(204);
    expect(x.leaseId).toBeTruthy();
  });

  it("renew extends, release frees; unknown or expired ids are 404", async () => {
    const s = await newShare();
    const l = await acquire(s, { path: "/r", ttlSeconds: 10 });
    const renewed = await json<Lease>(
      await api("POST", `/v1/shares/${s}/leases/${l.leaseId}/renew`, {
        body: '{"ttlSeconds":120}',
      }),
    );
    expect(renewed.expiresAt).toBeGreaterThan(l.expiresAt + 100_000);
    const again = await api("POST", `/v1/shares/${s}/leases/${l.leaseId}/renew`);
    expect(again.status).toBe(200);
    expect((await api("DELETE", `/v1/shares/${s}/leases/${l.leaseId}`)).status).toBe(204);
    expect((await put(s, "/r", "free")).status).toBe(201);
    await expectError(await api("DELETE", `/v1/shares/${s}/leases/${l.leaseId}`), 404, "ENOENT");
    await expectError(
      await api("POST", `/v1/shares/${s}/leases/${"0".repeat(32)}/renew`),
      404,
      "ENOENT",
    );
    await expectError(await api("DELETE", `/v1/shares/${s}/leases/not-an-id`), 400, "EINVAL");
  });

  it("expires by time with no request, so a crashed holder never blocks past its ttl", async () => {
    const s = await newShare();
    const l = await acquire(s, { path: "/crash", ttlSeconds: 5 });
    await expectError(await put(s, "/crash/f", "x"), 423, "ELOCKED");
    await expireLeases(s);
    // No alarm has run yet: an expired lease already stops counting.
    expect((await put(s, "/crash/f", "x")).status).toBe(201);
    await expectError(
      await api("POST", `/v1/shares/${s}/leases/${l.leaseId}/renew`),
      404,
      "ENOENT",
    );
    // The alarm then forgets it.
    await runInDurableObject(stub(s), (_i, state) => state.storage.setAlarm(Date.now()));
    await runDurableObjectAlarm(stub(s));
    const count = await runInDurableObject(
      stub(s),
      (_i, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases").one().n,
    );
    expect(count).toBe(0);
  });

  it("a lease's expiry sets the alarm, and a later item never postpones it", async () => {
    const s = await newShare();
    const alarm = () => runInDurableObject(stub(s), (_i, state) => state.storage.getAlarm());
    const long = await acquire(s, { path: "/long", ttlSeconds: 3600 });
    expect(await alarm()).toBe(long.expiresAt);
    const short = await acquire(s, { path: "/short", ttlSeconds: 20 });
    expect(await alarm()).toBe(short.expiresAt);
    await acquire(s, { path: "/longer", ttlSeconds: 7200 });
    expect(await alarm()).toBe(short.expiresAt);
  });

  it("rejects bad requests with EINVAL", async () => {
    const s = await newShare();
    for (const body of [
      {},
      { path: "/a", ttlSeconds: 0 },
      { path: "/a", ttlSeconds: 86_401 },
      { path: "/a", exclusive: "yes" },
      { path: "/a", depth: "1" },
      { path: "/../a" },
      { path: "/a", surprise: true },
    ]) {
      await expectError(await lease(s, body), 400, "EINVAL");
    }
    await expectError(await put(s, "/a", "x", { "edgefs-lease": "nope" }), 400, "EINVAL");
    await expectError(await lease("no-such-share", { path: "/a" }), 404, "ENOENT");
  });

  it("a share holds at most 1,000 active leases: the next is 507 ENOSPC until one goes", async () => {
    const s = await newShare();
    // 999 live leases on distinct paths, written straight into the table.
    await runInDurableObject(stub(s), (_i, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
         INSERT INTO leases (id, path, exclusive, depth, owner, ttl_ms, expires_at, created_at)
         SELECT printf('%032x', i), printf('/held/%04d', i), 1, 'infinity', NULL, 60000, ?1, ?2 FROM n`,
        Date.now() + 60_000,
        Date.now(),
      );
    });
    const last = await acquire(s, { path: "/one-more" });
    const full = await expectError(await lease(s, { path: "/elsewhere" }), 507, "ENOSPC");
    expect(full.message).toContain("1000 active leases");
    // WebDAV LOCK is a lease too.
    const locked = await api("LOCK", `/dav/main/${s}/elsewhere`, {
      headers: { "content-type": "application/xml" },
      body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    expect(locked.status).toBe(507);
    expect(await locked.text()).toContain("ENOSPC");
    const released = await api("DELETE", `/v1/shares/${s}/leases/${last.leaseId}`);
    expect(released.status).toBe(204);
    expect((await lease(s, { path: "/elsewhere" })).status).toBe(201);
    // Expired leases stop counting at once.
    await expireLeases(s);
    expect((await lease(s, { path: "/after" })).status).toBe(201);
  });
});
