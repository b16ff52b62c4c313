// The SDK's parity with the HTTP API, against a scripted fetch (no server):
// conditional writes, leases (and withLease), presigned URLs, mounts,
// secrets and tokens; unknown options refused before any request; the
// declared size of multipart uploads, and its fallback for older servers.
import { describe, expect, it } from "vitest";
import {
  type ClientOptions,
  HttpClient,
  InvalidRequestError,
  LockedError,
  NetworkFileSystem,
  NotFoundError,
  PreconditionError,
  Secret,
  Token,
} from "../../src/client/index.js";

const BASE = "http://edgefs.test";
const LEASE = "0123456789abcdef0123456789abcdef";
const OTHER = "fedcba9876543210fedcba9876543210";

interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
}

type Handler = (call: Call, n: number) => Response | Promise<Response>;

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const errorBody = (status: number, code: string, message: string) =>
  json({ error: { code, message } }, status);
const entry = (path: string, size = 0) => ({ path, type: "file", size, mtime: 1, etag: '"e"' });
const lease = (path: string, leaseId = LEASE) => ({
  leaseId,
  path,
  exclusive: true,
  depth: "infinity",
  owner: null,
  ttlSeconds: 30,
  expiresAt: 2,
  createdAt: 1,
});

function fake(handler: Handler = () => json(entry("/x"))) {
  const calls: Call[] = [];
  const f = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const request = new Request(input, init);
    const body = init.body == null ? "" : await request.text();
    const call = {
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body,
    };
    calls.push(call);
    return handler(call, calls.length);
  };
  const options: ClientOptions = { url: BASE, token: "tok", fetch: f as typeof fetch, retries: 2 };
  return { options, calls, nfs: NetworkFileSystem.fromName("demo", options) };
}

/** What the call threw (it must throw). */
async function thrown(p: () => unknown): Promise<unknown> {
  try {
    await p();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("unknown options are refused, never dropped", () => {
  it("writeFile({ ifNoneMach }) throws InvalidRequestError (status 0) and sends nothing", async () => {
    const { nfs, calls } = fake();
    const error = await thrown(() =>
      // @ts-expect-error a misspelt option is a type error too
      nfs.writeFile("/a.txt", "x", { ifNoneMach: "*" }),
    );
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ code: "EINVAL", status: 0 });
    expect((error as Error).message).toContain('"ifNoneMach"');
    expect((error as Error).message).toContain("ifNoneMatch"); // the known ones are listed
    expect(calls).toHaveLength(0);
  });

  it("every options object of the SDK refuses a key it does not know", async () => {
    const { nfs, calls, options } = fake();
    const bad = { nope: 1 } as never;
    const attempts: [string, () => unknown][] = [
      ["fromName", () => NetworkFileSystem.fromName("x", { ...options, ...(bad as object) })],
      ["ephemeral", () => NetworkFileSystem.ephemeral({ ...options, ...(bad as object) })],
      ["list", () => NetworkFileSystem.list({ ...options, ...(bad as object) })],
      ["delete", () => NetworkFileSystem.delete("x", { ...options, ...(bad as object) })],
      ["setQuota", () => nfs.setQuota(bad)],
      ["writeFile", () => nfs.writeFile("/a", "x", bad)],
      ["mkdir", () => nfs.mkdir("/a", bad)],
      ["removeFile", () => nfs.removeFile("/a", bad)],
      ["move", () => nfs.move("/a", "/b", bad)],
      ["copy", () => nfs.copy("/a", "/b", bad)],
      ["readFile", () => nfs.readFile("/a", bad)],
      ["listdir", () => nfs.listdir("/", bad)],
      ["iterdir", () => nfs.iterdir("/", bad).next()],
      ["presign", () => nfs.presign("/a", bad)],
      ["acquireLease", () => nfs.acquireLease("/a", bad)],
      ["renewLease", () => nfs.renewLease(LEASE, bad)],
      ["listLeases", () => nfs.listLeases(bad)],
      ["withLease", () => nfs.withLease("/a", () => 1, bad)],
      ["addMount", () => nfs.addMount("/m", { bucket: "b", ...(bad as object) })],
      ["Secret.put", () => Secret.put("s", { A: "1" }, { ...options, ...(bad as object) })],
      ["Secret.list", () => Secret.list({ ...options, ...(bad as object) })],
      ["Secret.delete", () => Secret.delete("s", { ...options, ...(bad as object) })],
      [
        "Token.create",
        () => Token.create({ ...options, permissions: ["read"], ...(bad as object) }),
      ],
      ["Token.list", () => Token.list({ ...options, ...(bad as object) })],
      ["Token.revoke", () => Token.revoke("t", { ...options, ...(bad as object) })],
    ];
    for (const [name, attempt] of attempts) {
      const error = await thrown(attempt);
      expect(error, name).toBeInstanceOf(InvalidRequestError);
      expect(error, name).toMatchObject({ status: 0 });
      expect((error as Error).message, name).toContain('"nope"');
    }
    expect(calls).toHaveLength(0);
  });

  it("refuses option values of the wrong type, and options that are no object", async () => {
    const { nfs, calls } = fake();
    for (const options of [
      { ifNoneMatch: 1 },
      { ifMatch: "" },
      { partSize: -1 },
      { onProgress: "yes" },
      { lease: "not-a-lease" },
      { lease: Array.from({ length: 17 }, (_, i) => i.toString(16).padStart(32, "0")) },
    ]) {
      const error = await thrown(() => nfs.writeFile("/a", "x", options as never));
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidRequestError);
    }
    expect(await thrown(() => nfs.writeFile("/a", "x", "*" as never))).toBeInstanceOf(
      InvalidRequestError,
    );
    expect(await thrown(() => nfs.removeFile("/a", { recursive: "yes" } as never))).toBeInstanceOf(
      InvalidRequestError,
    );
    expect(await thrown(() => nfs.acquireLease("/a", { depth: "1" } as never))).toBeInstanceOf(
      InvalidRequestError,
    );
    // The transport's own options too (it is public): a misspelt token is no anonymous client.
    expect(await thrown(() => new HttpClient({ tokn: "t" } as never))).toBeInstanceOf(
      InvalidRequestError,
    );
    expect(
      await thrown(() => NetworkFileSystem.fromName("x", { url: BASE, retries: -1 })),
    ).toBeInstanceOf(InvalidRequestError);
    expect(calls).toHaveLength(0);
  });
});

