import { sign, verify } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import { PARAM, type PresignedRequest, presign as signUrl } from "../../src/auth/presign";
import { api, expectError, json, newShare, put, sleep } from "./helpers";

interface Minted {
  token: string;
  tokenId: string;
  name: string | null;
  scope: { envs: string[]; shares: string[]; permissions: string[] };
  expiresAt: number;
}
interface Presigned {
  url: string;
  method: string;
  expiresAt: number;
}

async function mint(body: Record<string, unknown>, token?: string) {
  return api("POST", "/v1/tokens", { body: JSON.stringify(body), token });
}
async function minted(body: Record<string, unknown>, token?: string): Promise<Minted> {
  const res = await mint(body, token);
  expect(res.status).toBe(201);
  return json<Minted>(res);
}
async function presign(
  share: string,
  body: Record<string, unknown>,
  token?: string,
): Promise<Presigned> {
  const res = await api("POST", `/v1/shares/${share}/presign`, {
    body: JSON.stringify(body),
    token,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Presigned>(res);
}
/** Fetches a presigned URL as a plain client would: no Authorization header. */
function fetchUrl(
  url: string,
  init: { method?: string; body?: BodyInit; headers?: Record<string, string> } = {},
) {
  return api(init.method ?? "GET", url.replace(/^https?:\/\/[^/]+/, ""), {
    token: null,
    body: init.body,
    headers: init.headers,
  });
}

describe("scoped tokens", () => {
  it("mints a token with its scope and expiry, lists it without the secret, revokes it", async () => {
    const s = await newShare();
    const t = await minted({
      name: "ci-reader",
      shares: [s],
      permissions: ["read"],
      expiresIn: 3600,
    });
    expect(t.token.split(".")).toHaveLength(3);
    expect(t).toMatchObject({
      name: "ci-reader",
      scope: { envs: ["main"], shares: [s], permissions: ["read"] },
    });
    expect(t.expiresAt).toBeGreaterThan(Date.now() + 3500_000);
    await put(s, "/f", "data");
    expect(await (await api("GET", `/v1/shares/${s}/files/f`, { token: t.token })).text()).toBe(
      "data",
    );
    await expectError(
      await api("PUT", `/v1/shares/${s}/files/f`, { token: t.token, body: "y" }),
      403,
      "EACCES",
    );

    const listed = await json<{ tokens: (Minted & { revokedAt: number | null })[] }>(
      await api("GET", "/v1/tokens"),
    );
    const mine = listed.tokens.find((x) => x.tokenId === t.tokenId);
    expect(mine).toMatchObject({ name: "ci-reader", revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(t.token);
    expect(JSON.stringify(listed)).not.toContain(t.token.split(".")[2]);

    expect((await api("DELETE", `/v1/tokens/${t.tokenId}`)).status).toBe(204);
    await expectError(
      await api("GET", `/v1/shares/${s}/files/f`, { token: t.token }),
      401,
      "EUNAUTHENTICATED",
    );
    const after = await json<{ tokens: (Minted & { revokedAt: number | null })[] }>(
      await api("GET", "/v1/tokens"),
    );
    expect(after.tokens.find((x) => x.tokenId === t.tokenId)?.revokedAt).toBeGreaterThan(0);
    await expectError(await api("DELETE", `/v1/tokens/${"f".repeat(32)}`), 404, "ENOENT");
    await expectError(await api("DELETE", "/v1/tokens/nope"), 400, "EINVAL");
  });

  it("a token limited to some shares sees only those in the share list", async () => {
    const a = await newShare("vis");
    await newShare("hidden");
    const t = await minted({ shares: [a], permissions: ["read"] });
    const listed = await json<{ shares: { name: string }[] }>(
      await api("GET", "/v1/shares", { token: t.token }),
    );
    expect(listed.shares.map((x) => x.name)).toEqual([a]);
  });

  it("a scoped admin cannot mint, see or revoke beyond its own scope or lifetime", async () => {
    const s = await newShare();
    const admin = await minted({ shares: [s], permissions: ["admin", "read"], expiresIn: 600 });
    await expectError(
      await mint({ shares: ["*"], permissions: ["read"] }, admin.token),
      403,
      "EACCES",
    );
    await expectError(
      await mint({ shares: [s], permissions: ["write"] }, admin.token),
      403,
      "EACCES",
    );
    await expectError(
      await mint({ envs: ["*"], shares: [s], permissions: ["read"] }, admin.token),
      403,
      "EACCES",
    );
    const child = await minted(
      { shares: [s], permissions: ["read"], expiresIn: 86400 },
      admin.token,
    );
    expect(child.expiresAt).toBeLessThanOrEqual(admin.expiresAt);
    const wide = await minted({ shares: ["*"], permissions: ["read"] });
    const seen = await json<{ tokens: Minted[] }>(
      await api("GET", "/v1/tokens", { token: admin.token }),
    );
    expect(seen.tokens.map((x) => x.tokenId)).toContain(child.tokenId);
    expect(seen.tokens.map((x) => x.tokenId)).not.toContain(wide.tokenId);
    await expectError(
      await api("DELETE", `/v1/tokens/${wide.tokenId}`, { token: admin.token }),
      403,
      "EACCES",
    );
    expect(
      (await api("DELETE", `/v1/tokens/${child.tokenId}`, { token: admin.token })).status,
    ).toBe(204);
  });

  it("rejects bad mint requests with EINVAL", async () => {
    for (const body of [
      {},
      { permissions: [] },
      { permissions: ["root"] },
      { permissions: ["read"], shares: ["a/b"] },
      { permissions: ["read"], envs: [] },
      { permissions: ["read"], expiresIn: 10 },
      { permissions: ["read"], expiresIn: 366 * 86400 },
      { permissions: ["read"], extra: 1 },
    ]) {
      await expectError(await mint(body), 400, "EINVAL");
    }
  });

  it("rotation: the previous root token and a token signed with the previous key still work", async () => {
    const s = await newShare();
    expect((await api("GET", `/v1/shares/${s}`, { token: "old-root-token" })).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const old = await sign(
      {
        jti: "a".repeat(32),
        iat: now,
        exp: now + 600,
        scope: { envs: ["main"], shares: ["*"], permissions: ["read"] },
      },
      "old-signing-key",
      "HS256",
    );
    expect((await api("GET", `/v1/shares/${s}`, { token: old })).status).toBe(200);
    // New tokens are signed with the current key, never the previous one.
    const fresh = await minted({ permissions: ["read"] });
    await expect(verify(fresh.token, "test-signing-key", "HS256")).resolves.toMatchObject({
      jti: fresh.tokenId,
    });
    await expect(verify(fresh.token, "old-signing-key", "HS256")).rejects.toThrow();
  });
});

describe("presigned URLs", () => {
  let s: string;
  beforeAll(async () => {
    s = await newShare("pre");
    expect((await put(s, "/docs/report.txt", "0123456789")).status).toBe(201);
  });

  it("a GET URL reads without any header, with ranges and conditionals", async () => {
    const p = await presign(s, { path: "/docs/report.txt", method: "GET", expiresIn: 600 });
    expect(p.url).toContain(`/v1/shares/${s}/files/docs/report.txt?`);
    const res = await fetchUrl(p.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("0123456789");
    const ranged = await fetchUrl(p.url, { headers: { range: "bytes=2-4" } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe("234");
    const etag = res.headers.get("etag") ?? "";
    expect((await fetchUrl(p.url, { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await fetchUrl(p.url, { method: "HEAD" })).status).toBe(200);
  });

  it("a PUT URL writes atomically, like any PUT", async () => {
    const p = await presign(s, { path: "/inbox/upload.bin", method: "PUT" });
    const res = await fetchUrl(p.url, { method: "PUT", body: "uploaded by curl" });
    expect(res.status).toBe(201);
    expect(await (await api("GET", `/v1/shares/${s}/files/inbox/upload.bin`)).text()).toBe(
      "uploaded by curl",
    );
    // It is bound to PUT: reading with it is refused, saying so.
    const wrong = await expectError(await fetchUrl(p.url), 401, "EUNAUTHENTICATED");
    expect(wrong.message).toBe("this presigned URL is for PUT, not GET");
    const reader = await presign(s, { path: "/inbox/read-only.bin", method: "GET" });
    const put = await expectError(
      await fetchUrl(reader.url, { method: "PUT", body: "nope" }),
      401,
      "EUNAUTHENTICATED",
    );
    expect(put.message).toBe("this presigned URL is for GET (and HEAD), not PUT");
    await expectError(await api("GET", `/v1/shares/${s}/stat/inbox/read-only.bin`), 404, "ENOENT");
    const forged = await expectError(
      await fetchUrl(p.url.replace(/Signature=[^&]+/, "Signature=AAAA"), { method: "PUT" }),
      401,
      "EUNAUTHENTICATED",
    );
    expect(forged.message).toContain("signature does not match");
  });

  it("a URL stands for one file: a trailing slash is 401 and creates no directory", async () => {
    const p = await presign(s, { path: "/inbox/one.bin", method: "PUT" });
    const slashed = new URL(p.url);
    slashed.pathname += "/";
    // An empty body to ".../one.bin/" would be mkdir on the file route; with bytes, EINVAL.
    await expectError(
      await fetchUrl(slashed.toString(), { method: "PUT" }),
      401,
      "EUNAUTHENTICATED",
    );
    await expectError(
      await fetchUrl(slashed.toString(), { method: "PUT", body: "x" }),
      401,
      "EUNAUTHENTICATED",
    );
    await expectError(await api("GET", `/v1/shares/${s}/stat/inbox/one.bin`), 404, "ENOENT");
    const reader = await presign(s, { path: "/docs/report.txt", method: "GET" });
    const slashedGet = new URL(reader.url);
    slashedGet.pathname += "/";
    await expectError(await fetchUrl(slashedGet.toString()), 401, "EUNAUTHENTICATED");
    // The URL as signed still writes the file.
    expect((await fetchUrl(p.url, { method: "PUT", body: "one" })).status).toBe(201);
    expect(await (await api("GET", `/v1/shares/${s}/files/inbox/one.bin`)).text()).toBe("one");
    // Signing a directory (a trailing slash, the root) is refused outright.
    for (const path of ["/inbox/", "/", "", "//"]) {
      for (const method of ["PUT", "GET"]) {
        await expectError(
          await api("POST", `/v1/shares/${s}/presign`, { body: JSON.stringify({ path, method }) }),
          400,
          "EINVAL",
        );
      }
    }
  });

  it("any change to path, method, share, env, credential, expiry or signature is 401", async () => {
    const other = await newShare("pre-other");
    expect((await put(other, "/docs/report.txt", "other")).status).toBe(201);
    const p = await presign(s, { path: "/docs/report.txt", method: "GET" });
    const u = new URL(p.url);
    const variants: [string, string, string?][] = [
      ["path", p.url.replace("/docs/report.txt", "/docs/other.txt")],
      ["share", p.url.replace(`/shares/${s}/`, `/shares/${other}/`)],
      ["env", p.url.replace("env=main", "env=staging")],
      [
        "expiry",
        (() => {
          const x = new URL(u);
          x.searchParams.set(
            "X-Edgefs-Expires",
            String(Number(u.searchParams.get("X-Edgefs-Expires")) + 60),
          );
          return x.toString();
        })(),
      ],
      [
        "credential",
        (() => {
          const x = new URL(u);
          x.searchParams.set("X-Edgefs-Credential", "b".repeat(32));
          return x.toString();
        })(),
      ],
      [
        "signature",
        (() => {
          const x = new URL(u);
          const sig = u.searchParams.get("X-Edgefs-Signature") ?? "";
          x.searchParams.set("X-Edgefs-Signature", (sig[0] === "A" ? "B" : "A") + sig.slice(1));
          return x.toString();
        })(),
      ],
      ["method", p.url, "PUT"],
      ["route", p.url.replace("/files/docs/report.txt", "/list/docs")],
    ];
    for (const [label, url, method] of variants) {
      const res = await fetchUrl(url, {
        method: method ?? "GET",
        body: method === "PUT" ? "x" : undefined,
      });
      expect(res.status, label).toBe(401);
    }
    expect(await (await api("GET", `/v1/shares/${s}/files/docs/report.txt`)).text()).toBe(
      "0123456789",
    );
  });

  it("rotation: a URL signed with the previous signing key still works; with neither key, 401", async () => {
    // EDGEFS_SIGNING_KEY is "test-signing-key", EDGEFS_SIGNING_KEY_PREVIOUS "old-signing-key"
    // (vitest.config.ts). URLs are re-signed here the way the server signs them.
    const resigned = async (url: string, method: "GET" | "PUT", path: string, key: string) => {
      const u = new URL(url);
      const request: PresignedRequest = {
        method,
        env: u.searchParams.get("env") ?? "",
        share: s,
        path,
        credential: u.searchParams.get(PARAM.credential) ?? "",
        expires: Number(u.searchParams.get(PARAM.expires)),
      };
      u.searchParams.set(
        PARAM.signature,
        await signUrl({ rootTokens: [], signing: key, verifying: [key] }, request),
      );
      return u.toString();
    };
    const reader = await presign(s, { path: "/docs/report.txt", method: "GET", expiresIn: 600 });
    // The test signs exactly as the server does: with the current key it gets the same URL.
    expect(await resigned(reader.url, "GET", "/docs/report.txt", "test-signing-key")).toBe(
      reader.url,
    );
    const oldGet = await resigned(reader.url, "GET", "/docs/report.txt", "old-signing-key");
    expect(oldGet).not.toBe(reader.url);
    const read = await fetchUrl(oldGet);
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("0123456789");
    expect((await fetchUrl(oldGet, { method: "HEAD" })).status).toBe(200);

    const writer = await presign(s, { path: "/inbox/rotated.bin", method: "PUT" });
    const oldPut = await resigned(writer.url, "PUT", "/inbox/rotated.bin", "old-signing-key");
    expect((await fetchUrl(oldPut, { method: "PUT", body: "old key" })).status).toBe(201);
    expect(await (await api("GET", `/v1/shares/${s}/files/inbox/rotated.bin`)).text()).toBe(
      "old key",
    );

    // A key that is neither the current nor the previous one: refused, and nothing written.
    const foreignGet = await resigned(reader.url, "GET", "/docs/report.txt", "some-other-key");
    await expectError(await fetchUrl(foreignGet), 401, "EUNAUTHENTICATED");
    const foreign = await presign(s, { path: "/inbox/foreign.bin", method: "PUT" });
    const foreignPut = await resigned(foreign.url, "PUT", "/inbox/foreign.bin", "some-other-key");
    await expectError(
      await fetchUrl(foreignPut, { method: "PUT", body: "x" }),
      401,
      "EUNAUTHENTICATED",
    );
    await expectError(await api("GET", `/v1/shares/${s}/stat/inbox/foreign.bin`), 404, "ENOENT");
  });

  it("expires, and dies with the token that signed it", async () => {
    const short = await presign(s, { path: "/docs/report.txt", method: "GET", expiresIn: 1 });
    await sleep(1100);
    const expired = await expectError(await fetchUrl(short.url), 401, "EUNAUTHENTICATED");
    expect(expired.message).toMatch(/^presigned URL expired at \d{4}-/);

    const t = await minted({ shares: [s], permissions: ["read"], expiresIn: 600 });
    const byToken = await presign(
      s,
      { path: "/docs/report.txt", method: "GET", expiresIn: 7 * 86400 },
      t.token,
    );
    expect(byToken.expiresAt).toBeLessThanOrEqual(t.expiresAt);
    expect((await fetchUrl(byToken.url)).status).toBe(200);
    await api("DELETE", `/v1/tokens/${t.tokenId}`);
    await expectError(await fetchUrl(byToken.url), 401, "EUNAUTHENTICATED");
  });

  it("signing needs the permission the URL grants; bad requests are EINVAL", async () => {
    const reader = await minted({ shares: [s], permissions: ["read"] });
    await expectError(
      await api("POST", `/v1/shares/${s}/presign`, {
        token: reader.token,
        body: '{"path":"/x","method":"PUT"}',
      }),
      403,
      "EACCES",
    );
    for (const body of [
      { path: "/x", method: "DELETE" },
      { path: "/x", method: "GET", expiresIn: 7 * 86400 + 1 },
      { path: "/../x", method: "GET" },
      { method: "GET" },
    ]) {
      await expectError(
        await api("POST", `/v1/shares/${s}/presign`, { body: JSON.stringify(body) }),
        400,
        "EINVAL",
      );
    }
  });
});

describe("CORS", () => {
  /** What a browser app needs (docs/api.md "Access": CORS): the whole set, no more, no less. */
  const ALLOWED_HEADERS = [
    "authorization",
    "content-type",
    "range",
    "if-match",
    "if-none-match",
    "if-range",
    "if-modified-since",
    "edgefs-lease",
  ];
  const EXPOSED_HEADERS = [
    "etag",
    "content-range",
    "content-length",
    "accept-ranges",
    "last-modified",
  ];
  const METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"];
  const set = (header: string | null) =>
    (header ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== "")
      .sort();

  it("answers preflights for allowed origins only, and exposes the file headers", async () => {
    const preflight = await api("OPTIONS", "/v1/shares", {
      token: null,
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": ALLOWED_HEADERS.join(", "),
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(set(preflight.headers.get("access-control-allow-methods"))).toEqual(
      set(METHODS.join(",")),
    );
    expect(set(preflight.headers.get("access-control-allow-headers"))).toEqual(
      [...ALLOWED_HEADERS].sort(),
    );
    expect(preflight.headers.get("access-control-max-age")).toBe("600");
    const stranger = await api("OPTIONS", "/v1/shares", {
      token: null,
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();

    const s = await newShare();
    expect((await put(s, "/f", "x")).status).toBe(201);
    const res = await api("GET", `/v1/shares/${s}/files/f`, {
      headers: { origin: "https://app.example" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(set(res.headers.get("access-control-expose-headers"))).toEqual(
      [...EXPOSED_HEADERS].sort(),
    );
    // Every exposed header is one a file answer really carries (a Range read has them all).
    const ranged = await api("GET", `/v1/shares/${s}/files/f`, {
      headers: { origin: "https://app.example", range: "bytes=0-0" },
    });
    expect(ranged.status).toBe(206);
    for (const h of EXPOSED_HEADERS) expect(ranged.headers.get(h), h).not.toBeNull();
  });
});
