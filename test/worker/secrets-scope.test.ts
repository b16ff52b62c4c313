import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectError, json } from "./helpers";

/**
 * Secrets belong to the shares they are stored for. The attack review's
 * reproduction: an admin token limited to share "demo" listed, borrowed
 * (through a mount), replaced and deleted the credentials of share "other".
 */

const KEYS = { AWS_ACCESS_KEY_ID: "AKIAOTHERTEAM", AWS_SECRET_ACCESS_KEY: "other-team-secret" };
const mine = { AWS_ACCESS_KEY_ID: "AKIADEMOTEAM", AWS_SECRET_ACCESS_KEY: "demo-team-secret" };

async function mint(body: Record<string, unknown>, as?: string): Promise<string> {
  const res = await api("POST", "/v1/tokens", { body: JSON.stringify(body), token: as });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ token: string }>(res)).token;
}
const putSecret = (name: string, body: unknown, token?: string) =>
  api("PUT", `/v1/secrets/${name}`, { body: JSON.stringify(body), token });
const names = async (token?: string) =>
  (await json<{ secrets: { name: string }[] }>(await api("GET", "/v1/secrets", { token }))).secrets
    .map((s) => s.name)
    .sort();
const mount = (share: string, path: string, body: unknown, token?: string) =>
  api("PUT", `/v1/shares/${share}/mounts${path}`, { body: JSON.stringify(body), token });
const updatedAt = async (name: string) =>
  (
    await json<{ secrets: { name: string; updatedAt: number }[] }>(await api("GET", "/v1/secrets"))
  ).secrets.find((s) => s.name === name)?.updatedAt;

describe("secrets belong to their shares", () => {
  let demoAdmin: string;
  let otherAdmin: string;

  beforeAll(async () => {
    for (const s of ["demo", "other"]) await api("PUT", `/v1/shares/${s}`);
    demoAdmin = await mint({ shares: ["demo"], permissions: ["admin", "read"] });
    otherAdmin = await mint({ shares: ["other"], permissions: ["admin"] });
    // The other team stores its keys; by default a secret is for its admin's shares.
    const res = await putSecret("other-creds", KEYS, otherAdmin);
    expect(res.status).toBe(201);
    expect((await json<{ shares: string[] }>(res)).shares).toEqual(["other"]);
    // The root token's secrets are for the whole environment unless it says otherwise.
    expect((await putSecret("org-creds", KEYS)).status).toBe(201);
  });

  it("a share's admin does not see other teams' secrets", async () => {
    expect(await names(demoAdmin)).not.toContain("other-creds");
    expect(await names(demoAdmin)).not.toContain("org-creds");
    expect(await names(otherAdmin)).toContain("other-creds");
    expect(await names()).toEqual(expect.arrayContaining(["org-creds", "other-creds"]));
  });

  it("a share's admin cannot mount a bucket with another team's secret", async () => {
    for (const secret of ["other-creds", "org-creds"]) {
      await expectError(
        await mount("demo", "/steal", { bucket: "victim-bucket", secret }, demoAdmin),
        403,
        "EACCES",
      );
    }
    const listed = await json<{ mounts: unknown[] }>(
      await api("GET", "/v1/shares/demo/mounts", { token: demoAdmin }),
    );
    expect(listed.mounts).toEqual([]);
  });

  it("a share's admin cannot replace or delete another team's secret", async () => {
    const before = await updatedAt("other-creds");
    await expectError(await putSecret("other-creds", mine, demoAdmin), 403, "EACCES");
    await expectError(
      await api("DELETE", "/v1/secrets/other-creds", { token: demoAdmin }),
      403,
      "EACCES",
    );
    // Untouched, and still the other team's own to use.
    expect(await updatedAt("other-creds")).toBe(before);
    expect(
      (await mount("other", "/data", { bucket: "team-bucket", secret: "other-creds" }, otherAdmin))
        .status,
    ).toBe(201);
  });

  it("a share's admin keeps its own secrets and uses them for its own mounts", async () => {
    expect((await putSecret("demo-creds", mine, demoAdmin)).status).toBe(201);
    expect(await names(demoAdmin)).toEqual(["demo-creds"]);
    expect(
      (await mount("demo", "/mine", { bucket: "demo-bucket", secret: "demo-creds" }, demoAdmin))
        .status,
    ).toBe(201);
    // It may not store secrets for shares beyond its own.
    for (const shares of [["other"], ["*"], ["demo", "other"]]) {
      await expectError(await putSecret("wide", { ...mine, shares }, demoAdmin), 403, "EACCES");
    }
    expect((await api("DELETE", "/v1/secrets/demo-creds", { token: demoAdmin })).status).toBe(204);
  });

  it("a mount may only sign with a secret that is for its share, even for the root token", async () => {
    expect((await putSecret("demo-only", { ...mine, shares: ["demo"] })).status).toBe(201);
    await expectError(
      await mount("other", "/x", { bucket: "demo-bucket", secret: "demo-only" }),
      403,
      "EACCES",
    );
    // Narrowed after a mount used it: the mount stops signing with it.
    expect(
      (await mount("demo", "/narrowed", { bucket: "demo-bucket", secret: "demo-only" })).status,
    ).toBe(201);
    expect((await putSecret("demo-only", { ...mine, shares: ["other"] })).status).toBe(200);
    await expectError(await api("GET", "/v1/shares/demo/list/narrowed/"), 403, "EACCES");
  });

  it("shares is a list of share names or * alone", async () => {
    for (const shares of [[], ["*", "demo"], [".bad"], "demo"]) {
      await expectError(await putSecret("bad-shares", { ...mine, shares }), 400, "EINVAL");
    }
  });

  it("secrets stored before shares were recorded are for the whole environment", async () => {
    expect((await putSecret("legacy", mine)).status).toBe(201);
    await runInDurableObject(env.SECRETS.get(env.SECRETS.idFromName("main")), (_i, state) => {
      state.storage.sql.exec("UPDATE secrets SET shares = NULL WHERE name = 'legacy'");
    });
    const listed = await json<{ secrets: { name: string; shares: string[] }[] }>(
      await api("GET", "/v1/secrets"),
    );
    expect(listed.secrets.find((s) => s.name === "legacy")?.shares).toEqual(["*"]);
    expect(await names(demoAdmin)).not.toContain("legacy");
  });
});
