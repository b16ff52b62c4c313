import { spawn } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";

const MiB = 1024 * 1024;

/** Part `n` of a deterministic file: AES-CTR keystream, fast and incompressible. */
function partBytes(n: number, size: number): Uint8Array<ArrayBuffer> {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(n, 0);
  const cipher = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), iv);
  const out = new Uint8Array(size);
  out.set(cipher.update(Buffer.alloc(size)));
  return out;
}

describe("multipart uploads end to end", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const auth = () => ({ authorization: `Bearer ${server.token}` });
  const call = (method: string, path: string, body?: BodyInit) =>
    fetch(`${server.url}${path}`, { method, body, headers: auth() });

  beforeAll(async () => {
    server = await startServer();
    expect((await call("PUT", "/v1/shares/big")).status).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a 1 GiB file in 64 MiB parts, 4 in flight, downloads byte-identical", {
    timeout: 300_000,
  }, async () => {
    const partSize = 64 * MiB;
    const parts = 16;
    const created = await call(
      "POST",
      "/v1/shares/big/uploads",
      JSON.stringify({ path: "/gib.bin", partSize }),
    );
    expect(created.status).toBe(201);
    const { uploadId } = (await created.json()) as { uploadId: string };
    let next = 1;
    const worker = async () => {
      while (next <= parts) {
        const n = next++;
        const res = await call(
          "PUT",
          `/v1/shares/big/uploads/${uploadId}/parts/${n}`,
          partBytes(n, partSize),
        );
        expect(res.status).toBe(200);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const done = await call("POST", `/v1/shares/big/uploads/${uploadId}/complete`);
    expect(done.status).toBe(201);
    expect(((await done.json()) as { size: number }).size).toBe(parts * partSize);

    const sent = createHash("sha256");
    for (let n = 1; n <= parts; n++) sent.update(partBytes(n, partSize));
    const got = createHash("sha256");
    const res = await call("GET", "/v1/shares/big/files/gib.bin");
    expect(res.headers.get("content-length")).toBe(String(parts * partSize));
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) got.update(chunk);
    expect(got.digest("hex")).toBe(sent.digest("hex"));
  });

  it("an upload whose client is killed mid-part is resumed from status by a new client", {
    timeout: 120_000,
  }, async () => {
    const partSize = 5 * MiB;
    const sizes = [partSize, partSize, partSize, 3 * MiB + 17];
    const bytes = sizes.map((size, i) => partBytes(100 + i, size));
    const created = await call(
      "POST",
      "/v1/shares/big/uploads",
      JSON.stringify({ path: "/resumed.bin", partSize }),
    );
    const { uploadId } = (await created.json()) as { uploadId: string };
    const partUrl = (n: number) => `${server.url}/v1/shares/big/uploads/${uploadId}/parts/${n}`;

    // The first client sends parts 1 and 2, then dies (SIGKILL) in the middle of part 3.
    for (const n of [1, 2]) {
      expect(
        (
          await fetch(partUrl(n), {
            method: "PUT",
            body: bytes[n - 1] as Uint8Array<ArrayBuffer>,
            headers: auth(),
          })
        ).status,
      ).toBe(200);
    }
    const curl = spawn(
      "curl",
      [
        "-sS",
        "-X",
        "PUT",
        "--limit-rate",
        "1M",
        "-H",
        `Authorization: Bearer ${server.token}`,
        "--data-binary",
        "@-",
        partUrl(3),
      ],
      { stdio: ["pipe", "ignore", "ignore"] },
    );
    curl.stdin.end(bytes[2]);
    await new Promise((r) => setTimeout(r, 1500));
    curl.kill("SIGKILL");
    await new Promise((r) => curl.once("exit", r));

    // A new client asks what arrived and sends only the rest.
    const status = (await (await call("GET", `/v1/shares/big/uploads/${uploadId}`)).json()) as {
      parts: { partNumber: number; size: number }[];
    };
    expect(status.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    await expectNotVisible();
    const have = new Set(status.parts.map((p) => p.partNumber));
    for (let n = 1; n <= sizes.length; n++) {
      if (have.has(n)) continue;
      expect(
        (
          await fetch(partUrl(n), {
            method: "PUT",
            body: bytes[n - 1] as Uint8Array<ArrayBuffer>,
            headers: auth(),
          })
        ).status,
      ).toBe(200);
    }
    expect((await call("POST", `/v1/shares/big/uploads/${uploadId}/complete`)).status).toBe(201);
    const back = Buffer.from(
      await (await call("GET", "/v1/shares/big/files/resumed.bin")).arrayBuffer(),
    );
    expect(createHash("sha256").update(back).digest("hex")).toBe(
      createHash("sha256").update(Buffer.concat(bytes)).digest("hex"),
    );

    async function expectNotVisible() {
      expect((await call("GET", "/v1/shares/big/stat/resumed.bin")).status).toBe(404);
    }
  });
});