describe("conditional writes", () => {
  it("ifNoneMatch: '*' sends If-None-Match and a 412 is a PreconditionError", async () => {
    const { nfs, calls } = fake(() => errorBody(412, "EPRECONDITION", "exists"));
    const error = await thrown(() => nfs.writeFile("/once.txt", "x", { ifNoneMatch: "*" }));
    expect(error).toBeInstanceOf(PreconditionError);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.method).toBe("PUT");
    expect(calls[0]?.headers.get("if-none-match")).toBe("*");
    expect(calls[0]?.headers.get("if-match")).toBeNull();
  });

  it("ifMatch sends the ETag for compare-and-swap", async () => {
    const { nfs, calls } = fake(() => json(entry("/a", 2)));
    expect(await nfs.writeFile("/a", "v2", { ifMatch: '"abc"' })).toBe(2);
    expect(calls[0]?.headers.get("if-match")).toBe('"abc"');
  });

  it("a conditional PUT is not retried (its retry would fail its own condition); a plain one is", async () => {
    const failing = fake(() => errorBody(503, "EINTERNAL", "busy"));
    await thrown(() => failing.nfs.writeFile("/a", "x", { ifNoneMatch: "*" }));
    expect(failing.calls).toHaveLength(1);
    const plain = fake((_c, n) =>
      n === 1 ? errorBody(503, "EINTERNAL", "busy") : json(entry("/a")),
    );
    await plain.nfs.writeFile("/a", "x");
    expect(plain.calls).toHaveLength(2);
  });

  it("a multipart write carries its conditions on the upload's create", async () => {
    const { nfs, calls } = uploadServer();
    await nfs.writeFile("/big", new Uint8Array(3 * MiB), {
      partSize: MiB,
      multipartThreshold: MiB,
      ifNoneMatch: "*",
    });
    const create = calls.find((c) => c.url.pathname.endsWith("/uploads"));
    expect(create?.headers.get("if-none-match")).toBe("*");
    const parts = calls.filter((c) => c.url.pathname.includes("/parts/"));
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p.headers.get("if-none-match")).toBeNull();
  });
});

const MiB = 1024 * 1024;

