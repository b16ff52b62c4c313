import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { shareStub } from "../../src/backends/share-backend";
import type { FsPath } from "../../src/core/paths";
import { api, expectError, json, newShare, put } from "./helpers";

const KEYS = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "very-secret-value-123" };

function putSecret(name: string, body: unknown, environment = "main") {
  return api("PUT", `/v1/secrets/${name}?env=${environment}`, { body: JSON.stringify(body) });
}
function mount(share: string, path: string, body: unknown) {
  return api("PUT", `/v1/shares/${share}/mounts${path}`, { body: JSON.stringify(body) });
}

describe("secrets", () => {
  it("stores credentials sealed, lists names and times only, never returns values", async () => {
    const created = await putSecret("aws-prod", KEYS);
    expect(created.status).toBe(201);
    const info = await json<Record<string, unknown>>(created);
    expect(Object.keys(info).sort()).toEqual(["env", "name", "shares", "updatedAt"]);
    expect(info.shares).toEqual(["*"]);
    expect((await putSecret("aws-prod", { ...KEYS, AWS_REGION: "eu-west-1" })).status).toBe(200);
    const listed = await api("GET", "/v1/secrets");
    const text = await listed.clone().text();
    expect(text).not.toContain(KEYS.AWS_SECRET_ACCESS_KEY);
    expect(text).not.toContain(KEYS.AWS_ACCESS_KEY_ID);
    expect(
      (await json<{ secrets: { name: string }[] }>(listed)).secrets.map((s) => s.name),
    ).toContain("aws-prod");
    // At rest: the stored row holds ciphertext, not the value.
    const stored = await runInDurableObject(
      env.SECRETS.get(env.SECRETS.idFromName("main")),
      (_i, state) =>
        state.storage.sql
          .exec<{ sealed: string }>("SELECT sealed FROM secrets WHERE name = 'aws-prod'")
          .one().sealed,
    );
    expect(stored).not.toContain(KEYS.AWS_SECRET_ACCESS_KEY);
    expect(stored).not.toContain(btoa(KEYS.AWS_SECRET_ACCESS_KEY).slice(0, 12));
    // Per environment.
    const other = await json<{ secrets: unknown[] }>(await api("GET", "/v1/secrets?env=elsewhere"));
    expect(other.secrets).toEqual([]);
    expect((await api("DELETE", "/v1/secrets/aws-prod")).status).toBe(204);
    await expectError(await api("DELETE", "/v1/secrets/aws-prod"), 404, "ENOENT");
  });

  it("validates names and values with EINVAL, and needs admin", async () => {
    for (const body of [
      {},
      { lower: "x" },
      { AWS_ACCESS_KEY_ID: "only-half" },
      { KEY: "" },
      ["x"],
      "text",
    ]) {
      await expectError(await putSecret("s", body), 400, "EINVAL");
    }
    await expectError(await putSecret(".bad", KEYS), 400, "EINVAL");
    const reader = await json<{ token: string }>(
      await api("POST", "/v1/tokens", { body: '{"permissions":["read","write"],"shares":["*"]}' }),
    );
    await expectError(await api("GET", "/v1/secrets", { token: reader.token }), 403, "EACCES");
  });
});

