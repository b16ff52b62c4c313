import { describe, expect, it } from "vitest";
import {
  basic,
  child,
  dav,
  type El,
  expectDavError,
  LOCKINFO,
  lock,
  multistatus,
  ORIGIN,
  propfind,
  propfindOf,
  proppatch,
  propText,
  setProps,
} from "./dav-helpers";
import { api, bytesOf, getText, json, mountUnreachableBucket, newShare, put } from "./helpers";

/**
 * A snapshot (or a version) as a read-only WebDAV tree at
 * `/dav/{env}/{share}@{snapshot}/…` and `…/{share}@@{version}/…`
 * (docs/webdav.md "Snapshots").
 */

async function snapshot(share: string, name: string): Promise<number> {
  const res = await api("POST", `/v1/shares/${share}/snapshots`, {
    body: JSON.stringify({ name }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ version: number }>(res)).version;
}

/** A share with a small file, a big (R2) file and a directory, snapshotted as "before", then changed. */
async function changedAfterSnapshot() {
  const s = await newShare();
  const big = bytesOf(200_000, 7);
  await put(s, "/a.txt", "old a");
  await put(s, "/big.bin", big);
  await put(s, "/dir/b.txt", "old b");
  await put(s, "/gone.txt", "deleted later");
  const live = await multistatus(await propfind(s, "/", "1"));
  const liveDir = await multistatus(await propfind(s, "/dir", "1"));
  const version = await snapshot(s, "before");
  await put(s, "/a.txt", "new a, longer");
  await put(s, "/big.bin", bytesOf(1000, 8));
  await api("DELETE", `/v1/shares/${s}/files/gone.txt`);
  expect(
    (
      await api("POST", `/v1/shares/${s}/move`, {
        body: JSON.stringify({ from: "/dir", to: "/moved" }),
      })
    ).status,
  ).toBe(200);
  await put(s, "/new.txt", "created later");
  return { s, big, live, liveDir, version };
}

const PROPS = [
  "{DAV:}getetag",
  "{DAV:}getlastmodified",
  "{DAV:}getcontentlength",
  "{DAV:}displayname",
];

/** What a listing says of each member, hrefs relative to the tree's root. */
function summary(
  responses: Awaited<ReturnType<typeof multistatus>>,
  root: string,
): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    responses.map((r) => [
      r.href.slice(root.length),
      {
        collection:
          child(r.props.get("{DAV:}resourcetype")?.el as El, "{DAV:}collection") !== undefined,
        ...Object.fromEntries(PROPS.map((p) => [p, propText(r, p)])),
      },
    ]),
  );
}

