import { describe, expect, it } from "vitest";
import {
  child,
  dav,
  deadProp,
  type El,
  elements,
  expectDavError,
  href,
  key,
  multistatus,
  nativeEtag,
  ORIGIN,
  PROPFIND_ALL,
  propfind,
  propfindOf,
  proppatch,
  propText,
  removeProps,
  setProps,
  textOf,
} from "./dav-helpers";
import { api, newShare, put } from "./helpers";

/**
 * The WebDAV front-end (RFC 4918) as a client sees it: PROPFIND and
 * PROPPATCH, multistatus bodies parsed as namespace-aware XML. Locks are in
 * dav-locks.test.ts, error mapping, XML safety and auth in dav-errors.test.ts.
 */

describe("WebDAV PROPFIND", () => {
  it("Depth 1 on a collection lists it and its members with encoded hrefs", async () => {
    const s = await newShare();
    await put(s, "/dir/a.txt", "hello");
    await put(s, "/dir/ü b.txt", "xy");
    await api("PUT", `/v1/shares/${s}/files/dir/sub/`);
    const responses = await multistatus(await propfind(s, "/dir", "1"));
    expect(responses.map((r) => r.href).sort()).toEqual(
      [
        href(s, "/dir/"),
        href(s, "/dir/a.txt"),
        href(s, "/dir/%C3%BC%20b.txt"),
        href(s, "/dir/sub/"),
      ].sort(),
    );
    const by = new Map(responses.map((r) => [r.href, r]));
    const self = by.get(href(s, "/dir/"));
    const sub = by.get(href(s, "/dir/sub/"));
    const a = by.get(href(s, "/dir/a.txt"));
    const u = by.get(href(s, "/dir/%C3%BC%20b.txt"));
    for (const c of [self, sub]) {
      expect(child(c?.props.get("{DAV:}resourcetype")?.el as El, "{DAV:}collection")).toBeDefined();
      expect(c?.props.has("{DAV:}getcontentlength")).toBe(false);
    }
    expect(elements(a?.props.get("{DAV:}resourcetype")?.el as El)).toEqual([]);
    expect(propText(a, "{DAV:}getcontentlength")).toBe("5");
    expect(propText(u, "{DAV:}getcontentlength")).toBe("2");
    expect(propText(u, "{DAV:}displayname")).toBe("ü b.txt");
    expect(propText(a, "{DAV:}getetag")).toBe(await nativeEtag(s, "/dir/a.txt"));
    expect(propText(u, "{DAV:}getetag")).toBe(await nativeEtag(s, "/dir/ü b.txt"));
    const lastModified = (await api("HEAD", `/v1/shares/${s}/files/dir/a.txt`)).headers.get(
      "last-modified",
    );
    expect(propText(a, "{DAV:}getlastmodified")).toBe(lastModified);

    // The encoded href works as a request URL.
    const single = await multistatus(await propfind(s, "/dir/%C3%BC%20b.txt", "1"));
    expect(single.map((r) => r.href)).toEqual([href(s, "/dir/%C3%BC%20b.txt")]);
    const got = await dav("GET", s, "/dir/%C3%BC%20b.txt");
    expect(await got.text()).toBe("xy");
  });

  it("Depth 0 answers for the resource alone, collection or file", async () => {
    const s = await newShare();
    await put(s, "/d/f.bin", "12345678");
    const dir = await multistatus(await propfind(s, "/d/", "0"));
    expect(dir.map((r) => r.href)).toEqual([href(s, "/d/")]);
    const file = await multistatus(await propfind(s, "/d/f.bin", "0"));
    expect(file.map((r) => r.href)).toEqual([href(s, "/d/f.bin")]);
    expect(propText(file[0], "{DAV:}getcontentlength")).toBe("8");
    const root = await multistatus(await propfind(s, "/", "1"));
    expect(root.map((r) => r.href).sort()).toEqual([href(s, "/"), href(s, "/d/")]);
  });

  it("an empty body is allprop; allprop includes dead properties; propname gives names only", async () => {
    const s = await newShare();
    await put(s, "/f", "abc");
    expect((await proppatch(s, "/f", setProps("<X:color>red</X:color>"))).status).toBe(207);
    for (const body of [null, PROPFIND_ALL]) {
      const [r] = await multistatus(await propfind(s, "/f", "0", body));
      for (const k of [
        "{DAV:}resourcetype",
        "{DAV:}getcontentlength",
        "{DAV:}getetag",
        "{DAV:}getlastmodified",
        "{DAV:}displayname",
        "{DAV:}supportedlock",
      ]) {
        expect(r?.props.get(k)?.status, k).toBe(200);
      }
      expect(propText(r, "{urn:x}color")).toBe("red");
    }
    const [names] = await multistatus(
      await propfind(s, "/f", "0", '<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>'),
    );
    expect(names?.props.get("{DAV:}getcontentlength")?.status).toBe(200);
    expect(names?.props.get("{urn:x}color")?.status).toBe(200);
    for (const [k, { el }] of names?.props ?? []) expect(el.children, k).toEqual([]);
  });

  it("prop: known properties in a 200 propstat, unknown ones in a 404 propstat", async () => {
    const s = await newShare();
    await put(s, "/f", "abc");
    const [r] = await multistatus(
      await propfind(
        s,
        "/f",
        "0",
        propfindOf("<D:getcontentlength/>", "<X:nope/>", "<D:getcontentlanguage/>", "<D:getetag/>"),
      ),
    );
    expect(r?.props.get("{DAV:}getcontentlength")).toMatchObject({ status: 200 });
    expect(r?.props.get("{DAV:}getetag")).toMatchObject({ status: 200 });
    expect(r?.props.get("{urn:x}nope")).toMatchObject({ status: 404 });
    expect(r?.props.get("{DAV:}getcontentlanguage")).toMatchObject({ status: 404 });
    expect(r?.props.size).toBe(4);
  });

  it("Depth infinity is refused with propfind-finite-depth; a missing resource is 404", async () => {
    const s = await newShare();
    const body = await expectDavError(await propfind(s, "/", "infinity"), 403);
    expect(body).toContain("propfind-finite-depth");
    await expectDavError(await propfind(s, "/nothing-here", "0"), 404);
    await expectDavError(await propfind(s, "/nothing/deeper/", "1"), 404);
  });

  it("a collection of more than one page lists every member exactly once", async () => {
    const s = await newShare();
    const count = 1030;
    const names = Array.from({ length: count }, (_, i) => `n${String(i).padStart(4, "0")}`);
    for (let i = 0; i < count; i += 200) {
      const batch = names.slice(i, i + 200);
      const statuses = await Promise.all(
        batch.map((n, j) =>
          (j % 2 === 0
            ? put(s, `/big/${n}`, "x")
            : api("PUT", `/v1/shares/${s}/files/big/${n}/`)
          ).then((r) => r.status),
        ),
      );
      expect(statuses.every((st) => st === 201)).toBe(true);
    }
    const responses = await multistatus(
      await propfind(s, "/big/", "1", propfindOf("<D:resourcetype/>", "<X:none/>")),
    );
    const hrefs = responses.map((r) => r.href);
    expect(hrefs.length).toBe(count + 1);
    expect(new Set(hrefs).size).toBe(count + 1);
    const expected = names.map((n, j) => href(s, `/big/${n}${j % 2 === 0 ? "" : "/"}`));
    expect(new Set(hrefs)).toEqual(new Set([href(s, "/big/"), ...expected]));
  }, 30_000);
});

