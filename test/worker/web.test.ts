import { describe, expect, it } from "vitest";
import { api, expectError, json } from "./helpers";

/**
 * The web browser's page and assets as the Worker serves them (docs/web.md);
 * what the page does is driven in Chromium by test/e2e/web*.test.ts.
 */
const page = () =>
  api("GET", "/", { token: null, headers: { accept: "text/html,application/xhtml+xml" } });

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

describe("the web browser's page", () => {
  it("is what a browser gets at /, with no token, under a CSP that allows no inline code", async () => {
    const res = await page();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "form-action 'none'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain("unsafe");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    // No inline script or style: everything comes from the two assets.
    expect(html).not.toMatch(/<script>|<style|style=/);
    expect(html).toMatch(/<script type="module" src="\/_app\/app-[0-9a-f]{12}\.js"><\/script>/);
  });

  it("is not what curl, SDKs or WebDAV clients get at /", async () => {
    await expectError(await api("GET", "/", { token: null }), 404, "ENOENT");
    const dav = await api("OPTIONS", "/", { token: null });
    expect(dav.headers.get("dav")).toContain("1");
  });

  it("serves its script and stylesheet immutable, and both together stay under 100 KB gzipped", async () => {
    const html = await (await page()).text();
    const paths = [...html.matchAll(/(?:src|href)="(\/_app\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(paths).toHaveLength(2);
    let gzipped = 0;
    for (const path of paths) {
      const res = await api("GET", path, { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(
        path.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8",
      );
      expect(res.headers.get("cache-control")).toContain("immutable");
      const body = await res.text();
      expect(body.length).toBeGreaterThan(1000);
      gzipped += await gzipSize(body);
    }
    expect(gzipped).toBeLessThanOrEqual(100 * 1024);
    // An asset of another build is a plain 404, not the page.
    await expectError(
      await api("GET", "/_app/app-000000000000.js", { token: null }),
      404,
      "ENOENT",
    );
  });
});

describe("GET /v1/whoami", () => {
  it("says what the root token is", async () => {
    const res = await api("GET", "/v1/whoami");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      kind: "root",
      envs: ["*"],
      shares: ["*"],
      permissions: ["read", "write", "admin"],
    });
  });

  it("says a scoped token's scope and expiry, never the token", async () => {
    const minted = await json<{ token: string; tokenId: string; expiresAt: number }>(
      await api("POST", "/v1/tokens", {
        body: JSON.stringify({
          envs: ["dev"],
          shares: ["a", "b"],
          permissions: ["read"],
          expiresIn: 600,
        }),
      }),
    );
    const res = await api("GET", "/v1/whoami", { token: minted.token });
    const body = await json(res);
    expect(body).toEqual({
      kind: "token",
      id: minted.tokenId,
      envs: ["dev"],
      shares: ["a", "b"],
      permissions: ["read"],
      expiresAt: minted.expiresAt,
    });
    expect(JSON.stringify(body)).not.toContain(minted.token);
  });

  it("refuses a missing or wrong token", async () => {
    await expectError(await api("GET", "/v1/whoami", { token: null }), 401, "EUNAUTHENTICATED");
    await expectError(
      await api("GET", "/v1/whoami", { token: "efs_wrong" }),
      401,
      "EUNAUTHENTICATED",
    );
  });
});
