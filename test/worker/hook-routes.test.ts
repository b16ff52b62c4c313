import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, expectError, json, newShare, stub } from "./helpers";

// vitest.config.ts allows only 127.0.0.1:9 (the discard port: connections are refused).
const REFUSED = "http://127.0.0.1:9/hook";
const SECRET = "0123456789abcdef0123";

interface Hook {
  id: string;
  url: string;
  path?: string;
  delivered: string;
  failures: number;
  nextAttempt?: number;
  lastError?: string;
}

const add = (share: string, body: unknown, token?: string) =>
  api("POST", `/v1/shares/${share}/hooks`, { body: JSON.stringify(body), token });
const list = async (share: string) =>
  (await json<{ hooks: Hook[] }>(await api("GET", `/v1/shares/${share}/hooks`))).hooks;

describe("webhooks: admin routes", () => {
  it("creates, lists (never the secret) and deletes hooks", async () => {
    const s = await newShare();
    const res = await add(s, { url: REFUSED, path: "/in/**", secret: SECRET });
    expect(res.status).toBe(201);
    const hook = await json<Hook>(res);
    expect(hook).toMatchObject({ url: REFUSED, path: "/in/**", failures: 0 });
    const version = (await json<{ version: number }>(await api("GET", `/v1/shares/${s}`))).version;
    // A hook delivers what happens from its creation on.
    expect(hook.delivered).toBe(String(version));
    const listed = await list(s);
    expect(listed.map((h) => h.id)).toEqual([hook.id]);
    expect(JSON.stringify(listed)).not.toContain(SECRET);
    expect((await api("DELETE", `/v1/shares/${s}/hooks/${hook.id}`)).status).toBe(204);
    expect(await list(s)).toEqual([]);
    await expectError(await api("DELETE", `/v1/shares/${s}/hooks/${hook.id}`), 404, "ENOENT");
  });

  it("refuses bad hooks with the contract's errors", async () => {
    const s = await newShare();
    const cases: [unknown, number, string][] = [
      [{ url: "http://hooks.example/x", secret: SECRET }, 400, "EINVAL"], // public, not https
      [{ url: "https://127.0.0.1:8443/x", secret: SECRET }, 400, "EINVAL"], // loopback, not allowed
      [{ url: "https://169.254.169.254/", secret: SECRET }, 400, "EINVAL"], // cloud metadata
      [{ url: "https://user:pw@hooks.example/", secret: SECRET }, 400, "EINVAL"],
      [{ url: "not a url", secret: SECRET }, 400, "EINVAL"],
      [{ url: REFUSED, secret: "short" }, 400, "EINVAL"],
      [{ url: REFUSED, secret: SECRET, path: "/[bad" }, 400, "EINVAL"],
      [{ url: REFUSED, secret: SECRET, extra: 1 }, 400, "EINVAL"],
      [{ url: REFUSED }, 400, "EINVAL"],
    ];
    for (const [body, status, code] of cases) await expectError(await add(s, body), status, code);
    expect(await list(s)).toEqual([]);
    const reader = await json<{ token: string }>(
      await api("POST", "/v1/tokens", {
        body: JSON.stringify({ shares: [s], permissions: ["read", "write"] }),
      }),
    );
    await expectError(await add(s, { url: REFUSED, secret: SECRET }, reader.token), 403, "EACCES");
    await expectError(
      await api("GET", `/v1/shares/${s}/hooks`, { token: reader.token }),
      403,
      "EACCES",
    );
    for (let i = 0; i < 20; i++)
      expect((await add(s, { url: REFUSED, secret: SECRET })).status).toBe(201);
    await expectError(await add(s, { url: REFUSED, secret: SECRET }), 507, "ENOSPC");
  });

  it("hooks go with their share", async () => {
    const s = await newShare();
    await add(s, { url: REFUSED, secret: SECRET });
    await api("DELETE", `/v1/shares/${s}`);
    await api("PUT", `/v1/shares/${s}`);
    expect(await list(s)).toEqual([]);
  });
});

describe("webhooks: delivery by the share's alarm", () => {
  it("a receiver that cannot be reached is retried with growing backoff; writers never wait for it", async () => {
    const s = await newShare();
    const hook = await json<Hook>(await add(s, { url: REFUSED, secret: SECRET }));
    // Writes answer as ever; the delivery is the alarm's business.
    for (let i = 0; i < 3; i++) {
      expect((await api("PUT", `/v1/shares/${s}/files/f${i}`, { body: "x" })).status).toBe(201);
    }
    const alarm = () => runInDurableObject(stub(s), (_i, state) => state.storage.getAlarm());
    expect(await alarm()).not.toBeNull();
    await runDurableObjectAlarm(stub(s));
    const [first] = await list(s);
    expect(first).toMatchObject({ id: hook.id, failures: 1, delivered: hook.delivered });
    expect(first?.lastError).toMatch(/delivery failed/);
    // Due again only after its backoff, and the alarm is aimed at it.
    expect(first?.nextAttempt).toBeGreaterThan(Date.now());
    expect(await alarm()).toBeGreaterThanOrEqual(first?.nextAttempt ?? 0);
    // Forced due now, it fails again and backs off longer; nothing moved past the undelivered changes.
    await runInDurableObject(stub(s), (_i, state) => {
      state.storage.sql.exec("UPDATE hooks SET due_at = 0");
    });
    await runDurableObjectAlarm(stub(s));
    const [second] = await list(s);
    expect(second).toMatchObject({ failures: 2, delivered: hook.delivered });
    expect((second?.nextAttempt ?? 0) - Date.now()).toBeGreaterThan(
      (first?.nextAttempt ?? 0) - Date.now(),
    );
  });
});
