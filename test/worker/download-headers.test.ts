import { beforeAll, describe, expect, it } from "vitest";
import { dav } from "./dav-helpers";
import { api, json, newShare, put } from "./helpers";

/**
 * Files a user uploaded never run in the gateway's origin: every response
 * that carries a file's bytes — native API, presigned URL, WebDAV — says
 * nosniff and sandbox, and names of active types (HTML, SVG, XML, JS) come
 * as attachments with their name encoded per RFC 6266 / RFC 8187.
 */

type Fetch = (path: string, headers?: Record<string, string>, method?: string) => Promise<Response>;

const ACTIVE: [path: string, disposition: string][] = [
  ["/page.html", `attachment; filename="page.html"; filename*=UTF-8''page.html`],
  ["/a/old.HTM", `attachment; filename="old.HTM"; filename*=UTF-8''old.HTM`],
  ["/logo.svg", `attachment; filename="logo.svg"; filename*=UTF-8''logo.svg`],
  ["/feed.xml", `attachment; filename="feed.xml"; filename*=UTF-8''feed.xml`],
  ["/app.mjs", `attachment; filename="app.mjs"; filename*=UTF-8''app.mjs`],
  ["/x.xhtml", `attachment; filename="x.xhtml"; filename*=UTF-8''x.xhtml`],
  // Windows drops the trailing dot when saving: still an HTML file.
  ["/trick.html.", `attachment; filename="trick.html."; filename*=UTF-8''trick.html.`],
  [
    "/résumé (1).html",
    `attachment; filename="r_sum_ (1).html"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%281%29.html`,
  ],
  [`/it's "q".svg`, `attachment; filename="it's _q_.svg"; filename*=UTF-8''it%27s%20%22q%22.svg`],
  ["/100%.js", `attachment; filename="100_.js"; filename*=UTF-8''100%25.js`],
];
const PASSIVE = ["/notes.txt", "/style.css", "/data.bin", "/html", "/README"];

/** Asserts what every file response carries, and the disposition of this name. */
function expectInert(res: Response, disposition: string | null, label: string) {
  expect(res.headers.get("x-content-type-options"), label).toBe("nosniff");
  expect(res.headers.get("content-security-policy"), label).toBe("sandbox");
  expect(res.headers.get("content-disposition"), label).toBe(disposition);
}

const encoded = (path: string) => path.split("/").map(encodeURIComponent).join("/");

/** GET, HEAD, a range (206) and a revalidation (304): each carries the headers. */
async function checkAllResponses(fetchFile: Fetch) {
  const cases: [string, string | null][] = [
    ...ACTIVE,
    ...PASSIVE.map((p): [string, null] => [p, null]),
  ];
  for (const [path, disposition] of cases) {
    const got = await fetchFile(path);
    expect(got.status, path).toBe(200);
    // The type the upload sent: fetch labels a string body text/plain.
    expect(got.headers.get("content-type"), path).toBe("text/plain;charset=UTF-8");
    expect(await got.text(), path).toBe(`<script>alert(1)</script>${path}`);
    expectInert(got, disposition, `GET ${path}`);
    const head = await fetchFile(path, {}, "HEAD");
    expect(head.status, path).toBe(200);
    expectInert(head, disposition, `HEAD ${path}`);
    const ranged = await fetchFile(path, { range: "bytes=0-7" });
    expect(ranged.status, path).toBe(206);
    expect(await ranged.text(), path).toBe("<script>");
    expectInert(ranged, disposition, `206 ${path}`);
    const etag = got.headers.get("etag") ?? "";
    const unchanged = await fetchFile(path, { "if-none-match": etag });
    expect(unchanged.status, path).toBe(304);
    expectInert(unchanged, disposition, `304 ${path}`);
  }
}

describe("download headers", () => {
  let s: string;
  beforeAll(async () => {
    s = await newShare("dl");
    for (const path of [...ACTIVE.map(([p]) => p), ...PASSIVE]) {
      const res = await put(s, encoded(path), `<script>alert(1)</script>${path}`);
      expect(res.status, path).toBe(201);
    }
  });

  it("native GET, HEAD, 206 and 304", async () => {
    await checkAllResponses((path, headers = {}, method = "GET") =>
      api(method, `/v1/shares/${s}/files${encoded(path)}`, { headers }),
    );
  });

  it("presigned GET URLs (and their HEAD)", async () => {
    const urls = new Map<string, string>();
    for (const path of [...ACTIVE.map(([p]) => p), ...PASSIVE]) {
      const res = await api("POST", `/v1/shares/${s}/presign`, {
        body: JSON.stringify({ path, method: "GET" }),
      });
      expect(res.status, path).toBe(201);
      urls.set(path, (await json<{ url: string }>(res)).url.replace(/^https?:\/\/[^/]+/, ""));
    }
    await checkAllResponses((path, headers = {}, method = "GET") =>
      api(method, urls.get(path) ?? "", { headers, token: null }),
    );
  });

  it("WebDAV GET, HEAD, 206 and 304", async () => {
    await checkAllResponses((path, headers = {}, method = "GET") =>
      dav(method, s, encoded(path), { headers }),
    );
  });
});

describe("WebDAV collection index", () => {
  it("lists user-chosen names on a page where nothing can run", async () => {
    const s = await newShare("dl-index");
    const name = `"><img src=x onerror=alert(1)>.txt`;
    expect((await put(s, `/${encodeURIComponent(name)}`, "x")).status).toBe(201);
    for (const method of ["GET", "HEAD"]) {
      const res = await dav(method, s, "/", { headers: { accept: "text/html" } });
      expect(res.status, method).toBe(200);
      expect(res.headers.get("content-type"), method).toBe("text/html; charset=utf-8");
      expect(res.headers.get("x-content-type-options"), method).toBe("nosniff");
      expect(res.headers.get("content-security-policy"), method).toContain("default-src 'none'");
      if (method === "GET") expect(await res.text()).not.toContain("<img");
    }
  });
});
