import { describe, expect, it } from "vitest";
import type { FsPath } from "../../src/core/paths";
import { dav } from "./dav-helpers";
import { api, bytesOf, chunkedBody, json, newShare, stub } from "./helpers";

async function latest(share: string): Promise<number> {
  return (await json<{ version: number }>(await api("GET", `/v1/shares/${share}`))).version;
}

/**
 * Runs a change and checks what its answer says: the version it made is
 * the share's latest right after it, one past the version before it.
 */
async function expectNextVersion(share: string, change: () => Promise<Response>, ok: number[]) {
  const before = await latest(share);
  const res = await change();
  expect(ok).toContain(res.status);
  const said = res.headers.get("edgefs-version");
  expect(said).toBe(String(before + 1));
  expect(await latest(share)).toBe(before + 1);
}

describe("every change answers with the version it made (Edgefs-Version)", () => {
  it("native API: writes of every kind, mkdir, move, copy, delete, uploads, restore", async () => {
    const s = await newShare();
    const body = (b: unknown) => ({ body: JSON.stringify(b) });
    await expectNextVersion(
      s,
      () => api("PUT", `/v1/shares/${s}/files/small.txt`, { body: "x" }),
      [201],
    );
    await expectNextVersion(
      s,
      () => api("PUT", `/v1/shares/${s}/files/big.bin`, { body: bytesOf(100_000) }),
      [201],
    );
    await expectNextVersion(
      s,
      () => api("PUT", `/v1/shares/${s}/files/piped.bin`, { body: chunkedBody(bytesOf(70_000)) }),
      [201],
    );
    await expectNextVersion(s, () => api("PUT", `/v1/shares/${s}/files/d/`), [201]);
    await expectNextVersion(
      s,
      () => api("POST", `/v1/shares/${s}/move`, body({ from: "/small.txt", to: "/d/small.txt" })),
      [200],
    );
    await expectNextVersion(
      s,
      () => api("POST", `/v1/shares/${s}/copy`, body({ from: "/d/small.txt", to: "/c.txt" })),
      [201],
    );
    // A copy too big for one batch is a background job; its answer names the version its link made.
    await stub(s).seed({ dir: "/many" as FsPath, count: 150, prefix: "f", content: "m" });
    await expectNextVersion(
      s,
      () =>
        api("POST", `/v1/shares/${s}/copy`, body({ from: "/many", to: "/many2", recursive: true })),
      [201],
    );
    const up = await json<{ uploadId: string }>(
      await api(
        "POST",
        `/v1/shares/${s}/uploads`,
        body({ path: "/up.bin", partSize: 5 * 1024 * 1024 }),
      ),
    );
    await api("PUT", `/v1/shares/${s}/uploads/${up.uploadId}/parts/1`, { body: "tail" });
    await expectNextVersion(
      s,
      () => api("POST", `/v1/shares/${s}/uploads/${up.uploadId}/complete`),
      [201],
    );
    await expectNextVersion(s, () => api("DELETE", `/v1/shares/${s}/files/c.txt`), [204]);
    await api("POST", `/v1/shares/${s}/snapshots`, body({ name: "k" }));
    await api("DELETE", `/v1/shares/${s}/files/d?recursive=true`);
    await expectNextVersion(
      s,
      () => api("POST", `/v1/shares/${s}/restore`, body({ path: "/d", snapshot: "k" })),
      [200],
    );
    // A change that changes nothing makes no version, and says the one it left.
    const now = await latest(s);
    const again = await api("PUT", `/v1/shares/${s}/files/d/`);
    expect(again.status).toBe(200);
    expect(again.headers.get("edgefs-version")).toBe(String(now));
  });

  it("a delete nothing keeps is still a version: a batch made against the one before is stale", async () => {
    const s = await newShare();
    await api("PUT", `/v1/shares/${s}/files/gone.txt`, { body: "x" });
    const seen = await latest(s);
    expect((await api("DELETE", `/v1/shares/${s}/files/gone.txt`)).status).toBe(204);
    const stale = await api("POST", `/v1/shares/${s}/commit`, {
      body: JSON.stringify({ ops: [{ op: "mkdir", path: "/x" }], ifVersion: seen }),
    });
    expect(stale.status).toBe(412);
  });

  it("WebDAV: PUT, MKCOL, COPY, MOVE and DELETE", async () => {
    const s = await newShare();
    await expectNextVersion(s, () => dav("PUT", s, "/a.txt", { body: "a" }), [201]);
    await expectNextVersion(s, () => dav("MKCOL", s, "/col"), [201]);
    const to = (p: string) => ({
      headers: { destination: `http://edgefs.test/dav/main/${s}${p}` },
    });
    await expectNextVersion(s, () => dav("COPY", s, "/a.txt", to("/col/b.txt")), [201]);
    await expectNextVersion(s, () => dav("MOVE", s, "/a.txt", to("/col/c.txt")), [201]);
    await expectNextVersion(s, () => dav("DELETE", s, "/col"), [204]);
  });
});