/** A multipart server; `refuseSize` answers a declared size as an older gateway's strict schema does. */
function uploadServer(refuseSize = false) {
  return fake((c) => {
    const p = c.url.pathname;
    if (c.method === "POST" && p.endsWith("/uploads")) {
      const body = JSON.parse(c.body);
      if (refuseSize && "size" in body) {
        return errorBody(400, "EINVAL", 'invalid body: Unrecognized key: "size"');
      }
      return json({ uploadId: "ab".repeat(16), path: body.path, partSize: body.partSize }, 201);
    }
    if (c.method === "PUT" && /\/parts\/\d+$/.test(p)) return json({ partNumber: 1, etag: "x" });
    if (c.method === "POST" && p.endsWith("/complete")) return json(entry("/big", 3 * MiB), 201);
    if (c.method === "DELETE") return new Response(null, { status: 204 });
    return errorBody(404, "ENOENT", "no route");
  });
}

describe("declared upload size", () => {
  const options = { partSize: MiB, multipartThreshold: MiB };
  const creates = (calls: Call[]) =>
    calls.filter((c) => c.url.pathname.endsWith("/uploads")).map((c) => JSON.parse(c.body));

  it("declares the size of a body whose length it knows (bytes and Blobs)", async () => {
    const { nfs, calls } = uploadServer();
    await nfs.writeFile("/big", new Uint8Array(3 * MiB), options);
    await nfs.writeFile("/big", new Blob([new Uint8Array(2 * MiB + 1)]), options);
    expect(creates(calls).map((b) => b.size)).toEqual([3 * MiB, 2 * MiB + 1]);
  });

  it("declares none for a stream, whose length it does not know", async () => {
    const { nfs, calls } = uploadServer();
    await nfs.writeFile("/big", new Blob([new Uint8Array(3 * MiB)]).stream(), options);
    expect(creates(calls)).toHaveLength(1);
    expect(creates(calls)[0]).not.toHaveProperty("size");
  });

  it("against a gateway that predates `size`, creates the upload without it, and stops declaring it", async () => {
    const { nfs, calls } = uploadServer(true);
    expect(await nfs.writeFile("/big", new Uint8Array(3 * MiB), options)).toBe(3 * MiB);
    await nfs.writeFile("/big", new Uint8Array(3 * MiB), options);
    expect(creates(calls).map((b) => b.size)).toEqual([3 * MiB, undefined, undefined]);
  });

  it("any other 400 of the create is the caller's error, not retried", async () => {
    const { nfs, calls } = fake(() =>
      errorBody(400, "EINVAL", "invalid body: partSize: too small"),
    );
    expect(
      await thrown(() => nfs.writeFile("/big", new Uint8Array(3 * MiB), options)),
    ).toBeInstanceOf(InvalidRequestError);
    expect(calls).toHaveLength(1);
  });
});

