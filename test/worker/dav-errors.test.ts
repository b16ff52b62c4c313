import { describe, expect, it } from "vitest";
import {
  basic,
  child,
  dav,
  deadProp,
  type El,
  expectDavError,
  href,
  LOCKINFO,
  multistatus,
  nativeEtag,
  ORIGIN,
  propfind,
  propfindOf,
  proppatch,
  proppatchBody,
  propText,
  setProps,
} from "./dav-helpers";
import { api, json, newShare, put, TOKEN } from "./helpers";

/**
 * WebDAV statuses a client acts on (RFC 4918 error mapping), XML safety of
 * request bodies, authentication and scopes, and OPTIONS.
 */

describe("WebDAV error mapping", () => {
  it("a share that does not exist is 404 for reads and writes alike", async () => {
    await expectDavError(await dav("PUT", "no-such-share", "/f.txt", { body: "x" }), 404);
    await expectDavError(await dav("MKCOL", "no-such-share", "/d/"), 404);
    await expectDavError(await propfind("no-such-share", "/", "0"), 404);
  });

  it("a file addressed as a collection (trailing slash) is 404", async () => {
    const s = await newShare();
    await put(s, "/f.txt", "x");
    await expectDavError(await dav("GET", s, "/f.txt/"), 404);
    await expectDavError(await propfind(s, "/f.txt/", "0"), 404);
    expect((await dav("GET", s, "/f.txt")).status).toBe(200);
  });

  it("MKCOL: 201 new, 405 existing, 409 missing parent, 415 with a body", async () => {
    const s = await newShare();
    expect((await dav("MKCOL", s, "/m/")).status).toBe(201);
    const [r] = await multistatus(await propfind(s, "/m/", "0"));
    expect(child(r?.props.get("{DAV:}resourcetype")?.el as El, "{DAV:}collection")).toBeDefined();
    await expectDavError(await dav("MKCOL", s, "/m/"), 405);
    await put(s, "/file", "x");
    await expectDavError(await dav("MKCOL", s, "/file"), 405);
    await expectDavError(await dav("MKCOL", s, "/no/parent/"), 409);
    await expectDavError(
      await dav("MKCOL", s, "/withbody/", {
        body: '<D:mkcol xmlns:D="DAV:"/>',
        headers: { "content-type": "application/xml" },
      }),
      415,
    );
    await expectDavError(await propfind(s, "/withbody/", "0"), 404);
  });

  it("PUT: 201 new, 204 replaced, 409 missing parent, 405 onto a collection", async () => {
    const s = await newShare();
    const created = await dav("PUT", s, "/f.txt", { body: "one" });
    expect(created.status).toBe(201);
    expect(created.headers.get("etag")).toBe(await nativeEtag(s, "/f.txt"));
    expect((await dav("PUT", s, "/f.txt", { body: "two" })).status).toBe(204);
    expect(await (await dav("GET", s, "/f.txt")).text()).toBe("two");
    await expectDavError(await dav("PUT", s, "/missing/f.txt", { body: "x" }), 409);
    await expectDavError(await propfind(s, "/missing/", "0"), 404);
    expect((await dav("MKCOL", s, "/col/")).status).toBe(201);
    await expectDavError(await dav("PUT", s, "/col", { body: "x" }), 405);
    await expectDavError(await dav("PUT", s, "/col/", { body: "x" }), 405);
  });

  it("COPY/MOVE: Overwrite F onto an existing resource is 412 and changes nothing", async () => {
    const s = await newShare();
    await put(s, "/src", "source");
    await put(s, "/dst", "destination");
    for (const method of ["COPY", "MOVE"]) {
      await expectDavError(
        await dav(method, s, "/src", {
          headers: { destination: `${ORIGIN}${href(s, "/dst")}`, overwrite: "F" },
        }),
        412,
      );
      expect(await (await dav("GET", s, "/dst")).text()).toBe("destination");
      expect(await (await dav("GET", s, "/src")).text()).toBe("source");
    }
  });

  it("COPY/MOVE: 204 when replacing with Overwrite T, 201 for a new destination", async () => {
    const s = await newShare();
    await put(s, "/src", "source");
    await put(s, "/dst", "destination");
    await put(s, "/dcol/member", "m");
    const to = (p: string, overwrite?: string) => ({
      headers: { destination: href(s, p), ...(overwrite ? { overwrite } : {}) },
    });
    expect((await dav("COPY", s, "/src", to("/dst", "T"))).status).toBe(204);
    expect(await (await dav("GET", s, "/dst")).text()).toBe("source");
    expect((await dav("COPY", s, "/src", to("/new copy"))).status).toBe(201);
    expect(await (await dav("GET", s, "/new%20copy")).text()).toBe("source");
    // Overwrite defaults to T; a collection destination is replaced as a whole.
    expect((await dav("MOVE", s, "/src", to("/dcol/"))).status).toBe(204);
    expect(await (await dav("GET", s, "/dcol")).text()).toBe("source");
    await expectDavError(await dav("GET", s, "/src"), 404);
    expect((await dav("MOVE", s, "/dcol", to("/%C3%A9t%C3%A9"))).status).toBe(201);
    expect(await (await dav("GET", s, "/%C3%A9t%C3%A9")).text()).toBe("source");
  });

  it("COPY/MOVE: 400 without Destination, 502 to another share, 409 missing parent, 403 into itself", async () => {
    const s = await newShare();
    const other = await newShare();
    await put(s, "/f", "x");
    await put(s, "/c/m", "m");
    await expectDavError(await dav("COPY", s, "/f"), 400);
    await expectDavError(await dav("MOVE", s, "/f"), 400);
    for (const destination of [`${ORIGIN}${href(other, "/f")}`, "/dav/staging/x/f", "/v1/x"]) {
      await expectDavError(await dav("COPY", s, "/f", { headers: { destination } }), 502);
    }
    await expectDavError(
      await dav("MOVE", s, "/f", { headers: { destination: href(s, "/no/f") } }),
      409,
    );
    await expectDavError(
      await dav("MOVE", s, "/c/", { headers: { destination: href(s, "/c/sub/") } }),
      403,
    );
    await expectDavError(
      await dav("COPY", s, "/c/", { headers: { destination: href(s, "/c/sub/") } }),
      403,
    );
    await expectDavError(
      await dav("MOVE", s, "/f", { headers: { destination: href(s, "/f") } }),
      403,
    );
    await expectDavError(
      await dav("COPY", s, "/missing", { headers: { destination: href(s, "/g") } }),
      404,
    );
    expect(await (await dav("GET", s, "/c/m")).text()).toBe("m");
    await expectDavError(await propfind(other, "/f", "0"), 404);
  });

  it("COPY Depth 0 of a collection copies the collection and its properties, not its members", async () => {
    const s = await newShare();
    await put(s, "/c/m", "m");
    await put(s, "/c/sub/deep", "d");
    await multistatus(await proppatch(s, "/c/", setProps("<X:p>C</X:p>")));
    const res = await dav("COPY", s, "/c/", {
      headers: { destination: href(s, "/c0/"), depth: "0" },
    });
    expect(res.status).toBe(201);
    const listed = await multistatus(await propfind(s, "/c0/", "1"));
    expect(listed.map((r) => r.href)).toEqual([href(s, "/c0/")]);
    expect(await deadProp(s, "/c0/", "p")).toBe("C");
    const full = await dav("COPY", s, "/c/", { headers: { destination: href(s, "/c1/") } });
    expect(full.status).toBe(201);
    expect(await (await dav("GET", s, "/c1/sub/deep")).text()).toBe("d");
    await expectDavError(
      await dav("MOVE", s, "/c/", { headers: { destination: href(s, "/c2/"), depth: "0" } }),
      400,
    );
  });

  it("DELETE removes a whole collection; a missing resource is 404", async () => {
    const s = await newShare();
    await put(s, "/c/a/b", "x");
    expect((await dav("DELETE", s, "/c/")).status).toBe(204);
    await expectDavError(await propfind(s, "/c/", "0"), 404);
    await expectDavError(await dav("DELETE", s, "/c/"), 404);
  });

  it("an unknown method is 405 with Allow", async () => {
    const s = await newShare();
    for (const method of ["POST", "PATCH", "SEARCH"]) {
      const res = await dav(method, s, "/");
      const allow = res.headers.get("allow");
      await expectDavError(res, 405);
      expect(allow).toContain("PROPFIND");
      expect(allow).toContain("LOCK");
    }
  });

  it("names with reserved characters get hrefs that address them again", async () => {
    const s = await newShare();
    expect((await dav("MKCOL", s, "/x%20y%23/")).status).toBe(201);
    const names = ["a&b#c%d?e;f.txt", "plus+quote'.txt", "日本語 ファイル.txt", "<tag>"];
    for (const n of names) {
      expect((await dav("PUT", s, `/x%20y%23/${encodeURIComponent(n)}`, { body: n })).status).toBe(
        201,
      );
    }
    const responses = await multistatus(
      await propfind(s, "/x%20y%23/", "1", propfindOf("<D:displayname/>")),
    );
    const byName = new Map(responses.map((r) => [propText(r, "{DAV:}displayname"), r.href]));
    expect(byName.get("x y#")).toBe(href(s, "/x%20y%23/"));
    for (const n of names) {
      const h = byName.get(n) as string;
      expect(h, n).toBe(href(s, `/x%20y%23/${encodeURIComponent(n)}`));
      // The href, as a client would send it back, names the same resource.
      const got = await api("GET", h, { token: null, headers: { authorization: basic(TOKEN) } });
      expect(await got.text()).toBe(n);
    }
  });

  it("GET of a collection is an HTML index of its members", async () => {
    const s = await newShare();
    await put(s, "/d/ü b.txt", "x");
    const res = await dav("GET", s, "/d/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain(`href="${href(s, "/d/%C3%BC%20b.txt")}"`);
    // Without the trailing slash too (a file read that finds a directory falls back).
    const bare = await dav("GET", s, "/d");
    expect(bare.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await bare.text()).toContain(`href="${href(s, "/d/%C3%BC%20b.txt")}"`);
    await expectDavError(await dav("GET", s, "/d/missing"), 404);
  });
});

describe("WebDAV review regressions", () => {
  it("COPY or MOVE onto an ancestor of the source is 403 and deletes nothing", async () => {
    const s = await newShare();
    await put(s, "/a/keep.txt", "keep");
    await put(s, "/a/b/inner.txt", "inner");
    for (const [method, depth] of [
      ["COPY", "0"],
      ["COPY", "infinity"],
      ["MOVE", "infinity"],
    ] as const) {
      const res = await dav(method, s, "/a/b/", {
        headers: { destination: `${ORIGIN}${href(s, "/a/")}`, depth },
      });
      await expectDavError(res, 403);
    }
    expect(await (await dav("GET", s, "/a/keep.txt")).text()).toBe("keep");
    expect(await (await dav("GET", s, "/a/b/inner.txt")).text()).toBe("inner");
  });

  it("XML nested thousands deep is 400, not a crash", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const deep = `${"<a>".repeat(5000)}${"</a>".repeat(5000)}`;
    const lock = `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${deep}</D:owner></D:lockinfo>`;
    await expectDavError(await dav("LOCK", s, "/f", { body: lock }), 400);
    await expectDavError(await proppatch(s, "/f", setProps(`<X:v>${deep}</X:v>`)), 400);
    // 60 levels inside a property value are fine, and round-trip.
    const ok = `${"<a>".repeat(55)}z${"</a>".repeat(55)}`;
    expect((await proppatch(s, "/f", setProps(`<X:v>${ok}</X:v>`))).status).toBe(207);
    expect(await deadProp(s, "/f", "v")).toBe("z");
  });

  it("an If header of more than 32 lists is 400; a malformed one does not stop a GET", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const many = Array.from({ length: 40 }, (_, i) => `<${href(s, `/r${i}`)}> (["x"])`).join(" ");
    await expectDavError(await dav("PUT", s, "/f", { body: "y", headers: { if: many } }), 400);
    const got = await dav("GET", s, "/f", { headers: { if: "(((" } });
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("x");
  });

  it("a name XML cannot carry still lists: PROPFIND stays well-formed, with U+FFFD shown", async () => {
    const s = await newShare();
    await put(s, "/odd/a\uFFFEb", "x");
    const responses = await multistatus(await propfind(s, "/odd/", "1"));
    expect(responses.map((r) => propText(r, "{DAV:}displayname"))).toContain("a\uFFFDb");
    expect(responses.map((r) => r.href)).toContain(href(s, "/odd/a%EF%BF%BEb"));
  });

  it("DELETE of a file addressed as a collection is 404 and leaves it", async () => {
    const s = await newShare();
    await put(s, "/f.txt", "x");
    await expectDavError(await dav("DELETE", s, "/f.txt/"), 404);
    expect((await dav("GET", s, "/f.txt")).status).toBe(200);
  });
});