describe("mounts", () => {
  beforeAll(async () => {
    expect((await putSecret("creds", KEYS)).status).toBeLessThan(300);
    expect((await putSecret("no-aws", { OTHER: "x" })).status).toBeLessThan(300);
  });

  const target = {
    bucket: "data-bucket",
    endpoint: "http://127.0.0.1:9",
    region: "auto",
    forcePathStyle: true,
  };

  it("mounts, lists, shows the mount point as a directory, and unmounts", async () => {
    const s = await newShare();
    await put(s, "/local.txt", "x");
    const res = await mount(s, "/buckets/data", { ...target, secret: "creds", keyPrefix: "team/" });
    expect(res.status).toBe(201);
    const m = await json<Record<string, unknown>>(res);
    expect(m).toMatchObject({
      path: "/buckets/data",
      bucket: "data-bucket",
      keyPrefix: "team/",
      secret: "creds",
      readOnly: false,
    });
    expect(JSON.stringify(m)).not.toContain(KEYS.AWS_SECRET_ACCESS_KEY);
    expect(
      (await mount(s, "/buckets/data", { ...target, secret: "creds", readOnly: true })).status,
    ).toBe(200);
    const listed = await json<{ mounts: { path: string; readOnly: boolean }[] }>(
      await api("GET", `/v1/shares/${s}/mounts`),
    );
    expect(listed.mounts).toMatchObject([{ path: "/buckets/data", readOnly: true }]);
    const parent = await json<{ entries: { path: string; type: string }[] }>(
      await api("GET", `/v1/shares/${s}/list/buckets`),
    );
    expect(parent.entries).toEqual([expect.objectContaining({ path: "data", type: "directory" })]);
    expect((await api("DELETE", `/v1/shares/${s}/mounts/buckets/data`)).status).toBe(204);
    await expectError(await api("GET", `/v1/shares/${s}/mounts/buckets/data`), 404, "ENOENT");
    await expectError(await api("DELETE", `/v1/shares/${s}/mounts/buckets/data`), 404, "ENOENT");
    const after = await json<{ entries: unknown[] }>(
      await api("GET", `/v1/shares/${s}/list/buckets`),
    );
    expect(after.entries).toEqual([]);
  });

  it("takes its default region from the secret's AWS_REGION", async () => {
    const s = await newShare();
    expect((await putSecret("regional", { ...KEYS, AWS_REGION: "eu-central-1" })).status).toBe(201);
    const m = await json<{ region: string; endpoint: string }>(
      await mount(s, "/eu", { bucket: "eu-bucket", secret: "regional" }),
    );
    expect(m).toMatchObject({
      region: "eu-central-1",
      endpoint: "https://s3.eu-central-1.amazonaws.com",
    });
  });

  it("refuses a mount over share files, overlapping another, at the root, or with bad settings", async () => {
    const s = await newShare();
    await put(s, "/file", "x");
    await put(s, "/full/f", "x");
    expect((await mount(s, "/m", { ...target, secret: "creds" })).status).toBe(201);
    const cases: [string, unknown, number, string][] = [
      ["/file", { ...target }, 409, "EEXIST"],
      ["/full", { ...target }, 409, "EEXIST"],
      ["/m/inner", { ...target }, 409, "EEXIST"],
      ["/", { ...target }, 400, "EINVAL"],
      ["/x", { ...target, bucket: "Bad_Bucket" }, 400, "EINVAL"],
      ["/x", { ...target, keyPrefix: "no-slash" }, 400, "EINVAL"],
      ["/x", { ...target, keyPrefix: "/lead/" }, 400, "EINVAL"],
      ["/x", { ...target, endpoint: "ftp://host" }, 400, "EINVAL"],
      ["/x", { ...target, requesterPays: true }, 400, "EINVAL"],
      ["/x", { ...target, secret: "missing" }, 400, "EINVAL"],
      ["/x", { ...target, secret: "no-aws" }, 400, "EINVAL"],
      ["/x", { ...target, unknown: 1 }, 400, "EINVAL"],
      ["/x", { endpoint: "http://127.0.0.1:9" }, 400, "EINVAL"],
    ];
    for (const [path, body, status, code] of cases) {
      const err = await expectError(await mount(s, path, body), status, code);
      expect(err.message.length).toBeGreaterThan(5);
    }
    // A parent of the mount is not a place to mount either.
    await expectError(await mount(s, "/", target), 400, "EINVAL");
    await put(s, "/deep/a/b", "x");
    expect((await mount(s, "/deep/a/new", target)).status).toBe(201);
    await expectError(await mount(s, "/deep", target), 409, "EEXIST");
  });

  it("share storage never changes what a mount shows; unsupported operations say ENOTSUP", async () => {
    const s = await newShare();
    await put(s, "/dir/keep", "x");
    expect((await mount(s, "/dir/bucket", { ...target, secret: "creds" })).status).toBe(201);
    await expectError(
      await api("DELETE", `/v1/shares/${s}/files/dir?recursive=true`),
      409,
      "EEXIST",
    );
    await expectError(
      await api("POST", `/v1/shares/${s}/move`, { body: '{"from":"/dir","to":"/elsewhere"}' }),
      409,
      "EEXIST",
    );
    await expectError(
      await api("POST", `/v1/shares/${s}/move`, {
        body: '{"from":"/dir/keep","to":"/dir/bucket/keep"}',
      }),
      501,
      "ENOTSUP",
    );
    await expectError(
      await api("POST", `/v1/shares/${s}/uploads`, { body: '{"path":"/dir/bucket/big.bin"}' }),
      501,
      "ENOTSUP",
    );
    await expectError(
      await api("POST", `/v1/shares/${s}/leases`, { body: '{"path":"/dir/bucket/x"}' }),
      501,
      "ENOTSUP",
    );
    await expectError(
      await api("POST", `/v1/shares/${s}/leases`, { body: '{"path":"/dir"}' }),
      501,
      "ENOTSUP",
    );
    expect((await api("GET", `/v1/shares/${s}/files/dir/keep`)).status).toBe(200);
  });

  it("a bucket that cannot be reached is 502 EUPSTREAM naming the mount", async () => {
    const s = await newShare();
    expect((await mount(s, "/unreachable", { ...target, secret: "creds" })).status).toBe(201);
    const err = await expectError(
      await api("GET", `/v1/shares/${s}/files/unreachable/x.txt`),
      502,
      "EUPSTREAM",
    );
    expect(err.message).toContain("/unreachable");
    // It names the host it tried and what went wrong, not "internal error".
    expect(err.message).toContain("(data-bucket at 127.0.0.1:9) unreachable: ");
    expect(err.message).toContain("the connection to 127.0.0.1:9 was refused or cut off");
    await expectError(await api("GET", `/v1/shares/${s}/list/unreachable`), 502, "EUPSTREAM");
  });

  it("a bucket whose host name does not resolve is 502 EUPSTREAM naming the host", async () => {
    const s = await newShare();
    // .invalid never resolves (RFC 6761); a virtual-hosted bucket's host is bucket.endpoint.
    const endpoint = "https://storage.no-such-host.invalid";
    expect(
      (await mount(s, "/nodns", { bucket: "data-bucket", endpoint, secret: "creds" })).status,
    ).toBe(201);
    for (const res of [
      await api("GET", `/v1/shares/${s}/files/nodns/x.txt`),
      await api("GET", `/v1/shares/${s}/list/nodns`),
      await put(s, "/nodns/y.txt", "y"),
    ]) {
      const err = await expectError(res, 502, "EUPSTREAM");
      expect(err.message).toContain(
        "bucket mount /nodns (data-bucket at data-bucket.storage.no-such-host.invalid) unreachable: ",
      );
      expect(err.message).not.toMatch(/^internal error/);
      expect(err.message).toMatch(/does not resolve/);
    }
  });

  it("read-only mounts refuse every write with 403 EACCES before reaching the bucket", async () => {
    const s = await newShare();
    expect((await mount(s, "/ro", { ...target, secret: "creds", readOnly: true })).status).toBe(
      201,
    );
    await expectError(await put(s, "/ro/f", "x"), 403, "EACCES");
    await expectError(await api("DELETE", `/v1/shares/${s}/files/ro/f`), 403, "EACCES");
    await expectError(await api("PUT", `/v1/shares/${s}/files/ro/d/`), 403, "EACCES");
    await expectError(
      await api("POST", `/v1/shares/${s}/copy`, { body: '{"from":"/ro/a","to":"/ro/b"}' }),
      403,
      "EACCES",
    );
  });

  it("refuses endpoints on loopback, private, link-local or local hosts and this gateway (400 EINVAL)", async () => {
    const s = await newShare();
    const refused = [
      "http://127.0.0.1:8080",
      "http://127.1.2.3",
      "http://2130706433", // 127.0.0.1 in decimal
      "http://0x7f.1", // and in hex
      "http://0177.0.0.1", // and in octal
      "http://0.0.0.0:9000",
      "http://10.1.2.3",
      "http://172.16.0.1",
      "http://172.31.255.255",
      "http://192.168.1.1",
      "http://169.254.169.254/latest/meta-data", // cloud metadata
      "http://100.64.0.1",
      "http://[::1]:9000",
      "http://[::]",
      "http://[fd00::1]",
      "http://[fc12:3456::1]",
      "http://[fe80::1]",
      "http://[::ffff:127.0.0.1]",
      "http://[::ffff:169.254.169.254]",
      "http://localhost:22",
      "http://LOCALHOST.",
      "http://s3.localhost",
      "http://minio.local:9000",
      "http://metadata.google.internal",
      "http://minio:9000", // a single-label (local network) name
      "http://edgefs.test", // this gateway (the tests' Host)
      "https://EDGEFS.test:8443",
    ];
    for (const endpoint of refused) {
      const err = await expectError(
        await mount(s, "/m", { ...target, endpoint, secret: "creds" }),
        400,
        "EINVAL",
      );
      expect(err.message, endpoint).toContain("EDGEFS_MOUNT_ALLOW_HOSTS");
    }
    // Virtual-hosted style: the bucket becomes part of the host (my-bucket.localhost).
    await expectError(
      await mount(s, "/m", { bucket: "my-bucket", endpoint: "http://localhost", secret: "creds" }),
      400,
      "EINVAL",
    );
    // Credentials in the URL are refused whatever the host: they belong in a secret.
    for (const endpoint of ["https://user:pass@s3.example.com", "http://key@127.0.0.1:9"]) {
      const err = await expectError(await mount(s, "/m", { ...target, endpoint }), 400, "EINVAL");
      expect(err.message).toContain("user:password@");
    }
    await expectError(await api("GET", `/v1/shares/${s}/mounts/m`), 404, "ENOENT");
  });

  it("lets through public hosts and what EDGEFS_MOUNT_ALLOW_HOSTS lists, port by port", async () => {
    const s = await newShare();
    // vitest.config.ts allows 127.0.0.1:9 only.
    const ok = [
      "http://127.0.0.1:9",
      "http://0x7f.0.0.1:9/prefix",
      "https://s3.eu-west-1.amazonaws.com",
      "https://8.8.8.8",
    ];
    for (const [i, endpoint] of ok.entries()) {
      expect((await mount(s, `/ok${i}`, { ...target, endpoint })).status, endpoint).toBe(201);
    }
    await expectError(
      await mount(s, "/no", { ...target, endpoint: "http://127.0.0.1:10" }),
      400,
      "EINVAL",
    );
  });

  it("a stored mount whose endpoint the rules refuse is refused on use (403 EACCES), unsent", async () => {
    const s = await newShare();
    // As a mount stored before the rules existed, or allowed by an entry since removed.
    const stored = await shareStub(env, "main", s).putMount("/old" as FsPath, {
      bucket: "data-bucket",
      endpoint: "http://169.254.169.254",
      region: "auto",
      keyPrefix: "",
      secret: null,
      readOnly: false,
      requesterPays: false,
      forcePathStyle: true,
    });
    expect(stored.ok).toBe(true);
    for (const res of [
      await api("GET", `/v1/shares/${s}/files/old/latest/meta-data`),
      await api("GET", `/v1/shares/${s}/list/old`),
      await put(s, "/old/x", "x"),
      await api("PROPFIND", `/dav/main/${s}/old/`, { headers: { depth: "1" } }),
    ]) {
      expect(res.status).toBe(403);
    }
    const err = await expectError(await api("GET", `/v1/shares/${s}/files/old/x`), 403, "EACCES");
    expect(err.message).toContain("/old");
    expect(err.message).toContain("EDGEFS_MOUNT_ALLOW_HOSTS");
  });

  it("a request edgefs sent to a bucket (Edgefs-Hop) is not served from a mount again: 502 mount loop", async () => {
    const s = await newShare();
    await put(s, "/plain.txt", "share bytes");
    expect((await mount(s, "/loop", { ...target, secret: "creds" })).status).toBe(201);
    const hop = { headers: { "edgefs-hop": "1" } };
    const err = await expectError(
      await api("GET", `/v1/shares/${s}/files/loop/x.txt`, hop),
      502,
      "EUPSTREAM",
    );
    expect(err.message).toContain("mount loop");
    await expectError(
      await api("PUT", `/v1/shares/${s}/files/loop/x.txt`, { ...hop, body: "x" }),
      502,
      "EUPSTREAM",
    );
    // Share storage is no loop: it still answers.
    const plain = await api("GET", `/v1/shares/${s}/files/plain.txt`, hop);
    expect(await plain.text()).toBe("share bytes");
  });
});