describe("WebDAV PROPPATCH", () => {
  it("applies set and remove in document order", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const res = await proppatch(
      s,
      "/f",
      setProps("<X:a>1</X:a><X:b>1</X:b>") +
        removeProps("<X:a/>") +
        removeProps("<X:c/>") +
        setProps("<X:c>3</X:c><X:b>2</X:b>"),
    );
    const [r] = await multistatus(res);
    expect(r?.href).toBe(href(s, "/f"));
    for (const k of ["{urn:x}a", "{urn:x}b", "{urn:x}c"]) expect(r?.props.get(k)?.status).toBe(200);
    expect(await deadProp(s, "/f", "a")).toBeUndefined();
    expect(await deadProp(s, "/f", "b")).toBe("2");
    expect(await deadProp(s, "/f", "c")).toBe("3");
    // Removing what does not exist is no error.
    await multistatus(await proppatch(s, "/f", removeProps("<X:zzz/>")));
  });

  it("round-trips values with nested elements, attributes and namespaces", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const value =
      '<X:name lang="en">Jürgen &amp; &lt;Co&gt;</X:name><y:n xmlns:y="urn:y" y:kind="k">1</y:n><plain>p</plain>';
    const res = await dav("PROPPATCH", s, "/f", {
      body: `<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x" xmlns="urn:default"><D:set><D:prop><X:author>${value}</X:author></D:prop></D:set></D:propertyupdate>`,
    });
    await multistatus(res);
    for (const body of [propfindOf("<X:author/>"), PROPFIND_ALL]) {
      const [r] = await multistatus(await propfind(s, "/f", "0", body));
      const author = r?.props.get("{urn:x}author");
      expect(author?.status).toBe(200);
      const [name, n, plain] = elements(author?.el as El);
      expect(name && key(name)).toBe("{urn:x}name");
      expect(name?.attrs).toEqual({ "{}lang": "en" });
      expect(textOf(name)).toBe("Jürgen & <Co>");
      expect(n && key(n)).toBe("{urn:y}n");
      expect(n?.attrs).toEqual({ "{urn:y}kind": "k" });
      expect(textOf(n)).toBe("1");
      // An unprefixed element keeps the default namespace in scope where it was sent.
      expect(plain && key(plain)).toBe("{urn:default}plain");
      expect(textOf(plain)).toBe("p");
    }
  });

  it("answers RFC 4331 quota properties from the share's usage and quota, only when named", async () => {
    const s = await newShare();
    await put(s, "/dir/a", "12345");
    await put(s, "/b", "123");
    const quota = propfindOf("<D:quota-used-bytes/>", "<D:quota-available-bytes/>");
    const [unlimited] = await multistatus(await propfind(s, "/dir", "0", quota));
    expect(propText(unlimited, "{DAV:}quota-used-bytes")).toBe("8");
    // No quota: nothing bounds the space left, so the property is absent (404).
    expect(unlimited?.props.get("{DAV:}quota-available-bytes")?.status).toBe(404);
    await api("PUT", `/v1/shares/${s}/quota`, { body: JSON.stringify({ bytes: 100 }) });
    const all = await multistatus(await propfind(s, "/", "1", quota));
    expect(all.length).toBe(3);
    for (const r of all) {
      expect(propText(r, "{DAV:}quota-used-bytes")).toBe("8");
      expect(propText(r, "{DAV:}quota-available-bytes")).toBe("92");
    }
    const [everything] = await multistatus(await propfind(s, "/", "0", PROPFIND_ALL));
    expect(everything?.props.has("{DAV:}quota-used-bytes")).toBe(false);
    // Live, so PROPPATCH may not set them.
    const refused = await multistatus(
      await proppatch(s, "/", setProps("<D:quota-used-bytes>1</D:quota-used-bytes>")),
    );
    expect(refused[0]?.props.get("{DAV:}quota-used-bytes")?.status).toBe(403);
  });

  it("keeps xml:lang on the property element (RFC 4918 §4.3)", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    await multistatus(await proppatch(s, "/f", setProps('<X:title xml:lang="de">Titel</X:title>')));
    const [r] = await multistatus(await propfind(s, "/f", "0", propfindOf("<X:title/>")));
    const title = r?.props.get("{urn:x}title")?.el;
    expect(textOf(title)).toBe("Titel");
    expect(title?.attrs["{http://www.w3.org/XML/1998/namespace}lang"]).toBe("de");
  });

  it("stores a property in the empty namespace", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    const res = await dav("PROPPATCH", s, "/f", {
      body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><plain xmlns="">v</plain></D:prop></D:set></D:propertyupdate>',
    });
    const [patched] = await multistatus(res);
    expect(patched?.props.get("{}plain")?.status).toBe(200);
    const [r] = await multistatus(
      await propfind(
        s,
        "/f",
        "0",
        '<D:propfind xmlns:D="DAV:"><D:prop><plain xmlns=""/></D:prop></D:propfind>',
      ),
    );
    expect(propText(r, "{}plain")).toBe("v");
    const [all] = await multistatus(await propfind(s, "/f", "0"));
    expect(propText(all, "{}plain")).toBe("v");
  });

  it("a protected live property fails the whole request: 403 for it, 424 for the rest", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    await multistatus(await proppatch(s, "/f", setProps("<X:keep>old</X:keep>")));
    const [r] = await multistatus(
      await proppatch(
        s,
        "/f",
        setProps('<X:new>n</X:new><D:getetag>"forged"</D:getetag>') + removeProps("<X:keep/>"),
      ),
    );
    expect(r?.props.get("{DAV:}getetag")?.status).toBe(403);
    expect(r?.props.get("{urn:x}new")?.status).toBe(424);
    expect(r?.props.get("{urn:x}keep")?.status).toBe(424);
    expect(await deadProp(s, "/f", "new")).toBeUndefined();
    expect(await deadProp(s, "/f", "keep")).toBe("old");
    const [after] = await multistatus(await propfind(s, "/f", "0", propfindOf("<D:getetag/>")));
    expect(propText(after, "{DAV:}getetag")).toBe(await nativeEtag(s, "/f"));
  });

  it("properties follow WebDAV MOVE and COPY, of files and of collections", async () => {
    const s = await newShare();
    await put(s, "/a", "x");
    await put(s, "/col/m", "m");
    await multistatus(await proppatch(s, "/a", setProps("<X:p>A</X:p>")));
    await multistatus(await proppatch(s, "/col/", setProps("<X:p>C</X:p>")));
    await multistatus(await proppatch(s, "/col/m", setProps("<X:p>M</X:p>")));
    const dest = (p: string) => ({ headers: { destination: `${ORIGIN}${href(s, p)}` } });

    expect((await dav("COPY", s, "/a", dest("/a-copy"))).status).toBe(201);
    expect(await deadProp(s, "/a", "p")).toBe("A");
    expect(await deadProp(s, "/a-copy", "p")).toBe("A");
    expect((await dav("MOVE", s, "/a", dest("/a-moved"))).status).toBe(201);
    expect(await deadProp(s, "/a-moved", "p")).toBe("A");
    await expectDavError(await propfind(s, "/a", "0"), 404);

    expect((await dav("COPY", s, "/col/", dest("/col2/"))).status).toBe(201);
    expect(await deadProp(s, "/col2/", "p")).toBe("C");
    expect(await deadProp(s, "/col2/m", "p")).toBe("M");
    expect((await dav("MOVE", s, "/col/", dest("/col3/"))).status).toBe(201);
    expect(await deadProp(s, "/col3/", "p")).toBe("C");
    expect(await deadProp(s, "/col3/m", "p")).toBe("M");

    // A copy is independent of its source.
    await multistatus(await proppatch(s, "/a-copy", setProps("<X:p>changed</X:p>")));
    expect(await deadProp(s, "/a-moved", "p")).toBe("A");
  });

  it("properties follow native move and copy", async () => {
    const s = await newShare();
    await put(s, "/n/f", "x");
    await multistatus(await proppatch(s, "/n/f", setProps("<X:p>F</X:p>")));
    await multistatus(await proppatch(s, "/n/", setProps("<X:p>N</X:p>")));
    const native = (op: string, body: Record<string, unknown>) =>
      api("POST", `/v1/shares/${s}/${op}`, { body: JSON.stringify(body) });
    const ok = async (res: Promise<Response>) => expect([200, 201]).toContain((await res).status);
    await ok(native("copy", { from: "/n/f", to: "/n/g" }));
    expect(await deadProp(s, "/n/g", "p")).toBe("F");
    await ok(native("move", { from: "/n/g", to: "/n/h" }));
    expect(await deadProp(s, "/n/h", "p")).toBe("F");
    await ok(native("copy", { from: "/n", to: "/n2", recursive: true }));
    expect(await deadProp(s, "/n2/", "p")).toBe("N");
    expect(await deadProp(s, "/n2/f", "p")).toBe("F");
    await ok(native("move", { from: "/n2", to: "/n3" }));
    expect(await deadProp(s, "/n3/", "p")).toBe("N");
    expect(await deadProp(s, "/n3/h", "p")).toBe("F");
  });

  it("properties are gone after DELETE, including the members', and do not come back on recreate", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    await put(s, "/c/m", "m");
    await multistatus(await proppatch(s, "/f", setProps("<X:p>1</X:p>")));
    await multistatus(await proppatch(s, "/c/m", setProps("<X:p>2</X:p>")));
    expect((await dav("DELETE", s, "/f")).status).toBe(204);
    expect((await dav("DELETE", s, "/c/")).status).toBe(204);
    expect((await dav("PUT", s, "/f", { body: "again" })).status).toBe(201);
    expect((await dav("MKCOL", s, "/c/")).status).toBe(201);
    expect((await dav("PUT", s, "/c/m", { body: "again" })).status).toBe(201);
    expect(await deadProp(s, "/f", "p")).toBeUndefined();
    expect(await deadProp(s, "/c/m", "p")).toBeUndefined();
    // Also after a native delete.
    await multistatus(await proppatch(s, "/f", setProps("<X:p>3</X:p>")));
    expect((await api("DELETE", `/v1/shares/${s}/files/f`)).status).toBe(204);
    await put(s, "/f", "native");
    expect(await deadProp(s, "/f", "p")).toBeUndefined();
  });

  it("PROPPATCH on a missing resource is 404", async () => {
    const s = await newShare();
    await expectDavError(await proppatch(s, "/missing", setProps("<X:p>1</X:p>")), 404);
  });
});
