import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  api,
  bytesOf,
  expectError,
  getText,
  json,
  newShare,
  put,
  r2Count,
  runAllGc,
  sha256,
  shareId as shareIdOf,
  stub,
} from "../worker/helpers";

// vitest.limits.config.ts: replaced versions stay readable for an hour.

async function version(share: string): Promise<number> {
  return (await json<{ version: number }>(await api("GET", `/v1/shares/${share}`))).version;
}

async function listed(share: string, path: string, query: string): Promise<string[]> {
  const res = await api("GET", `/v1/shares/${share}/list${path}?recursive=true&${query}`);
  expect(res.status).toBe(200);
  return (await json<{ entries: { path: string }[] }>(res)).entries.map((e) => e.path).sort();
}

describe("reads at a version inside the retention window", () => {
  it("see each version exactly as it was acknowledged, latest untouched", async () => {
    const s = await newShare();
    const big = bytesOf(90_000, 3);
    await put(s, "/a.txt", "one");
    await put(s, "/big.bin", big);
    const v1 = await version(s);
    await put(s, "/a.txt", "two");
    const v2 = await version(s);
    await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/a.txt", to: "/d/b.txt" }),
    });
    await put(s, "/big.bin", "tiny");
    expect((await api("DELETE", `/v1/shares/${s}/files/d?recursive=true`)).status).toBe(204);
    const v5 = await version(s);
    await runAllGc(s, "main", true);

    const at = async (path: string, v: number) => {
      const res = await api("GET", `/v1/shares/${s}/files${path}?version=${v}`);
      return { status: res.status, version: res.headers.get("edgefs-version"), body: res };
    };
    const one = await at("/a.txt", v1);
    expect(one).toMatchObject({ status: 200, version: String(v1) });
    expect(await one.body.text()).toBe("one");
    expect(await (await at("/a.txt", v2)).body.text()).toBe("two");
    const oldBig = await at("/big.bin", v2);
    expect(await sha256(await oldBig.body.arrayBuffer())).toBe(await sha256(big));
    expect(await listed(s, "/", `version=${v2 + 1}`)).toEqual(["big.bin", "d", "d/b.txt"]);
    expect(await listed(s, "/", `version=${v5}`)).toEqual(["big.bin"]);
    await expectError(await api("GET", `/v1/shares/${s}/stat/a.txt?version=${v5}`), 404, "ENOENT");
    // A range of an old version, and HEAD.
    const range = await api("GET", `/v1/shares/${s}/files/big.bin?version=${v1}`, {
      headers: { range: "bytes=10-19" },
    });
    expect(range.status).toBe(206);
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(big.slice(10, 20));
    expect(await getText(s, "/big.bin")).toBe("tiny");
  });

  it("keep replaced bytes and deleted subtrees until the window passes them", async () => {
    const s = await newShare();
    await stub(s).seed({ dir: "/t" as never, count: 300, prefix: "f", content: "kept" });
    const v = await version(s);
    expect((await api("DELETE", `/v1/shares/${s}/files/t?recursive=true`)).status).toBe(204);
    await runAllGc(s, "main", true);
    // Still queued, still readable: the window holds it.
    expect((await stub(s).usage()).doomed).toBeGreaterThan(0);
    expect(await listed(s, "/t", `version=${v}`)).toHaveLength(300);
    const text = await api("GET", `/v1/shares/${s}/files/t/f00000123?version=${v}`);
    expect(await text.text()).toBe("kept");
    // Once its versions leave the window (commit times moved back an hour), it all goes.
    await runInDurableObject(stub(s), (_i, state) => {
      state.storage.sql.exec("UPDATE versions SET at = at - 3700000");
      return state.storage.setAlarm(Date.now());
    });
    await put(s, "/after", "x");
    await runAllGc(s, "main", true);
    expect(await stub(s).usage()).toMatchObject({ doomed: 0, retired: 0 });
    await expectError(await api("GET", `/v1/shares/${s}/list/t?version=${v}`), 410, "EEXPIRED");
  });

  it("go with their share: a deleted share's history is reclaimed at once, not after the window", async () => {
    const s = await newShare();
    const id = await shareIdOf(s);
    await put(s, "/big.bin", bytesOf(90_000, 5));
    await put(s, "/big.bin", bytesOf(90_000, 6));
    expect((await api("DELETE", `/v1/shares/${s}/files/big.bin`)).status).toBe(204);
    expect((await api("DELETE", `/v1/shares/${s}`)).status).toBe(204);
    await runAllGc(s);
    expect(await stub(s).usage()).toMatchObject({ entries: 0, doomed: 0, retired: 0, blobs: 0 });
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
  });
});
