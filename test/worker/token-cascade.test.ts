import { describe, expect, it } from "vitest";
import { api, expectError, json, newShare, put } from "./helpers";

/**
 * Revoking an admin token revokes what it minted: the attack review found
 * that tokens minted by a revoked admin stayed alive (records had no issuer).
 */

interface Minted {
  token: string;
  tokenId: string;
  issuer: string | null;
}

async function mint(body: Record<string, unknown>, as?: string): Promise<Minted> {
  const res = await api("POST", "/v1/tokens", { body: JSON.stringify(body), token: as });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Minted>(res);
}
const statusWith = async (token: string, share: string) =>
  (await api("GET", `/v1/shares/${share}/stat/a.txt`, { token })).status;

describe("revocation follows the issuer", () => {
  it("records who minted each token", async () => {
    const admin = await mint({ shares: ["*"], permissions: ["admin", "read"] });
    expect(admin.issuer).toBe("root");
    const child = await mint({ permissions: ["read"] }, admin.token);
    expect(child.issuer).toBe(admin.tokenId);
    const listed = await json<{ tokens: Minted[] }>(await api("GET", "/v1/tokens"));
    expect(listed.tokens.find((t) => t.tokenId === child.tokenId)?.issuer).toBe(admin.tokenId);
  });

  it("revoking an admin token revokes every token minted under it, and their URLs", async () => {
    const s = await newShare("cascade");
    await put(s, "/a.txt", "hello");
    const admin = await mint({ shares: ["*"], permissions: ["admin", "read"] });
    const deputy = await mint({ shares: ["*"], permissions: ["admin", "read"] }, admin.token);
    const reader = await mint({ permissions: ["read"] }, deputy.token);
    const bystander = await mint({ permissions: ["read"] });
    const presigned = await json<{ url: string }>(
      await api("POST", `/v1/shares/${s}/presign`, {
        body: JSON.stringify({ path: "/a.txt", method: "GET" }),
        token: reader.token,
      }),
    );
    const presignedPath = presigned.url.replace(/^https?:\/\/[^/]+/, "");
    expect((await api("GET", presignedPath, { token: null })).status).toBe(200);
    for (const t of [admin, deputy, reader, bystander])
      expect(await statusWith(t.token, s)).toBe(200);

    expect((await api("DELETE", `/v1/tokens/${admin.tokenId}`)).status).toBe(204);

    for (const t of [admin, deputy, reader]) {
      await expectError(
        await api("GET", `/v1/shares/${s}/stat/a.txt`, { token: t.token }),
        401,
        "EUNAUTHENTICATED",
      );
    }
    await expectError(await api("GET", presignedPath, { token: null }), 401, "EUNAUTHENTICATED");
    expect(await statusWith(bystander.token, s)).toBe(200);
    const listed = await json<{ tokens: (Minted & { revokedAt: number | null })[] }>(
      await api("GET", "/v1/tokens"),
    );
    const revoked = (id: string) => listed.tokens.find((t) => t.tokenId === id)?.revokedAt;
    for (const t of [admin, deputy, reader]) expect(revoked(t.tokenId)).not.toBeNull();
    expect(revoked(bystander.tokenId)).toBeNull();
  });

  it("revoking a minted token leaves its issuer and siblings alone", async () => {
    const s = await newShare("cascade");
    await put(s, "/a.txt", "hello");
    const admin = await mint({ shares: ["*"], permissions: ["admin", "read"] });
    const one = await mint({ permissions: ["read"] }, admin.token);
    const two = await mint({ permissions: ["read"] }, admin.token);
    expect((await api("DELETE", `/v1/tokens/${one.tokenId}`, { token: admin.token })).status).toBe(
      204,
    );
    expect(await statusWith(one.token, s)).toBe(401);
    expect(await statusWith(two.token, s)).toBe(200);
    expect(await statusWith(admin.token, s)).toBe(200);
  });
});
