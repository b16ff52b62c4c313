import { describe, expect, it } from "vitest";
import { api, expectError, json, newShare, put, r2Count, runAllGc } from "./helpers";

interface Info {
  name: string;
  env: string;
  id: string;
  kind: string;
  ephemeral: boolean;
  createdAt: number;
}

describe("shares", () => {
  it("PUT creates if missing (201) and is idempotent (200, same id)", async () => {
    const first = await api("PUT", "/v1/shares/alpha");
    expect(first.status).toBe(201);
    const a = await json<Info>(first);
    expect(a).toMatchObject({ name: "alpha", env: "main", kind: "nfs", ephemeral: false });
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    const again = await api("PUT", "/v1/shares/alpha", { body: '{"kind":"nfs"}' });
    expect(again.status).toBe(200);
    expect((await json<Info>(again)).id).toBe(a.id);
  });

  it("POST is a strict create: 409 EEXIST the second time", async () => {
    const res = await api("POST", "/v1/shares", { body: JSON.stringify({ name: "beta" }) });
    expect(res.status).toBe(201);
    expect((await json<Info>(res)).name).toBe("beta");
    await expectError(
      await api("POST", "/v1/shares", { body: JSON.stringify({ name: "beta" }) }),
      409,
      "EEXIST",
    );
  });

  it("info is 404 ENOENT for a missing share, and file routes too", async () => {
    await expectError(await api("GET", "/v1/shares/nope"), 404, "ENOENT");
    await expectError(await api("GET", "/v1/shares/nope/files/a"), 404, "ENOENT");
    await expectError(await put("nope", "/a", "x"), 404, "ENOENT");
    await expectError(await api("GET", "/v1/shares/nope/list/"), 404, "ENOENT");
  });

  it("a missing share's 404 names the share and its environment", async () => {
    for (const url of [
      "/v1/shares/results",
      "/v1/shares/results/files/a",
      "/v1/shares/results/list/",
      "/v1/shares/results/stat/a",
    ]) {
      const err = await expectError(await api("GET", url), 404, "ENOENT");
      expect(err.message).toBe("share not found: results (env main)");
    }
    const other = await expectError(
      await api("GET", "/v1/shares/results/list/?env=staging"),
      404,
      "ENOENT",
    );
    expect(other.message).toBe("share not found: results (env staging)");
    const written = await expectError(await put("results", "/a", "x"), 404, "ENOENT");
    expect(written.message).toBe("share not found: results (env main)");
  });

  it("lists the shares of an environment, separately per ?env=", async () => {
    expect((await api("PUT", "/v1/shares/listed-1?env=staging")).status).toBe(201);
    expect((await api("PUT", "/v1/shares/listed-2?env=staging")).status).toBe(201);
    expect((await api("PUT", "/v1/shares/listed-3?env=other")).status).toBe(201);
    const res = await api("GET", "/v1/shares?env=staging");
    const names = (await json<{ shares: Info[] }>(res)).shares.map((s) => s.name);
    expect(names).toEqual(["listed-1", "listed-2"]);
    const main = (await json<{ shares: Info[] }>(await api("GET", "/v1/shares"))).shares;
    expect(main.every((s) => s.env === "main")).toBe(true);
    // Same name in two environments: two different shares.
    expect((await api("PUT", "/v1/shares/listed-1?env=other")).status).toBe(201);
    expect((await put("listed-1", "/f?env=other", "x")).status).toBe(201);
    const other = await api("GET", "/v1/shares/listed-1/list/?env=staging");
    expect((await json<{ entries: unknown[] }>(other)).entries).toEqual([]);
  });

  it("paginates the share list with limit and cursor", async () => {
    for (let i = 0; i < 5; i++)
      expect((await api("PUT", `/v1/shares/page-${i}?env=paged`)).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let round = 0; round < 10; round++) {
      const q = cursor ? `&cursor=${cursor}` : "";
      const page = await json<{ shares: Info[]; cursor?: string }>(
        await api("GET", `/v1/shares?env=paged&limit=2${q}`),
      );
      seen.push(...page.shares.map((s) => s.name));
      cursor = page.cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);
  });

  it("delete removes the share and its data; recreating gives an empty share with a new id", async () => {
    const name = await newShare("recreate");
    const before = await json<Info>(await api("GET", `/v1/shares/${name}`));
    expect((await put(name, "/small.txt", "tiny")).status).toBe(201);
    expect((await put(name, "/dir/big.bin", new Uint8Array(200_000))).status).toBe(201);
    expect(await r2Count(`blobs/${before.id}/`)).toBe(1);

    expect((await api("DELETE", `/v1/shares/${name}`)).status).toBe(204);
    await expectError(await api("GET", `/v1/shares/${name}`), 404, "ENOENT");
    const listed = await json<{ shares: Info[] }>(await api("GET", "/v1/shares"));
    expect(listed.shares.map((s) => s.name)).not.toContain(name);

    const again = await api("PUT", `/v1/shares/${name}`);
    expect(again.status).toBe(201);
    const after = await json<Info>(again);
    expect(after.id).not.toBe(before.id);
    const root = await json<{ entries: unknown[] }>(await api("GET", `/v1/shares/${name}/list/`));
    expect(root.entries).toEqual([]);
    await expectError(await api("GET", `/v1/shares/${name}/files/small.txt`), 404, "ENOENT");

    // The old blobs are reclaimed once the grace period has passed.
    await runAllGc(name);
    expect(await r2Count(`blobs/${before.id}/`)).toBe(0);
  });

  it("rejects bad names and bodies with EINVAL", async () => {
    await expectError(await api("PUT", "/v1/shares/.hidden"), 400, "EINVAL");
    await expectError(await api("PUT", `/v1/shares/${"x".repeat(65)}`), 400, "EINVAL");
    await expectError(await api("PUT", "/v1/shares/a%20b"), 400, "EINVAL");
    await expectError(await api("PUT", "/v1/shares/ok?env=bad%2Fenv"), 400, "EINVAL");
    await expectError(await api("PUT", "/v1/shares/ok", { body: "{not json" }), 400, "EINVAL");
    await expectError(await api("PUT", "/v1/shares/ok", { body: '{"kind":"zfs"}' }), 400, "EINVAL");
    await expectError(await api("POST", "/v1/shares", { body: "{}" }), 400, "EINVAL");
    await expectError(await api("POST", "/v1/shares", { body: '{"name":"a/b"}' }), 400, "EINVAL");
    await expectError(await api("DELETE", "/v1/shares/never-made"), 404, "ENOENT");
  });
});