describe("WebDAV snapshots: reads", () => {
  it("PROPFIND Depth 1 shows the tree as it was, with the live tree's ETags, dates and sizes", async () => {
    const { s, live, liveDir } = await changedAfterSnapshot();
    const root = `/dav/main/${s}`;
    const at = await multistatus(await propfind(`${s}@before`, "/", "1"));
    const expected = summary(live, root);
    // The root's display name is the snapshot URL's segment.
    expected["/"] = { ...expected["/"], "{DAV:}displayname": `${s}@before` };
    expect(summary(at, `${root}@before`)).toEqual(expected);
    expect(Object.keys(expected).sort()).toEqual(["/", "/a.txt", "/big.bin", "/dir/", "/gone.txt"]);
    const dir = await multistatus(await propfind(`${s}@before`, "/dir/", "1"));
    expect(summary(dir, `${root}@before`)).toEqual(summary(liveDir, root));
  });

  it("GET reads the old bytes, inline and R2-sized, with ranges and HEAD", async () => {
    const { s, big } = await changedAfterSnapshot();
    const a = await dav("GET", `${s}@before`, "/a.txt");
    expect(a.status).toBe(200);
    expect(await a.text()).toBe("old a");
    const bigRes = await dav("GET", `${s}@before`, "/big.bin");
    expect(new Uint8Array(await bigRes.arrayBuffer())).toEqual(big);
    expect(bigRes.headers.get("edgefs-version")).toMatch(/^\d+$/);
    const range = await dav("GET", `${s}@before`, "/big.bin", {
      headers: { range: "bytes=10-19" },
    });
    expect(range.status).toBe(206);
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(big.slice(10, 20));
    const head = await dav("HEAD", `${s}@before`, "/big.bin");
    expect(head.headers.get("content-length")).toBe(String(big.byteLength));
    expect(await (await dav("GET", `${s}@before`, "/gone.txt")).text()).toBe("deleted later");
    expect(await (await dav("GET", `${s}@before`, "/dir/b.txt")).text()).toBe("old b");
    // What came later is not there; the live share is untouched by reading.
    await expectDavError(await dav("GET", `${s}@before`, "/new.txt"), 404);
    await expectDavError(await dav("GET", `${s}@before`, "/moved/b.txt"), 404);
    expect(await getText(s, "/a.txt")).toBe("new a, longer");
    const index = await dav("GET", `${s}@before`, "/dir/");
    expect(await index.text()).toContain(`href="/dav/main/${s}@before/dir/b.txt"`);
  });

  it("a version number reads at @@N, the same tree as the snapshot that named it", async () => {
    const { s, version } = await changedAfterSnapshot();
    const byVersion = await multistatus(await propfind(`${s}@@${version}`, "/", "1"));
    const bySnapshot = await multistatus(await propfind(`${s}@before`, "/", "1"));
    const a = summary(byVersion, `/dav/main/${s}@@${version}`);
    const b = summary(bySnapshot, `/dav/main/${s}@before`);
    expect(propText(byVersion[0], "{DAV:}displayname")).toBe(`${s}@@${version}`);
    expect({ ...a, "/": { ...a["/"], "{DAV:}displayname": `${s}@before` } }).toEqual(b);
    expect(await (await dav("GET", `${s}@@${version}`, "/a.txt")).text()).toBe("old a");
  });

  it("shows no dead properties, locks or quota: they are not versioned", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    expect((await proppatch(s, "/f", setProps("<X:color>red</X:color>"))).status).toBe(207);
    await snapshot(s, "snap");
    const [live] = await multistatus(await propfind(s, "/f", "0", propfindOf("<X:color/>")));
    expect(propText(live, "{urn:x}color")).toBe("red");
    const [at] = await multistatus(
      await propfind(
        `${s}@snap`,
        "/f",
        "0",
        propfindOf("<X:color/>", "<D:quota-used-bytes/>", "<D:supportedlock/>"),
      ),
    );
    expect(at?.props.get("{urn:x}color")?.status).toBe(404);
    expect(at?.props.get("{DAV:}quota-used-bytes")?.status).toBe(404);
    expect(propText(at, "{DAV:}supportedlock") ?? "").toBe("");
    const [all] = await multistatus(await propfind(`${s}@snap`, "/f", "0"));
    expect(all?.props.has("{urn:x}color")).toBe(false);
  });

  it("PROPFIND Depth infinity is refused as on the live share", async () => {
    const s = await newShare();
    await snapshot(s, "snap");
    const res = await propfind(`${s}@snap`, "/", "infinity");
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("propfind-finite-depth");
  });

  it("OPTIONS lists the read methods and the live share's DAV classes", async () => {
    const s = await newShare();
    await snapshot(s, "snap");
    const live = await dav("OPTIONS", s, "/");
    const res = await dav("OPTIONS", `${s}@snap`, "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("dav")).toBe(live.headers.get("dav"));
    expect(res.headers.get("allow")).toBe("OPTIONS, GET, HEAD, PROPFIND, COPY");
    const unknown = await dav("PATCH", `${s}@snap`, "/");
    expect(unknown.status).toBe(405);
    expect(unknown.headers.get("allow")).toBe("OPTIONS, GET, HEAD, PROPFIND, COPY");
  });

  it("an unknown snapshot is 404, a version out of reach 410, a bad name 400", async () => {
    const s = await newShare();
    await expectDavError(await propfind(`${s}@nope`, "/", "0"), 404);
    await expectDavError(await dav("GET", `${s}@nope`, "/f"), 404);
    await expectDavError(await dav("OPTIONS", `${s}@nope`, "/"), 404);
    await expectDavError(await propfind(`${s}@@999999`, "/", "0"), 410);
    await expectDavError(await propfind(`${s}@@x1`, "/", "0"), 400);
    await expectDavError(await propfind(`${s}@.bad`, "/", "0"), 400);
  });

  it("under a bucket mount: 501, never the live bucket", async () => {
    const s = await newShare();
    await mountUnreachableBucket(s);
    await snapshot(s, "snap");
    const body = await expectDavError(await propfind(`${s}@snap`, "/bucket/", "1"), 501);
    expect(body).toContain("bucket mounts keep no versions");
    await expectDavError(await dav("GET", `${s}@snap`, "/bucket/key"), 501);
  });

  it("a read-scoped token of the share browses its snapshots; another share's token cannot", async () => {
    const s = await newShare();
    await put(s, "/f", "x");
    await snapshot(s, "snap");
    const mint = async (body: Record<string, unknown>) =>
      (
        await json<{ token: string }>(
          await api("POST", "/v1/tokens", { body: JSON.stringify(body) }),
        )
      ).token;
    const reader = await mint({ shares: [s], permissions: ["read"] });
    const other = await mint({ shares: ["other-share"], permissions: ["read", "write"] });
    const auth = basic(reader);
    expect(await (await dav("GET", `${s}@snap`, "/f", { auth })).text()).toBe("x");
    await expectDavError(await dav("GET", `${s}@snap`, "/f", { auth: basic(other) }), 403);
    // Restoring is a change of the live share: write permission.
    await expectDavError(
      await dav("COPY", `${s}@snap`, "/f", {
        auth,
        headers: { destination: `/dav/main/${s}/g` },
      }),
      403,
    );
    await expectDavError(await dav("GET", s, "/g"), 404);
  });
});

