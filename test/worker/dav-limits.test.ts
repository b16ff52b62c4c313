import { describe, expect, it } from "vitest";
import {
  child,
  dav,
  type El,
  elements,
  expectDavError,
  LOCKINFO,
  lock,
  multistatus,
  propfind,
  propfindOf,
} from "./dav-helpers";
import { api, newShare, put } from "./helpers";

/**
 * What bounds a WebDAV answer against a hostile request: requested
 * property names are deduplicated and capped, and the locks (with their
 * owners) that lockdiscovery can show are capped where they are taken.
 */

const count = (text: string, needle: string) => text.split(needle).length - 1;

async function files(share: string, n: number) {
  for (let i = 0; i < n; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, k) =>
        put(share, `/d/f${String(i + k).padStart(2, "0")}`, "x"),
      ),
    );
  }
}

describe("PROPFIND bounds", () => {
  it("a property named twice is answered once", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const res = await propfind(
      s,
      "/f",
      "0",
      propfindOf("<D:getetag/>", "<X:a/>", "<D:getetag/>", "<X:a/>", "<D:getetag/>"),
    );
    const body = await res.clone().text();
    const [r] = await multistatus(res);
    expect(r?.props.get("{DAV:}getetag")?.status).toBe(200);
    expect(r?.props.get("{urn:x}a")?.status).toBe(404);
    expect(count(body, "<D:getetag>")).toBe(1);
    expect(count(body, '<P:a xmlns:P="urn:x"/>')).toBe(1);
  });

  it("more than 256 distinct names are refused with 413 ETOOLARGE; 256 are answered", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const names = (n: number) => Array.from({ length: n }, (_, i) => `<X:p${i}/>`);
    const refused = await expectDavError(
      await propfind(s, "/f", "0", propfindOf(...names(257))),
      413,
    );
    expect(refused).toContain("ETOOLARGE");
    expect(refused).toContain("256");
    const [r] = await multistatus(await propfind(s, "/f", "0", propfindOf(...names(256))));
    expect(r?.props.size).toBe(256);
  });

  it("a 1 MiB body of repeated names over 40 files answers a small multistatus", async () => {
    const s = await newShare();
    await files(s, 40);
    const one = "<D:getlastmodified/><X:nope/>";
    const body = propfindOf(one.repeat(Math.floor((1024 * 1024 - 200) / one.length)));
    expect(body.length).toBeLessThanOrEqual(1024 * 1024);
    const res = await propfind(s, "/d", "1", body);
    const text = await res.clone().text();
    const all = await multistatus(res);
    expect(all).toHaveLength(41);
    // Each response names two properties once: a few hundred bytes, not megabytes.
    expect(text.length).toBeLessThan(41 * 600);
  });
});

describe("lock bounds", () => {
  it("an owner over 1 KiB is refused with 413; a litmus-style href owner is accepted", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const big = `<D:href>${"o".repeat(1100)}</D:href>`;
    const refused = await dav("LOCK", s, "/f", {
      body: LOCKINFO("exclusive", big),
      headers: { "content-type": "application/xml", depth: "0" },
    });
    expect(await expectDavError(refused, 413)).toContain("ETOOLARGE");
    const litmus = await lock(s, "/f", {
      depth: "0",
      owner: "<D:href>http://example.org/~litmus/</D:href>",
    });
    expect(litmus.status).toBe(200);
  });

  it("at most 32 locks pile up on one path (507), so lockdiscovery stays bounded", async () => {
    const s = await newShare();
    await files(s, 40);
    const owner = `<D:href>${"o".repeat(900)}</D:href>`;
    for (let i = 0; i < 32; i++) {
      const l = await lock(s, "/", { scope: "shared", owner });
      expect(l.status).toBe(200);
    }
    const more = await dav("LOCK", s, "/", {
      body: LOCKINFO("shared", owner),
      headers: { "content-type": "application/xml" },
    });
    expect(await expectDavError(more, 507)).toContain("ENOSPC");
    // Nor below it: a lock on /d overlaps all 32.
    const below = await dav("LOCK", s, "/d/f00", {
      body: LOCKINFO("shared"),
      headers: { "content-type": "application/xml", depth: "0" },
    });
    await expectDavError(below, 507);
    const res = await propfind(s, "/d", "1", propfindOf("<D:lockdiscovery/>"));
    const text = await res.clone().text();
    const all = await multistatus(res);
    expect(all).toHaveLength(41);
    for (const r of all) {
      const shown = r.props.get("{DAV:}lockdiscovery")?.el as El;
      expect(elements(shown)).toHaveLength(32);
      expect(child(elements(shown)[0] as El, "{DAV:}owner")).toBeDefined();
    }
    expect(text.length).toBeLessThan(41 * 32 * 1500);
  });

  it("a native lease's owner is capped in UTF-8 bytes like DAV:owner", async () => {
    const s = await newShare();
    const take = (owner: string, path: string) =>
      api("POST", `/v1/shares/${s}/leases`, { body: JSON.stringify({ path, owner }) });
    expect((await take("o".repeat(1024), "/a")).status).toBe(201);
    const res = await take("\u00e9".repeat(600), "/b"); // 600 characters, 1,200 bytes
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ETOOLARGE");
  });
});