describe("leases", () => {
  it("acquire, renew, list and release speak the lease routes", async () => {
    const { nfs, calls } = fake((c) => {
      if (c.method === "DELETE") return new Response(null, { status: 204 });
      if (c.url.pathname.endsWith("/leases") && c.method === "GET") {
        return json({ leases: [lease("/reports")] });
      }
      return json(lease("/reports"), c.url.pathname.endsWith("/renew") ? 200 : 201);
    });
    const l = await nfs.acquireLease("reports", { ttlSeconds: 30, owner: "nightly" });
    expect(l.leaseId).toBe(LEASE);
    await nfs.renewLease(l);
    await nfs.renewLease(LEASE, { ttlSeconds: 90 });
    expect(await nfs.listLeases({ path: "/reports" })).toHaveLength(1);
    await nfs.releaseLease(l);
    expect(calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "POST /v1/shares/demo/leases",
      `POST /v1/shares/demo/leases/${LEASE}/renew`,
      `POST /v1/shares/demo/leases/${LEASE}/renew`,
      "GET /v1/shares/demo/leases",
      `DELETE /v1/shares/demo/leases/${LEASE}`,
    ]);
    expect(JSON.parse(calls[0]?.body ?? "")).toEqual({
      path: "/reports",
      ttlSeconds: 30,
      owner: "nightly",
    });
    expect(calls[1]?.body).toBe("");
    expect(JSON.parse(calls[2]?.body ?? "")).toEqual({ ttlSeconds: 90 });
    expect(calls[3]?.url.searchParams.get("path")).toBe("/reports");
  });

  it("every change sends the leases it holds as Edgefs-Lease; reads send none", async () => {
    const { nfs, calls } = fake((c) =>
      c.method === "DELETE" ? new Response(null, { status: 204 }) : json(entry("/a")),
    );
    await nfs.writeFile("/a", "x", { lease: LEASE });
    await nfs.mkdir("/d", { lease: [LEASE, { leaseId: OTHER }] });
    await nfs.removeFile("/a", { lease: LEASE });
    await nfs.move("/a", "/b", { lease: LEASE });
    await nfs.copy("/a", "/b", { lease: LEASE });
    const held = nfs.holding(LEASE);
    await held.writeFile("/a", "x");
    await held.writeFile("/a", "x", { lease: OTHER });
    await held.stat("/a");
    expect(calls.map((c) => c.headers.get("edgefs-lease"))).toEqual([
      LEASE,
      `${LEASE}, ${OTHER}`,
      LEASE,
      LEASE,
      LEASE,
      LEASE,
      `${LEASE}, ${OTHER}`,
      null,
    ]);
    expect(calls[3]?.headers.get("content-type")).toBe("application/json");
  });

  it("withLease runs fn holding the lease and releases it, also when fn throws", async () => {
    const { nfs, calls } = fake((c) => {
      if (c.method === "DELETE") return new Response(null, { status: 204 });
      if (c.url.pathname.endsWith("/leases")) return json(lease("/reports"), 201);
      return json(entry("/reports/q3.txt"));
    });
    const out = await nfs.withLease(
      "/reports",
      async (fs, l) => {
        expect(l.leaseId).toBe(LEASE);
        await fs.writeFile("/reports/q3.txt", "draft");
        return 42;
      },
      { ttlSeconds: 30 },
    );
    expect(out).toBe(42);
    expect(calls.map((c) => `${c.method} ${c.headers.get("edgefs-lease")}`)).toEqual([
      "POST null",
      `PUT ${LEASE}`,
      "DELETE null",
    ]);
    calls.length = 0;
    const boom = new Error("job failed");
    expect(await thrown(() => nfs.withLease("/reports", () => Promise.reject(boom)))).toBe(boom);
    expect(calls.map((c) => c.method)).toEqual(["POST", "DELETE"]);
  });

  it("withLease: fn's error wins over a failed release; an expired lease is no error", async () => {
    const expired = fake((c) =>
      c.method === "DELETE" ? errorBody(404, "ENOENT", "no such lease") : json(lease("/r"), 201),
    );
    expect(await expired.nfs.withLease("/r", () => "done")).toBe("done");
    const boom = new Error("job failed");
    const broken = fake((c) =>
      c.method === "DELETE" ? errorBody(403, "EACCES", "no") : json(lease("/r"), 201),
    );
    expect(await thrown(() => broken.nfs.withLease("/r", () => Promise.reject(boom)))).toBe(boom);
  });

  it("withLease takes nothing when the path is leased by someone else", async () => {
    const { nfs } = fake(() => errorBody(423, "ELOCKED", "locked until …"));
    let ran = false;
    const error = await thrown(() =>
      nfs.withLease("/r", () => {
        ran = true;
      }),
    );
    expect(error).toBeInstanceOf(LockedError);
    expect(ran).toBe(false);
  });
});

