import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type EdgefsBinding, errorCodeOf } from "../../src/rpc/types";
import { api, json, newShare, TOKEN } from "./helpers";

// The Worker's own named entrypoint, as a service binding to it would be:
// every argument and result crosses Workers RPC.
const edgefs = (exports as unknown as { Edgefs: EdgefsBinding }).Edgefs;

const root = { token: TOKEN };

/** The error code a call rejects with (the test fails if it resolves). */
async function codeOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (e) {
    expect((e as Error).name).toBe("EdgefsError");
    return errorCodeOf(e);
  }
  throw new Error("the call succeeded");
}

async function mint(scope: Record<string, unknown>): Promise<{ token: string; tokenId: string }> {
  const res = await api("POST", "/v1/tokens", { body: JSON.stringify(scope) });
  expect(res.status).toBe(201);
  return json(res);
}

const text = (body: ReadableStream<Uint8Array> | null) => new Response(body).text();

describe("the RPC entrypoint: a share's SDK methods over a service binding", () => {
  it("writes, reads (ranges, conditions), stats, lists with cursors, moves, copies and removes", async () => {
    const name = await newShare("rpc");
    using share = edgefs.share(name, root);
    const written = await share.writeFile("/docs/a.txt", "hello world", {
      contentType: "text/plain",
    });
    expect(written).toMatchObject({ created: true, entry: { path: "/docs/a.txt", size: 11 } });
    expect(typeof written.version).toBe("number");
    // The same file over HTTP: one share, whichever front-end.
    expect(await (await api("GET", `/v1/shares/${name}/files/docs/a.txt`)).text()).toBe(
      "hello world",
    );

    const whole = await share.readFile("/docs/a.txt");
    expect(await text(whole.body)).toBe("hello world");
    const part = await share.readFile("/docs/a.txt", { range: { offset: 6, length: 5 } });
    expect(part.range).toEqual({ offset: 6, length: 5 });
    expect(await text(part.body)).toBe("world");
    const etag = whole.entry.etag as string;
    expect(await share.readFile("/docs/a.txt", { ifNoneMatch: etag })).toMatchObject({
      notModified: true,
      body: null,
    });
    // Compare-and-swap and create-only, judged at commit as over HTTP.
    expect(await codeOf(share.writeFile("/docs/a.txt", "x", { ifMatch: '"stale"' }))).toBe(
      "EPRECONDITION",
    );
    expect(await codeOf(share.writeFile("/docs/a.txt", "x", { ifNoneMatch: "*" }))).toBe(
      "EPRECONDITION",
    );
    await share.writeFile("/docs/a.txt", new TextEncoder().encode("bytes"), { ifMatch: etag });
    expect((await share.stat("/docs/a.txt")).size).toBe(5);

    expect(await share.exists("/docs/a.txt")).toBe(true);
    expect(await share.exists("/nope")).toBe(false);
    expect(await codeOf(share.stat("/nope"))).toBe("ENOENT");

    await share.mkdir("/many");
    for (let i = 0; i < 5; i++) await share.writeFile(`/many/f${i}.csv`, String(i));
    const first = await share.listdir("/many", { limit: 2 });
    expect(first.entries.map((e) => e.path)).toEqual(["f0.csv", "f1.csv"]);
    const rest = await share.listdir("/many", { limit: 10, cursor: first.cursor });
    expect(rest.entries.map((e) => e.path)).toEqual(["f2.csv", "f3.csv", "f4.csv"]);
    expect(rest.cursor).toBeUndefined();
    expect((await share.listdir("/many/*.csv")).entries.length).toBe(5);

    expect((await share.move("/docs/a.txt", "/docs/b.txt")).absolutePath).toBe("/docs/b.txt");
    await share.copy("/many", "/many2", { recursive: true });
    expect(await codeOf(share.copy("/many", "/many3"))).toBe("EISDIR");
    expect(await codeOf(share.move("/many", "/many2"))).toBe("EEXIST");
    expect(await codeOf(share.removeFile("/many2"))).toBe("ENOTEMPTY");
    await share.removeFile("/many2", { recursive: true });
    expect(await share.exists("/many2")).toBe(false);
    expect(await codeOf(share.writeFile("../x", "x"))).toBe("EINVAL");
  });

  it("leases, presigned URLs, info, quota, the change feed and waitFor", async () => {
    const name = await newShare("rpc");
    using share = edgefs.share(name, root);
    const lease = await share.acquireLease("/locked", { ttlSeconds: 30 });
    expect(await codeOf(share.writeFile("/locked/x", "x"))).toBe("ELOCKED");
    await share.writeFile("/locked/x", "x", { lease: lease.leaseId });
    expect((await share.listLeases()).map((l) => l.leaseId)).toEqual([lease.leaseId]);
    expect((await share.renewLease(lease.leaseId, { ttlSeconds: 60 })).leaseId).toBe(lease.leaseId);
    await share.releaseLease(lease.leaseId);
    expect(await share.listLeases()).toEqual([]);

    const signed = await share.presign("/locked/x", {
      baseUrl: "http://edgefs.test",
      expiresIn: 60,
    });
    const fetched = await exports.default.fetch(new Request(signed.url));
    expect(await fetched.text()).toBe("x");
    expect(await codeOf(share.presign("/locked/x", { baseUrl: "not a url" }))).toBe("EINVAL");

    expect((await share.setQuota({ files: 100 })).quota).toEqual({ files: 100 });
    const info = await share.info();
    expect(info).toMatchObject({ name, usage: { files: 1 } });

    const start = (await share.changes()).next;
    const waiting = share.waitFor("/inbox/ready.txt", { timeout: 20 });
    await share.writeFile("/inbox/other.txt", "o");
    await share.writeFile("/inbox/ready.txt", "r");
    expect((await waiting).absolutePath).toBe("/inbox/ready.txt");
    const page = await share.changes({ since: start, path: "/inbox/**" });
    expect(page.changes.map((e) => `${e.op} ${e.path}`)).toEqual([
      "put /inbox/other.txt",
      "put /inbox/ready.txt",
    ]);
    expect(await codeOf(share.waitFor("/never", { timeout: 0.2 }))).toBe("ENOENT");
    expect(await codeOf(share.changes({ since: "bogus" }))).toBe("EINVAL");
  });

  it("snapshots, history and restore: a file brought back as it was", async () => {
    const name = await newShare("rpc");
    using share = edgefs.share(name, root);
    await share.writeFile("/notes.txt", "first");
    const kept = await share.snapshot("before");
    expect(kept).toMatchObject({ name: "before" });
    await share.writeFile("/notes.txt", "second");
    expect(
      await text((await share.readFile("/notes.txt", { at: { snapshot: "before" } })).body),
    ).toBe("first");
    const history = await share.history("/notes.txt");
    expect(history.versions.length).toBeGreaterThanOrEqual(1);
    await share.removeFile("/notes.txt");
    const restored = await share.restore("/notes.txt", { snapshot: "before" });
    expect(restored.entry.size).toBe(5);
    expect(await text((await share.readFile("/notes.txt")).body)).toBe("first");
    expect((await share.listSnapshots()).map((s) => s.name)).toEqual(["before"]);
    await share.deleteSnapshot("before");
    expect(await share.listSnapshots()).toEqual([]);
    expect(await codeOf(share.restore("/notes.txt", {} as { version: number }))).toBe("EINVAL");
  });

  it("shares: create, list what the token sees, ephemeral with heartbeats, delete", async () => {
    const name = `rpc-admin-${Date.now().toString(36)}`;
    expect(await edgefs.createShare(name, root)).toBe(true);
    expect(await edgefs.createShare(name, root)).toBe(false);
    const scoped = await mint({ shares: [name], permissions: ["read"] });
    const seen = await edgefs.listShares({ token: scoped.token });
    expect(seen.shares.map((s) => s.name)).toEqual([name]);
    const { name: temp, share: tempShare } = await edgefs.ephemeral({ ...root, ttlSeconds: 60 });
    expect(temp).toMatch(/^ephemeral-/);
    expect((await tempShare.heartbeat()).expiresAt).toBeGreaterThan(Date.now());
    await edgefs.deleteShare(temp, root);
    expect(await codeOf(tempShare.info())).toBe("ENOENT");
    await edgefs.deleteShare(name, root);
    expect(await codeOf(edgefs.deleteShare(name, { token: scoped.token }))).toBe("EACCES");
  });

  it("checks the token on every call, exactly as over HTTP: scope, permission, revocation", async () => {
    const name = await newShare("rpc");
    const reader = await mint({ shares: [name], permissions: ["read"] });
    using share = edgefs.share(name, { token: reader.token });
    await edgefs.share(name, root).writeFile("/a", "a");
    expect(await text((await share.readFile("/a")).body)).toBe("a");
    expect(await codeOf(share.writeFile("/b", "b"))).toBe("EACCES");
    expect(await codeOf(share.setQuota({ files: 1 }))).toBe("EACCES");
    expect(await codeOf(edgefs.share("other", { token: reader.token }).stat("/"))).toBe("EACCES");
    expect(await codeOf(edgefs.share(name, { token: "wrong" }).stat("/"))).toBe("EUNAUTHENTICATED");
    // Revoked after the handle was made: its next call is refused.
    expect((await api("DELETE", `/v1/tokens/${reader.tokenId}`)).status).toBe(204);
    expect(await codeOf(share.stat("/a"))).toBe("EUNAUTHENTICATED");
    expect(await codeOf(edgefs.listShares({ token: "" }))).toBe("EUNAUTHENTICATED");
  });
});

