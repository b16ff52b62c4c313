import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, expectError, newShare, put, TOKEN } from "./helpers";

describe("authentication", () => {
  const routes: [string, string][] = [
    ["GET", "/v1/shares"],
    ["PUT", "/v1/shares/x"],
    ["POST", "/v1/shares"],
    ["GET", "/v1/shares/x"],
    ["DELETE", "/v1/shares/x"],
    ["PUT", "/v1/shares/x/files/a"],
    ["GET", "/v1/shares/x/files/a"],
    ["HEAD", "/v1/shares/x/files/a"],
    ["DELETE", "/v1/shares/x/files/a"],
    ["GET", "/v1/shares/x/stat/a"],
    ["GET", "/v1/shares/x/list/"],
    ["POST", "/v1/shares/x/move"],
    ["POST", "/v1/shares/x/copy"],
    ["GET", "/_dev/r2-count"],
  ];

  it("every /v1 route refuses a missing, malformed or wrong token with 401 EUNAUTHENTICATED", async () => {
    for (const [method, path] of routes) {
      for (const authorization of [
        undefined,
        "Basic abc",
        "Bearer",
        "Bearer wrong-token",
        `Bearer ${TOKEN}x`,
      ]) {
        const headers: Record<string, string> = authorization ? { authorization } : {};
        const res = await api(method, path, { headers, token: null });
        expect(res.status, `${method} ${path} with ${authorization}`).toBe(401);
        if (method !== "HEAD") {
          const body = (await res.json()) as { error: { code: string } };
          expect(body.error.code).toBe("EUNAUTHENTICATED");
        }
      }
    }
  });

  it("health needs no token; unknown routes are a JSON 404", async () => {
    const health = await api("GET", "/healthz", { token: null });
    expect(health.status).toBe(200);
    await expectError(await api("GET", "/v2/anything"), 404, "ENOENT");
  });
});

describe("paths (docs/api.md 'Paths')", () => {
  it("rejects traversal, control characters, backslashes, bad encoding and oversize with EINVAL", async () => {
    const s = await newShare();
    await put(s, "/safe", "x");
    const bad = [
      "/a%00b",
      "/a%0Ab",
      "/a%7Fb",
      "/a%C2%85b", // C1 control (NEL)
      "/a%5Cb", // backslash
      "/a%2Fb", // an encoded '/' inside a segment
      "/%ZZ",
      "/%E2%82", // truncated UTF-8
      "/%C0%AF", // overlong UTF-8 for '/'
      `/${"a".repeat(256)}`,
      `/${"é".repeat(128)}`, // 256 bytes in UTF-8
      `/${Array.from({ length: 1100 }, () => "abc").join("/")}`, // > 4096 bytes
      `/${"x".repeat(65536)}`,
    ];
    for (const p of bad) {
      for (const [method, route] of [
        ["PUT", "files"],
        ["GET", "files"],
        ["DELETE", "files"],
        ["GET", "stat"],
        ["GET", "list"],
      ]) {
        const res = await exports.default.fetch(
          new Request(`http://edgefs.test/v1/shares/${s}/${route}${p}`, {
            method,
            headers: { authorization: `Bearer ${TOKEN}` },
            body: method === "PUT" ? "data" : null,
          }),
        );
        expect(res.status, `${method} ${route}${p.slice(0, 40)}`).toBe(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("EINVAL");
      }
    }
    // Nothing was written anywhere by any of them.
    const root = await api("GET", `/v1/shares/${s}/list/?recursive=true`);
    expect(
      ((await root.json()) as { entries: { path: string }[] }).entries.map((e) => e.path),
    ).toEqual(["safe"]);
  });

  it("dot segments in URLs are resolved by the URL standard before routing, never escaping", async () => {
    // workerd (like curl and Cloudflare's edge) resolves "." and ".." in a
    // request URL, percent-encoded or not, before the Worker sees it.
    const s = await newShare();
    const res = await put(s, "/a/%2e%2e/b", "resolved");
    expect(res.status).toBe(201);
    expect(((await res.json()) as { path: string }).path).toBe("/b");
    // Climbing above files/ leaves the files route: no file is touched.
    await expectError(await put(s, "/%2e%2e/x", "nope"), 404, "ENOENT");
    await expectError(
      await put(s, "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "nope"),
      404,
      "ENOENT",
    );
    const root = await api("GET", `/v1/shares/${s}/list/?recursive=true`);
    expect(
      ((await root.json()) as { entries: { path: string }[] }).entries.map((e) => e.path),
    ).toEqual(["b"]);
  });

  it("rejects bad paths inside JSON bodies too", async () => {
    const s = await newShare();
    await put(s, "/a", "x");
    for (const to of ["/b/../../c", "/b/./c", "/b\\c", "/b\u0000", "\ud800", "x".repeat(5000)]) {
      const res = await api("POST", `/v1/shares/${s}/move`, {
        body: JSON.stringify({ from: "/a", to }),
      });
      await expectError(res, 400, "EINVAL");
    }
  });

  it("accepts unicode, spaces and glob-free punctuation; '//' collapses", async () => {
    const s = await newShare();
    const res = await put(s, "/d%C3%A9j%C3%A0%20vu/%F0%9F%93%81/a+b=c,d;e.txt", "ok");
    expect(res.status).toBe(201);
    const entry = (await res.json()) as { path: string };
    expect(entry.path).toBe("/déjà vu/📁/a+b=c,d;e.txt");
    const again = await api(
      "GET",
      `/v1/shares/${s}/files//d%C3%A9j%C3%A0%20vu//%F0%9F%93%81/a+b=c,d;e.txt`,
    );
    expect(await again.text()).toBe("ok");
  });
});

describe("headers and bodies", () => {
  it("bad Content-Length and huge headers are client errors, never 5xx", async () => {
    const s = await newShare();
    const res = await api("GET", `/v1/shares/${s}/files/x`, {
      headers: { range: `bytes=${"9".repeat(5000)}-` },
    });
    expect(res.status).toBeLessThan(500);
    const tags = await api("PUT", `/v1/shares/${s}/files/x`, {
      body: "x",
      headers: { "if-match": `"${"a".repeat(10000)}"` },
    });
    await expectError(tags, 412, "EPRECONDITION");
  });

  it("JSON bodies: wrong types and unknown fields are EINVAL", async () => {
    const s = await newShare();
    for (const body of [
      "",
      "[]",
      "null",
      '{"from":1,"to":"/x"}',
      '{"from":"/a","to":"/b","overwrite":"yes"}',
    ]) {
      await expectError(await api("POST", `/v1/shares/${s}/copy`, { body }), 400, "EINVAL");
    }
  });
});