describe("WebDAV XML safety", () => {
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>`;

  it("a DOCTYPE declaring entities is 400, in every method that takes XML", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    await expectDavError(
      await propfind(
        s,
        "/f",
        "0",
        `${laughs}<D:propfind xmlns:D="DAV:"><D:prop><D:x>&lol9;</D:x></D:prop></D:propfind>`,
      ),
      400,
    );
    await expectDavError(
      await dav("PROPPATCH", s, "/f", {
        body: `${laughs}<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><p xmlns="urn:x">&lol9;</p></D:prop></D:set></D:propertyupdate>`,
      }),
      400,
    );
    await expectDavError(
      await dav("LOCK", s, "/f", {
        body: `${laughs}<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>&lol9;</D:owner></D:lockinfo>`,
      }),
      400,
    );
    // An external entity is refused the same way.
    await expectDavError(
      await propfind(
        s,
        "/f",
        "0",
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:x>&xxe;</D:x></D:prop></D:propfind>',
      ),
      400,
    );
    // Nothing was locked or changed.
    expect((await dav("PUT", s, "/f", { body: "y" })).status).toBe(204);
    expect(await deadProp(s, "/f", "p")).toBeUndefined();
  });

  it("malformed XML, an unbound prefix and a wrong root element are 400", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    for (const body of [
      '<D:propfind xmlns:D="DAV:"><D:prop>',
      "<D:propfind><D:allprop/></D:propfind>",
      '<D:propfind xmlns:D="DAV:"><D:prop><Z:x/></D:prop></D:propfind>',
      "not xml at all",
      '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind><second/>',
      '<D:other xmlns:D="DAV:"/>',
    ]) {
      await expectDavError(await propfind(s, "/f", "0", body), 400);
    }
    await expectDavError(
      await dav("PROPPATCH", s, "/f", { body: '<D:propertyupdate xmlns:D="DAV:"><D:set>' }),
      400,
    );
    await expectDavError(await dav("PROPPATCH", s, "/f", { body: "" }), 400);
    await expectDavError(
      await dav("LOCK", s, "/f", { body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope>' }),
      400,
    );
  });

  it("an XML body over 1 MiB is 400", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const padding = `<!-- ${"x".repeat(1024 * 1024)} -->`;
    await expectDavError(
      await propfind(
        s,
        "/f",
        "0",
        `<D:propfind xmlns:D="DAV:"><D:allprop/>${padding}</D:propfind>`,
      ),
      400,
    );
    await expectDavError(
      await proppatch(s, "/f", setProps(`<X:big>${"y".repeat(1024 * 1024 + 1)}</X:big>`)),
      400,
    );
    expect(await deadProp(s, "/f", "big")).toBeUndefined();
  });
});

describe("WebDAV authentication and scopes", () => {
  async function mint(body: Record<string, unknown>): Promise<string> {
    const res = await api("POST", "/v1/tokens", { body: JSON.stringify(body) });
    expect(res.status).toBe(201);
    return (await json<{ token: string }>(res)).token;
  }

  it("without credentials or with a wrong password: 401 with a Basic challenge", async () => {
    const s = await newShare();
    for (const auth of [null, basic("wrong-password"), basic(""), "Bearer wrong-token"]) {
      const res = await dav("PROPFIND", s, "/", { auth, headers: { depth: "0" } });
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="edgefs"/);
    }
  });

  it("a 401 without credentials has an XML DAV:error body like every other error", async () => {
    const s = await newShare();
    await expectDavError(
      await dav("PROPFIND", s, "/", { auth: null, headers: { depth: "0" } }),
      401,
    );
  });

  it("Basic with the root token (any user name) and Bearer both work", async () => {
    const s = await newShare();
    for (const auth of [
      basic(TOKEN),
      basic(TOKEN, ""),
      basic(TOKEN, "ann@example.com"),
      `Bearer ${TOKEN}`,
    ]) {
      const res = await dav("PROPFIND", s, "/", { auth, headers: { depth: "0" } });
      expect(res.status, auth).toBe(207);
      await res.body?.cancel();
    }
  });

  it("a read-only token reads but cannot write; another share's token gets 403", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const reader = await mint({ shares: [s], permissions: ["read"] });
    const elsewhere = await mint({ shares: ["some-other-share"], permissions: ["read", "write"] });
    for (const auth of [basic(reader), `Bearer ${reader}`]) {
      expect(
        (await multistatus(await dav("PROPFIND", s, "/", { auth, headers: { depth: "1" } })))
          .length,
      ).toBe(2);
      expect(await (await dav("GET", s, "/f", { auth })).text()).toBe("x");
      expect((await dav("OPTIONS", s, "/", { auth })).status).toBe(200);
      await expectDavError(await dav("PUT", s, "/f", { auth, body: "y" }), 403);
      await expectDavError(await dav("MKCOL", s, "/d/", { auth }), 403);
      await expectDavError(await dav("LOCK", s, "/f", { auth, body: LOCKINFO("exclusive") }), 403);
      await expectDavError(
        await dav("PROPPATCH", s, "/f", { auth, body: proppatchBody(setProps("<X:p>1</X:p>")) }),
        403,
      );
    }
    expect(await (await dav("GET", s, "/f")).text()).toBe("x");
    for (const auth of [basic(elsewhere), `Bearer ${elsewhere}`]) {
      await expectDavError(await dav("PROPFIND", s, "/", { auth, headers: { depth: "0" } }), 403);
      await expectDavError(await dav("PUT", s, "/g", { auth, body: "y" }), 403);
    }
  });
});

describe("WebDAV OPTIONS", () => {
  it("advertises classes 1 and 2, MS-Author-Via and the methods", async () => {
    const s = await newShare();
    for (const path of ["/", "/not-there"]) {
      const res = await dav("OPTIONS", s, path);
      expect(res.status).toBe(200);
      expect(
        res.headers
          .get("dav")
          ?.split(",")
          .map((c) => c.trim()),
      ).toEqual(["1", "2"]);
      expect(res.headers.get("ms-author-via")).toBe("DAV");
      const allow = (res.headers.get("allow") ?? "").split(",").map((m) => m.trim());
      for (const m of [
        "OPTIONS",
        "GET",
        "PUT",
        "DELETE",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
      ]) {
        expect(allow).toContain(m);
      }
    }
  });
});