const MiB = 1024 * 1024;

/** `size` bytes generated as they are read, 64 KiB at a time, from a seed. */
function generated(size: number, seed: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= size) {
          controller.close();
          return;
        }
        const n = Math.min(64 * 1024, size - sent);
        const chunk = new Uint8Array(n);
        for (let i = 0; i < n; i += 4096) chunk[i] = (sent + i + seed) & 0xff;
        sent += n;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

async function sha256(stream: ReadableStream<Uint8Array>): Promise<string> {
  const digest = new crypto.DigestStream("SHA-256");
  await stream.pipeTo(digest);
  return [...new Uint8Array(await digest.digest)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

describe("bytes over RPC are streams both ways", () => {
  it("64 MiB in and out, byte-identical, pulled as it goes (known length: one put)", {
    timeout: 120_000,
  }, async () => {
    const name = await newShare("rpc");
    using share = edgefs.share(name, root);
    const size = 64 * MiB;
    const { entry } = await share.writeFile("/big.bin", generated(size, 7), { size });
    expect(entry.size).toBe(size);
    const read = await share.readFile("/big.bin");
    expect(await sha256(read.body as ReadableStream<Uint8Array>)).toBe(
      await sha256(generated(size, 7)),
    );
  });

  it("a stream of unknown length is stored in parts; a short stream against its size is refused", {
    timeout: 60_000,
  }, async () => {
    const name = await newShare("rpc");
    using share = edgefs.share(name, root);
    const size = 12 * MiB;
    await share.writeFile("/parts.bin", generated(size, 3));
    expect(
      await sha256((await share.readFile("/parts.bin")).body as ReadableStream<Uint8Array>),
    ).toBe(await sha256(generated(size, 3)));
    expect(await codeOf(share.writeFile("/short.bin", generated(1000, 1), { size: 2000 }))).toBe(
      "EINVAL",
    );
    expect(await share.exists("/short.bin")).toBe(false);
  });
});