describe("presigned URLs, mounts", () => {
  it("presign posts the path, method and expiry and answers the URL", async () => {
    const signed = {
      url: `${BASE}/v1/shares/demo/files/a.txt?sig=1`,
      method: "PUT",
      path: "/a.txt",
      expiresAt: 9,
    };
    const { nfs, calls } = fake(() => json(signed, 201));
    expect(await nfs.presign("a.txt", { method: "PUT", expiresIn: 600 })).toEqual(signed);
    await nfs.presign("/a.txt");
    expect(calls.map((c) => JSON.parse(c.body))).toEqual([
      { path: "/a.txt", method: "PUT", expiresIn: 600 },
      { path: "/a.txt", method: "GET" },
    ]);
    expect(calls[0]?.url.pathname).toBe("/v1/shares/demo/presign");
    expect(await thrown(() => nfs.presign("/a", { method: "POST" as never }))).toBeInstanceOf(
      InvalidRequestError,
    );
  });

  it("addMount, listMounts and removeMount speak the mount routes", async () => {
    const mount = { path: "/datasets/x", bucket: "public-data", readOnly: true };
    const { nfs, calls } = fake((c) => {
      if (c.method === "DELETE") return new Response(null, { status: 204 });
      if (c.method === "GET") return json({ mounts: [mount] });
      return json(mount, 201);
    });
    await nfs.addMount("/datasets/x", { bucket: "public-data", readOnly: true, keyPrefix: "a/" });
    expect(await nfs.listMounts()).toEqual([mount]);
    await nfs.removeMount("datasets/x");
    expect(calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "PUT /v1/shares/demo/mounts/datasets/x",
      "GET /v1/shares/demo/mounts",
      "DELETE /v1/shares/demo/mounts/datasets/x",
    ]);
    expect(JSON.parse(calls[0]?.body ?? "")).toEqual({
      bucket: "public-data",
      readOnly: true,
      keyPrefix: "a/",
    });
  });
});

describe("secrets and tokens", () => {
  it("Secret.put sends the values and the shares it is for; list and delete", async () => {
    const { options, calls } = fake((c) => {
      if (c.method === "DELETE") return new Response(null, { status: 204 });
      if (c.method === "GET")
        return json({ secrets: [{ name: "aws", shares: ["demo"], updatedAt: 1 }] });
      return json({ name: "aws", shares: ["demo"], updatedAt: 1, env: "main" }, 201);
    });
    const info = await Secret.put(
      "aws",
      { AWS_ACCESS_KEY_ID: "A", AWS_SECRET_ACCESS_KEY: "S" },
      {
        ...options,
        shares: ["demo"],
      },
    );
    expect(info).toMatchObject({ name: "aws", shares: ["demo"] });
    expect(await Secret.list(options)).toEqual([{ name: "aws", shares: ["demo"], updatedAt: 1 }]);
    await Secret.delete("aws", options);
    expect(calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "PUT /v1/secrets/aws",
      "GET /v1/secrets",
      "DELETE /v1/secrets/aws",
    ]);
    expect(JSON.parse(calls[0]?.body ?? "")).toEqual({
      AWS_ACCESS_KEY_ID: "A",
      AWS_SECRET_ACCESS_KEY: "S",
      shares: ["demo"],
    });
    // `shares` among the values would be taken for the option: refused, named.
    const error = await thrown(() => Secret.put("aws", { shares: "x" }, options));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toContain("options.shares");
  });

  it("Token.create mints with the scope given; list follows cursors; revoke by id", async () => {
    const info = (id: string) => ({
      tokenId: id,
      name: null,
      scope: { envs: ["main"], shares: ["*"], permissions: ["read"] },
      createdAt: 1,
      expiresAt: 2,
      revokedAt: null,
      issuer: "root",
    });
    const { options, calls } = fake((c) => {
      if (c.method === "DELETE") return new Response(null, { status: 204 });
      if (c.method === "GET") {
        return c.url.searchParams.get("cursor") === null
          ? json({ tokens: [info("a")], cursor: "c1" })
          : json({ tokens: [info("b")] });
      }
      return json({ token: "jwt", ...info("a") }, 201);
    });
    const minted = await Token.create({
      ...options,
      permissions: ["read"],
      shares: ["demo"],
      expiresIn: 3600,
      name: "ci",
    });
    expect(minted.token).toBe("jwt");
    expect(JSON.parse(calls[0]?.body ?? "")).toEqual({
      permissions: ["read"],
      shares: ["demo"],
      expiresIn: 3600,
      name: "ci",
    });
    expect((await Token.list(options)).map((t) => t.tokenId)).toEqual(["a", "b"]);
    await Token.revoke("a", options);
    expect(calls.at(-1)?.method).toBe("DELETE");
    expect(calls.at(-1)?.url.pathname).toBe("/v1/tokens/a");
    expect(await thrown(() => Token.create({ ...options } as never))).toBeInstanceOf(
      InvalidRequestError,
    );
  });

  it("a 404 of an admin route is a NotFoundError", async () => {
    const { options } = fake(() => errorBody(404, "ENOENT", "no such secret: x"));
    expect(await thrown(() => Secret.delete("x", options))).toBeInstanceOf(NotFoundError);
  });
});
