import { sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import { api, json, put } from "./helpers";

/**
 * The authorization matrix (docs/api.md "Access"): every route, walked with
 * every kind of caller. 401 is "who are you?", 403 "not allowed".
 */

type Perm = "read" | "write" | "admin";
interface Minted {
  token: string;
  tokenId: string;
  expiresAt: number;
}

async function mint(body: Record<string, unknown>, as?: string): Promise<Minted> {
  const res = await api("POST", "/v1/tokens", { body: JSON.stringify(body), token: as });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Minted>(res);
}

/** A request the matrix sends: `prepare` sets up with the root token, so an allowed call succeeds. */
interface Route {
  name: string;
  perm: Perm;
  /** Env-level routes take no share; their share scope does not apply. */
  envLevel?: boolean;
  run: (caller: Caller) => Promise<Response>;
}

const S = "alpha";
let counter = 0;
const uniq = () => `${Date.now().toString(36)}-${counter++}`;
/** A caller is the Authorization header it sends, if any. */
type Caller = string | null;
const as = (authorization: Caller) => ({
  token: null,
  headers: (authorization === null ? {} : { authorization }) as Record<string, string>,
});
const bearer = (token: string) => `Bearer ${token}`;

async function restoreAlpha() {
  await api("PUT", `/v1/shares/${S}`);
  await put(S, "/seed.txt", "seed");
}

async function newUpload(path: string) {
  const res = await api("POST", `/v1/shares/${S}/uploads`, { body: JSON.stringify({ path }) });
  return (await json<{ uploadId: string }>(res)).uploadId;
}
async function newLease(path: string) {
  const res = await api("POST", `/v1/shares/${S}/leases`, {
    body: JSON.stringify({ path, ttlSeconds: 60 }),
  });
  return (await json<{ leaseId: string }>(res)).leaseId;
}

const routes: Route[] = [
  {
    name: "GET file",
    perm: "read",
    run: (t: Caller) => api("GET", `/v1/shares/${S}/files/seed.txt`, as(t)),
  },
  {
    name: "HEAD file",
    perm: "read",
    run: (t: Caller) => api("HEAD", `/v1/shares/${S}/files/seed.txt`, as(t)),
  },
  {
    name: "stat",
    perm: "read",
    run: (t: Caller) => api("GET", `/v1/shares/${S}/stat/seed.txt`, as(t)),
  },
  { name: "list", perm: "read", run: (t: Caller) => api("GET", `/v1/shares/${S}/list/`, as(t)) },
  { name: "share info", perm: "read", run: (t: Caller) => api("GET", `/v1/shares/${S}`, as(t)) },
  {
    name: "list snapshots",
    perm: "read",
    run: (t: Caller) => api("GET", `/v1/shares/${S}/snapshots`, as(t)),
  },
  {
    name: "read at a snapshot",
    perm: "read",
    run: async (t: Caller) => {
      const name = `r-${uniq()}`;
      await api("POST", `/v1/shares/${S}/snapshots`, { body: JSON.stringify({ name }) });
      return api("GET", `/v1/shares/${S}/files/seed.txt?snapshot=${name}`, as(t));
    },
  },
  {
    name: "create snapshot",
    perm: "write",
    run: (t: Caller) =>
      api("POST", `/v1/shares/${S}/snapshots`, {
        ...as(t),
        body: JSON.stringify({ name: `c-${uniq()}` }),
      }),
  },
  {
    name: "delete snapshot",
    perm: "write",
    run: async (t: Caller) => {
      const name = `d-${uniq()}`;
      await api("POST", `/v1/shares/${S}/snapshots`, { body: JSON.stringify({ name }) });
      return api("DELETE", `/v1/shares/${S}/snapshots/${name}`, as(t));
    },
  },
  {
    name: "list leases",
    perm: "read",
    run: (t: Caller) => api("GET", `/v1/shares/${S}/leases`, as(t)),
  },
  {
    name: "list shares",
    perm: "read",
    envLevel: true,
    run: (t: Caller) => api("GET", "/v1/shares", as(t)),
  },
  {
    name: "presign GET",
    perm: "read",
    run: (t: Caller) =>
      api("POST", `/v1/shares/${S}/presign`, {
        ...as(t),
        body: '{"path":"/seed.txt","method":"GET"}',
      }),
  },
  {
    name: "PUT file",
    perm: "write",
    run: (t: Caller) => api("PUT", `/v1/shares/${S}/files/w/${uniq()}`, { ...as(t), body: "x" }),
  },
  {
    name: "DELETE file",
    perm: "write",
    run: async (t: Caller) => {
      const p = `/d/${uniq()}`;
      await put(S, p, "x");
      return api("DELETE", `/v1/shares/${S}/files${p}`, as(t));
    },
  },
  {
    name: "move",
    perm: "write",
    run: async (t: Caller) => {
      const p = `/m/${uniq()}`;
      await put(S, p, "x");
      return api("POST", `/v1/shares/${S}/move`, {
        ...as(t),
        body: JSON.stringify({ from: p, to: `${p}-moved` }),
      });
    },
  },
  {
    name: "copy",
    perm: "write",
    run: (t: Caller) =>
      api("POST", `/v1/shares/${S}/copy`, {
        ...as(t),
        body: JSON.stringify({ from: "/seed.txt", to: `/c/${uniq()}` }),
      }),
  },
  {
    name: "batch commit",
    perm: "write",
    run: (t: Caller) =>
      api("POST", `/v1/shares/${S}/commit`, {
        ...as(t),
        body: JSON.stringify({ ops: [{ op: "put", path: `/b/${uniq()}`, content: "eA==" }] }),
      }),
  },
  {
    name: "create upload",
    perm: "write",
    run: (t: Caller) =>
      api("POST", `/v1/shares/${S}/uploads`, {
        ...as(t),
        body: JSON.stringify({ path: `/u/${uniq()}` }),
      }),
  },
  {
    name: "upload status",
    perm: "write",
    run: async (t: Caller) =>
      api("GET", `/v1/shares/${S}/uploads/${await newUpload(`/u/${uniq()}`)}`, as(t)),
  },
  {
    name: "upload part",
    perm: "write",
    run: async (t: Caller) =>
      api("PUT", `/v1/shares/${S}/uploads/${await newUpload(`/u/${uniq()}`)}/parts/1`, {
        ...as(t),
        body: "part",
      }),
  },
  {
    name: "complete upload",
    perm: "write",
    run: async (t: Caller) => {
      const id = await newUpload(`/u/${uniq()}`);
      await api("PUT", `/v1/shares/${S}/uploads/${id}/parts/1`, { body: "part" });
      return api("POST", `/v1/shares/${S}/uploads/${id}/complete`, as(t));
    },
  },
  {
    name: "abort upload",
    perm: "write",
    run: async (t: Caller) =>
      api("DELETE", `/v1/shares/${S}/uploads/${await newUpload(`/u/${uniq()}`)}`, as(t)),
  },
  {
    name: "acquire lease",
    perm: "write",
    run: (t: Caller) =>
      api("POST", `/v1/shares/${S}/leases`, {
        ...as(t),
        body: JSON.stringify({ path: `/l/${uniq()}` }),
      }),
  },
  {
    name: "renew lease",
    perm: "write",
    run: async (t: Caller) =>
      api("POST", `/v1/shares/${S}/leases/${await newLease(`/l/${uniq()}`)}/renew`, as(t)),
  },
  {
    name: "release lease",
    perm: "write",
    run: async (t: Caller) =>
      api("DELETE", `/v1/shares/${S}/leases/${await newLease(`/l/${uniq()}`)}`, as(t)),
  },
  {
    name: "presign PUT",
    perm: "write",
    run: (t: Caller) =>
      api("POST", `/v1/shares/${S}/presign`, {
        ...as(t),
        body: '{"path":"/p.txt","method":"PUT"}',
      }),
  },
  { name: "PUT share", perm: "admin", run: (t: Caller) => api("PUT", `/v1/shares/${S}`, as(t)) },
  {
    name: "create share",
    perm: "admin",
    run: async (t: Caller) => {
      // A strict create needs the name free: alpha is removed and restored around the call.
      await api("DELETE", `/v1/shares/${S}`);
      const res = await api("POST", "/v1/shares", { ...as(t), body: JSON.stringify({ name: S }) });
      await restoreAlpha();
      return res;
    },
  },
  {
    name: "DELETE share",
    perm: "admin",
    run: async (t: Caller) => {
      const res = await api("DELETE", `/v1/shares/${S}`, as(t));
      await restoreAlpha();
      return res;
    },
  },
  {
    name: "mint token",
    perm: "admin",
    envLevel: true,
    run: (t: Caller) =>
      api("POST", "/v1/tokens", { ...as(t), body: '{"permissions":["admin"],"shares":["alpha"]}' }),
  },
  {
    name: "list tokens",
    perm: "admin",
    envLevel: true,
    run: (t: Caller) => api("GET", "/v1/tokens", as(t)),
  },
  {
    name: "put secret",
    perm: "admin",
    envLevel: true,
    run: (t: Caller) =>
      api("PUT", `/v1/secrets/s-${uniq()}`, {
        ...as(t),
        body: '{"AWS_ACCESS_KEY_ID":"a","AWS_SECRET_ACCESS_KEY":"b"}',
      }),
  },
  {
    name: "list secrets",
    perm: "admin",
    envLevel: true,
    run: (t: Caller) => api("GET", "/v1/secrets", as(t)),
  },
  {
    // A secret belongs to the shares it is for: here alpha's, so an admin
    // of another share may not delete it.
    name: "delete secret",
    perm: "admin",
    run: async (t: Caller) => {
      const name = `s-${uniq()}`;
      await api("PUT", `/v1/secrets/${name}`, { body: `{"KEY":"v","shares":["${S}"]}` });
      return api("DELETE", `/v1/secrets/${name}`, as(t));
    },
  },
  {
    name: "mount a bucket",
    perm: "admin",
    run: (t: Caller) =>
      api("PUT", `/v1/shares/${S}/mounts/mnt/${uniq()}`, {
        ...as(t),
        body: '{"bucket":"some-bucket"}',
      }),
  },
  {
    name: "list mounts",
    perm: "read",
    run: (t: Caller) => api("GET", `/v1/shares/${S}/mounts`, as(t)),
  },
  {
    name: "unmount",
    perm: "admin",
    run: async (t: Caller) => {
      const path = `/mnt/${uniq()}`;
      await api("PUT", `/v1/shares/${S}/mounts${path}`, { body: '{"bucket":"some-bucket"}' });
      return api("DELETE", `/v1/shares/${S}/mounts${path}`, as(t));
    },
  },
  {
    name: "revoke token",
    perm: "admin",
    envLevel: true,
    run: async (t: Caller) => {
      const victim = await mint({ permissions: ["admin"], shares: ["alpha"] });
      return api("DELETE", `/v1/tokens/${victim.tokenId}`, as(t));
    },
  },
];

describe("authorization matrix", () => {
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    expect((await api("PUT", `/v1/shares/${S}`)).status).toBe(201);
    expect((await api("PUT", "/v1/shares/beta")).status).toBe(201);
    expect((await put(S, "/seed.txt", "seed")).status).toBe(201);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      jti: "0".repeat(32),
      iat: now,
      exp: now + 3600,
      scope: { envs: ["*"], shares: ["*"], permissions: ["read", "write", "admin"] },
    };
    tokens.otherKey = await sign(claims, "some-other-key", "HS256");
    tokens.expired = await sign(
      { ...claims, iat: now - 7200, exp: now - 3600 },
      "test-signing-key",
      "HS256",
    );
    const revoked = await mint({ permissions: ["read", "write", "admin"], shares: ["*"] });
    expect((await api("DELETE", `/v1/tokens/${revoked.tokenId}`)).status).toBe(204);
    tokens.revoked = revoked.token;
    tokens.otherEnv = (
      await mint({ envs: ["staging"], shares: ["*"], permissions: ["read", "write", "admin"] })
    ).token;
    tokens.otherShare = (
      await mint({ shares: ["beta"], permissions: ["read", "write", "admin"] })
    ).token;
    tokens.read = (await mint({ shares: [S], permissions: ["read"] })).token;
    tokens.write = (await mint({ shares: [S], permissions: ["write"] })).token;
    tokens.admin = (await mint({ shares: [S], permissions: ["admin"] })).token;
    tokens.all = (await mint({ shares: [S], permissions: ["read", "write", "admin"] })).token;
  });

  for (const route of routes) {
    it(`${route.name}: refuses who-are-you with 401`, async () => {
      const bad: [string, Caller][] = [
        ["no token", null],
        ["malformed header", "Token abc"],
        ["not a token", "Bearer definitely-not-valid"],
        ["a JWT-shaped string", "Bearer a.b.c"],
        ["another key", bearer(tokens.otherKey as string)],
        ["expired", bearer(tokens.expired as string)],
        ["revoked", bearer(tokens.revoked as string)],
      ];
      for (const [label, caller] of bad) {
        const res = await route.run(caller);
        expect(res.status, `${route.name} with ${label}`).toBe(401);
        if (route.name !== "HEAD file")
          expect((await json<{ error: { code: string } }>(res)).error.code).toBe(
            "EUNAUTHENTICATED",
          );
      }
    });

    it(`${route.name}: refuses the wrong scope with 403 and allows the right one`, async () => {
      const denied: [string, string][] = [["another env", tokens.otherEnv as string]];
      if (!route.envLevel) denied.push(["another share", tokens.otherShare as string]);
      for (const p of ["read", "write", "admin"] as Perm[]) {
        // Permissions do not imply each other (docs/api.md "Access"), env-level routes
        // included: a write-only or admin-only token may not even list shares.
        if (p !== route.perm) denied.push([`a ${p} token`, tokens[p] as string]);
      }
      for (const [label, token] of denied) {
        const res = await route.run(bearer(token));
        expect(res.status, `${route.name} with ${label}`).toBe(403);
        if (route.name !== "HEAD file")
          expect((await json<{ error: { code: string } }>(res)).error.code).toBe("EACCES");
      }
      for (const [label, token] of [
        [`a ${route.perm} token`, tokens[route.perm] as string],
        ["the root token", "test-root-token"],
      ]) {
        const res = await route.run(bearer(token as string));
        expect(
          res.status,
          `${route.name} with ${label}: ${res.status === 200 ? "" : await res.clone().text()}`,
        ).toBeLessThan(300);
      }
    });
  }
});