describe("WebDAV snapshots: changes", () => {
  it("every change is 403 read-only and changes nothing", async () => {
    const { s } = await changedAfterSnapshot();
    const snap = `${s}@before`;
    const before = await (await propfind(snap, "/", "1")).text();
    const liveBefore = await (await propfind(s, "/", "1")).text();
    const attempts: [string, string, Parameters<typeof dav>[3]][] = [
      ["PUT", "/a.txt", { body: "overwritten" }],
      ["PUT", "/fresh.txt", { body: "x" }],
      ["DELETE", "/a.txt", {}],
      ["DELETE", "/", {}],
      ["MKCOL", "/newdir/", {}],
      ["PROPPATCH", "/a.txt", { body: '<D:propertyupdate xmlns:D="DAV:"/>' }],
      ["MOVE", "/a.txt", { headers: { destination: `/dav/main/${snap}/b.txt` } }],
      ["MOVE", "/a.txt", { headers: { destination: `/dav/main/${s}/b.txt` } }],
      ["COPY", "/a.txt", { headers: { destination: `/dav/main/${snap}/c.txt` } }],
      ["LOCK", "/a.txt", { body: LOCKINFO("exclusive") }],
      [
        "UNLOCK",
        "/a.txt",
        { headers: { "lock-token": "<urn:uuid:00000000-0000-0000-0000-000000000000>" } },
      ],
    ];
    for (const [method, path, init] of attempts) {
      const body = await expectDavError(await dav(method, snap, path, init), 403);
      expect(body, `${method} ${path}`).toContain("read-only");
    }
    // COPY or MOVE from the live share onto the snapshot is refused too.
    for (const method of ["COPY", "MOVE"]) {
      const into = await dav(method, s, "/a.txt", {
        headers: { destination: `${ORIGIN}/dav/main/${snap}/x.txt` },
      });
      expect(await expectDavError(into, 403), method).toContain("read-only");
    }
    expect(await (await propfind(snap, "/", "1")).text()).toBe(before);
    expect(await (await propfind(s, "/", "1")).text()).toBe(liveBefore);
  });

  it("COPY from the snapshot into the live share restores: undelete, revert, a whole collection", async () => {
    const { s, big } = await changedAfterSnapshot();
    const snap = `${s}@before`;
    const copy = (path: string, to: string, headers: Record<string, string> = {}) =>
      dav("COPY", snap, path, { headers: { destination: `/dav/main/${s}${to}`, ...headers } });
    const undelete = await copy("/gone.txt", "/gone.txt");
    expect(undelete.status).toBe(201);
    expect(undelete.headers.get("edgefs-version")).toMatch(/^\d+$/);
    expect(await getText(s, "/gone.txt")).toBe("deleted later");
    // Overwrite: F keeps what is there; T (the default) replaces it.
    await expectDavError(await copy("/a.txt", "/a.txt", { overwrite: "F" }), 412);
    expect(await getText(s, "/a.txt")).toBe("new a, longer");
    expect((await copy("/big.bin", "/big.bin")).status).toBe(204);
    const restored = await api("GET", `/v1/shares/${s}/files/big.bin`);
    expect(new Uint8Array(await restored.arrayBuffer())).toEqual(big);
    expect((await copy("/dir/", "/dir")).status).toBe(201);
    expect(await getText(s, "/dir/b.txt")).toBe("old b");
    await expectDavError(await copy("/dir/", "/dir2", { depth: "0" }), 403);
    const orphan = await copy("/a.txt", "/no/such/parent.txt");
    expect(orphan.status).toBe(409);
    await orphan.body?.cancel();
    const elsewhere = await copy("/a.txt", "/x");
    expect(elsewhere.status).toBe(201);
    await elsewhere.body?.cancel();
    const outside = await dav("COPY", snap, "/a.txt", {
      headers: { destination: "/dav/main/some-other-share/a.txt" },
    });
    expect(outside.status).toBe(502);
    await outside.body?.cancel();
  });

  it("a restore onto a locked live file needs its token, tagged with the live URL", async () => {
    const { s } = await changedAfterSnapshot();
    const { token } = await lock(s, "/a.txt");
    const restore = (headers: Record<string, string> = {}) =>
      dav("COPY", `${s}@before`, "/a.txt", {
        headers: { destination: `/dav/main/${s}/a.txt`, ...headers },
      });
    const refused = await expectDavError(await restore(), 423);
    expect(refused).toContain(`<D:href>/dav/main/${s}/a.txt</D:href>`);
    expect(await getText(s, "/a.txt")).toBe("new a, longer");
    const res = await restore({ if: `<${ORIGIN}/dav/main/${s}/a.txt> (<${token}>)` });
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await getText(s, "/a.txt")).toBe("old a");
  });
});
