import { describe, expect, it } from "vitest";
import {
  activeLockOf,
  child,
  dav,
  deadProp,
  type El,
  elements,
  expectDavError,
  href,
  ifToken,
  LOCKINFO,
  leaseIdOfToken,
  lock,
  multistatus,
  nativeEtag,
  ORIGIN,
  parseXml,
  propfind,
  propfindOf,
  proppatch,
  secondsOf,
  setProps,
  textOf,
} from "./dav-helpers";
import { api, json, newShare, put } from "./helpers";

/**
 * WebDAV class 2 (RFC 4918 locking) as a client sees it: LOCK, UNLOCK, the
 * If header, and how locks and the native API's path leases are one thing.
 */

describe("WebDAV locks", () => {
  it("an exclusive LOCK returns the token and lockdiscovery, with the owner echoed", async () => {
    const s = await newShare();
    await put(s, "/f", "v1");
    const l = await lock(s, "/f", { depth: "0" });
    expect(l.status).toBe(200);
    const a = l.activelock;
    expect(child(child(a, "{DAV:}lockscope") as El, "{DAV:}exclusive")).toBeDefined();
    expect(child(child(a, "{DAV:}locktype") as El, "{DAV:}write")).toBeDefined();
    expect(textOf(child(a, "{DAV:}depth")).trim()).toBe("0");
    expect(textOf(child(child(a, "{DAV:}owner") as El, "{DAV:}href"))).toBe(
      "mailto:ann@example.com",
    );
    expect(textOf(child(child(a, "{DAV:}lockroot") as El, "{DAV:}href"))).toBe(href(s, "/f"));
    // PROPFIND shows the same lock.
    const [r] = await multistatus(await propfind(s, "/f", "0", propfindOf("<D:lockdiscovery/>")));
    const shown = r?.props.get("{DAV:}lockdiscovery")?.el as El;
    expect(elements(shown).map((x) => textOf(child(x, "{DAV:}locktoken")).trim())).toEqual([
      l.token,
    ]);
    // A second exclusive lock conflicts.
    const again = await dav("LOCK", s, "/f", { body: LOCKINFO("exclusive") });
    await expectDavError(again, 423);
  });

  it("writes without the token are 423 and change nothing; with If (<token>) they succeed", async () => {
    const s = await newShare();
    await put(s, "/f", "v1");
    await put(s, "/g", "g");
    const l = await lock(s, "/f");
    const g = await lock(s, "/g");
    const dest = { destination: href(s, "/moved") };
    await expectDavError(await dav("PUT", s, "/f", { body: "v2" }), 423);
    await expectDavError(await dav("DELETE", s, "/f"), 423);
    await expectDavError(await dav("MOVE", s, "/f", { headers: dest }), 423);
    await expectDavError(await proppatch(s, "/f", setProps("<X:p>1</X:p>")), 423);
    // COPY onto a locked destination is a write to it.
    await expectDavError(
      await dav("COPY", s, "/g", { headers: { destination: href(s, "/f") } }),
      423,
    );
    expect(await (await dav("GET", s, "/f")).text()).toBe("v1");
    expect(await deadProp(s, "/f", "p")).toBeUndefined();

    expect((await dav("PUT", s, "/f", { body: "v2", headers: ifToken(l.token) })).status).toBe(204);
    expect(await (await dav("GET", s, "/f")).text()).toBe("v2");
    await multistatus(await proppatch(s, "/f", setProps("<X:p>1</X:p>"), ifToken(l.token)));
    expect(await deadProp(s, "/f", "p")).toBe("1");
    expect((await dav("MOVE", s, "/f", { headers: { ...dest, ...ifToken(l.token) } })).status).toBe(
      201,
    );
    expect(await (await dav("GET", s, "/moved")).text()).toBe("v2");
    expect((await dav("DELETE", s, "/g", { headers: ifToken(g.token) })).status).toBe(204);
    await expectDavError(await dav("GET", s, "/g"), 404);
  });

  it("an If header with a wrong or unknown token is 412", async () => {
    const s = await newShare();
    await put(s, "/f", "v1");
    await put(s, "/other", "o");
    await lock(s, "/f");
    const other = await lock(s, "/other");
    for (const token of [
      "urn:uuid:00000000-0000-4000-8000-000000000000",
      "opaquelocktoken:not-a-real-token",
      other.token,
    ]) {
      await expectDavError(await dav("PUT", s, "/f", { body: "x", headers: ifToken(token) }), 412);
    }
    // Also on an unlocked resource: the condition does not hold.
    await put(s, "/free", "x");
    await expectDavError(
      await dav("PUT", s, "/free", { body: "y", headers: ifToken(other.token) }),
      412,
    );
    expect(await (await dav("GET", s, "/f")).text()).toBe("v1");
  });

  it("If with an entity tag: matching holds, stale is 412", async () => {
    const s = await newShare();
    await put(s, "/f", "v1");
    const etag = await nativeEtag(s, "/f");
    expect((await dav("PUT", s, "/f", { body: "v2", headers: { if: `([${etag}])` } })).status).toBe(
      204,
    );
    await expectDavError(
      await dav("PUT", s, "/f", { body: "v3", headers: { if: `([${etag}])` } }),
      412,
    );
    expect(await (await dav("GET", s, "/f")).text()).toBe("v2");
  });

  it("shared locks coexist; exclusive and shared conflict", async () => {
    const s = await newShare();
    await put(s, "/sh", "x");
    await put(s, "/ex", "x");
    const a = await lock(s, "/sh", { scope: "shared" });
    const b = await lock(s, "/sh", { scope: "shared" });
    expect(a.token).not.toBe(b.token);
    expect(child(child(a.activelock, "{DAV:}lockscope") as El, "{DAV:}shared")).toBeDefined();
    await expectDavError(await dav("LOCK", s, "/sh", { body: LOCKINFO("exclusive") }), 423);
    await lock(s, "/ex");
    await expectDavError(await dav("LOCK", s, "/ex", { body: LOCKINFO("shared") }), 423);
    // Either shared token lets a write through.
    expect((await dav("PUT", s, "/sh", { body: "y", headers: ifToken(b.token) })).status).toBe(204);
    await expectDavError(await dav("PUT", s, "/sh", { body: "z" }), 423);
    const [r] = await multistatus(await propfind(s, "/sh", "0", propfindOf("<D:lockdiscovery/>")));
    expect(elements(r?.props.get("{DAV:}lockdiscovery")?.el as El)).toHaveLength(2);
  });

  it("a Depth infinity lock on a collection protects its members", async () => {
    const s = await newShare();
    await put(s, "/c/m", "m");
    await put(s, "/outside", "o");
    const l = await lock(s, "/c/", { depth: "infinity" });
    expect(textOf(child(l.activelock, "{DAV:}depth")).trim()).toBe("infinity");
    await expectDavError(await dav("PUT", s, "/c/m", { body: "x" }), 423);
    await expectDavError(await dav("PUT", s, "/c/new", { body: "x" }), 423);
    await expectDavError(await dav("MKCOL", s, "/c/sub/"), 423);
    await expectDavError(await dav("DELETE", s, "/c/m"), 423);
    await expectDavError(
      await dav("MOVE", s, "/outside", { headers: { destination: href(s, "/c/o") } }),
      423,
    );
    // A member's lockdiscovery shows the collection's lock.
    const [r] = await multistatus(await propfind(s, "/c/m", "0", propfindOf("<D:lockdiscovery/>")));
    const [active] = elements(r?.props.get("{DAV:}lockdiscovery")?.el as El);
    expect(textOf(child(active as El, "{DAV:}locktoken")).trim()).toBe(l.token);
    // Tagged If lists, naming the member or the lock root.
    const tagged = (resource: string) => ({ if: `<${resource}> (<${l.token}>)` });
    expect(
      (await dav("PUT", s, "/c/m", { body: "x", headers: tagged(`${ORIGIN}${href(s, "/c/m")}`) }))
        .status,
    ).toBe(204);
    expect(
      (await dav("PUT", s, "/c/m", { body: "y", headers: tagged(href(s, "/c/")) })).status,
    ).toBe(204);
    expect((await dav("PUT", s, "/c/new", { body: "n", headers: ifToken(l.token) })).status).toBe(
      201,
    );
    // Into the locked collection: the If header names the destination's lock.
    expect(
      (
        await dav("MOVE", s, "/outside", {
          headers: { destination: href(s, "/c/o"), ...tagged(href(s, "/c/")) },
        })
      ).status,
    ).toBe(201);
    // A lock on a member conflicts with a new depth infinity lock above it.
    await put(s, "/d/m", "m");
    await lock(s, "/d/m");
    await expectDavError(await dav("LOCK", s, "/d/", { body: LOCKINFO("exclusive") }), 423);
    // A collection with a locked member cannot be deleted without the token.
    await expectDavError(await dav("DELETE", s, "/d/"), 423);
    expect(await (await dav("GET", s, "/d/m")).text()).toBe("m");
  });

  it("a collection's lockroot is the collection's URL, with its trailing slash", async () => {
    const s = await newShare();
    await put(s, "/c/m", "m");
    const l = await lock(s, "/c/");
    const rootOf = (active: El) =>
      textOf(child(child(active, "{DAV:}lockroot") as El, "{DAV:}href"));
    expect(rootOf(l.activelock)).toBe(href(s, "/c/"));
    const [r] = await multistatus(await propfind(s, "/c/m", "0", propfindOf("<D:lockdiscovery/>")));
    const [active] = elements(r?.props.get("{DAV:}lockdiscovery")?.el as El);
    expect(rootOf(active as El)).toBe(href(s, "/c/"));
  });

  it("a Depth 0 lock on a collection protects its membership (RFC 4918 §7.5)", async () => {
    const s = await newShare();
    await put(s, "/c0/existing", "e");
    const l = await lock(s, "/c0/", { depth: "0" });
    // Member content is not protected by a depth 0 lock…
    expect((await dav("PUT", s, "/c0/existing", { body: "e2" })).status).toBe(204);
    // …but adding or removing a member needs the token.
    await expectDavError(await dav("PUT", s, "/c0/new", { body: "n" }), 423);
    await expectDavError(await dav("DELETE", s, "/c0/existing"), 423);
    expect((await dav("PUT", s, "/c0/new", { body: "n", headers: ifToken(l.token) })).status).toBe(
      201,
    );
  });

  it("LOCK on an unmapped URL creates an empty locked file (201)", async () => {
    const s = await newShare();
    const l = await lock(s, "/fresh.docx");
    expect(l.status).toBe(201);
    const got = await dav("GET", s, "/fresh.docx");
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("");
    await expectDavError(await dav("PUT", s, "/fresh.docx", { body: "x" }), 423);
    expect(
      (await dav("PUT", s, "/fresh.docx", { body: "doc", headers: ifToken(l.token) })).status,
    ).toBe(204);
    // Its parent must exist.
    await expectDavError(await dav("LOCK", s, "/no/parent", { body: LOCKINFO("exclusive") }), 409);
  });

  it("Timeout: Second-N is honoured, Infinite is capped at a day, refresh extends", async () => {
    const s = await newShare();
    await put(s, "/t", "x");
    await put(s, "/inf", "x");
    const l = await lock(s, "/t", { timeout: "Second-120" });
    expect(secondsOf(l.activelock)).toBeGreaterThan(100);
    expect(secondsOf(l.activelock)).toBeLessThanOrEqual(120);
    const inf = await lock(s, "/inf", { timeout: "Infinite, Second-4100000000" });
    expect(secondsOf(inf.activelock)).toBeGreaterThan(86_000);
    expect(secondsOf(inf.activelock)).toBeLessThanOrEqual(86_400);

    const refreshed = await dav("LOCK", s, "/t", {
      headers: { ...ifToken(l.token), timeout: "Second-3600" },
    });
    const body = await refreshed.text();
    expect(refreshed.status, body).toBe(200);
    const active = activeLockOf(body, l.token);
    expect(secondsOf(active)).toBeGreaterThan(3500);
    expect(secondsOf(active)).toBeLessThanOrEqual(3600);
    // The refreshed lock is the same lock, still in force.
    await expectDavError(await dav("PUT", s, "/t", { body: "y" }), 423);
    // A refresh naming no lock of this resource is 412.
    await expectDavError(await dav("LOCK", s, "/t", { headers: ifToken(inf.token) }), 412);
  });

  it("UNLOCK with a wrong token is 409; with the right one 204, then writes succeed", async () => {
    const s = await newShare();
    await put(s, "/u", "x");
    await put(s, "/v", "x");
    const l = await lock(s, "/u");
    const other = await lock(s, "/v");
    for (const token of [other.token, "urn:uuid:00000000-0000-4000-8000-000000000000"]) {
      await expectDavError(
        await dav("UNLOCK", s, "/u", { headers: { "lock-token": `<${token}>` } }),
        409,
      );
    }
    await expectDavError(await dav("PUT", s, "/u", { body: "y" }), 423);
    expect(
      (await dav("UNLOCK", s, "/u", { headers: { "lock-token": `<${l.token}>` } })).status,
    ).toBe(204);
    expect((await dav("PUT", s, "/u", { body: "y" })).status).toBe(204);
    const [r] = await multistatus(await propfind(s, "/u", "0", propfindOf("<D:lockdiscovery/>")));
    expect(elements(r?.props.get("{DAV:}lockdiscovery")?.el as El)).toEqual([]);
  });

  it("interop: native leases block WebDAV writes, WebDAV locks block native writes", async () => {
    const s = await newShare();
    await put(s, "/n", "x");
    await put(s, "/w", "x");
    const leaseRes = await api("POST", `/v1/shares/${s}/leases`, {
      body: JSON.stringify({ path: "/n", ttlSeconds: 60, owner: "job <17>" }),
    });
    expect(leaseRes.status).toBe(201);
    const lease = await json<{ leaseId: string }>(leaseRes);
    await expectDavError(await dav("PUT", s, "/n", { body: "y" }), 423);
    await expectDavError(await dav("LOCK", s, "/n", { body: LOCKINFO("exclusive") }), 423);
    // The lease id, written as a lock token, is usable in an If header.
    const h = lease.leaseId;
    const token = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    expect((await dav("PUT", s, "/n", { body: "y", headers: ifToken(token) })).status).toBe(204);
    // lockdiscovery shows a native lease too, its free-text owner escaped.
    const [r] = await multistatus(await propfind(s, "/n", "0", propfindOf("<D:lockdiscovery/>")));
    const [active] = elements(r?.props.get("{DAV:}lockdiscovery")?.el as El);
    expect(textOf(child(active as El, "{DAV:}owner"))).toBe("job <17>");

    const l = await lock(s, "/w");
    const nativePut = (headers?: Record<string, string>) => put(s, "/w", "native", headers);
    const refused = await nativePut();
    expect(refused.status).toBe(423);
    expect((await nativePut({ "edgefs-lease": leaseIdOfToken(l.token) })).status).toBe(200);
    expect(await (await dav("GET", s, "/w")).text()).toBe("native");
  });

  it("DELETE destroys the locks rooted at the deleted resource (RFC 4918 §9.6)", async () => {
    const s = await newShare();
    await put(s, "/del", "x");
    const l = await lock(s, "/del");
    expect((await dav("DELETE", s, "/del", { headers: ifToken(l.token) })).status).toBe(204);
    // The URL is free again: a new resource there needs no token.
    expect((await dav("PUT", s, "/del", { body: "new" })).status).toBe(201);
    const [r] = await multistatus(await propfind(s, "/del", "0", propfindOf("<D:lockdiscovery/>")));
    expect(elements(r?.props.get("{DAV:}lockdiscovery")?.el as El)).toEqual([]);
  });

  it("MOVE leaves the lock behind and destroys it with the source (RFC 4918 §7.7, §9.9)", async () => {
    const s = await newShare();
    await put(s, "/mv", "x");
    const l = await lock(s, "/mv");
    const moved = await dav("MOVE", s, "/mv", {
      headers: { ...ifToken(l.token), destination: href(s, "/mv2") },
    });
    expect(moved.status).toBe(201);
    // The moved resource is not locked…
    expect((await dav("PUT", s, "/mv2", { body: "y" })).status).toBe(204);
    // …and the source URL, now unmapped, is not locked either.
    expect((await dav("PUT", s, "/mv", { body: "new" })).status).toBe(201);
  });

  it("a MOVE refused for a lock on its source deletes nothing at the destination", async () => {
    const s = await newShare();
    await put(s, "/src", "source");
    await put(s, "/srcdir/f", "in srcdir");
    await put(s, "/dcol/keep", "keep");
    await put(s, "/dfile", "keep too");
    await lock(s, "/src");
    await lock(s, "/srcdir/");
    // Overwrite: T onto a collection (or a collection onto a file) replaces the destination as a whole.
    await expectDavError(
      await dav("MOVE", s, "/src", { headers: { destination: href(s, "/dcol/"), overwrite: "T" } }),
      423,
    );
    await expectDavError(
      await dav("MOVE", s, "/srcdir/", {
        headers: { destination: href(s, "/dfile"), overwrite: "T" },
      }),
      423,
    );
    expect.soft(await (await dav("GET", s, "/dcol/keep")).text()).toBe("keep");
    expect.soft(await (await dav("GET", s, "/dfile")).text()).toBe("keep too");
    expect(await (await dav("GET", s, "/src")).text()).toBe("source");
  });

  it("a 423 names the locked resource in lock-token-submitted", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    await lock(s, "/f");
    const body = await expectDavError(await dav("PUT", s, "/f", { body: "y" }), 423);
    const error = parseXml(body);
    const submitted = child(error, "{DAV:}lock-token-submitted");
    expect(submitted).toBeDefined();
    // RFC 4918 §16: <!ELEMENT lock-token-submitted (href+)>
    expect(textOf(child(submitted as El, "{DAV:}href"))).toBe(href(s, "/f"));
  });
});
