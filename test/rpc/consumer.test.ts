import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// vitest.rpc.config.ts: this Worker is examples/rpc-consumer; GATEWAY is the
// edgefs Worker beside it, whose Edgefs entrypoint the consumer is bound to.
const gateway = (env as unknown as { GATEWAY: Fetcher }).GATEWAY;
const auth = { authorization: "Bearer test-root-token" };
const consumer = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://consumer${path}`, init));

describe("the example consumer Worker, bound to the gateway's Edgefs entrypoint", () => {
  it("stores an upload through RPC, serves it back, and maps edgefs's errors", async () => {
    expect(
      (await gateway.fetch("http://edgefs/v1/shares/reports", { method: "PUT", headers: auth }))
        .status,
    ).toBe(201);
    const put = await consumer("/reports/q3.csv", {
      method: "PUT",
      body: "a,b\n1,2\n",
      headers: { "content-type": "text/csv", "content-length": "8" },
    });
    expect(put.status).toBe(201);
    expect(await put.json()).toMatchObject({ absolutePath: "/q3.csv", size: 8 });
    // The same file through the gateway's HTTP API.
    const native = await gateway.fetch("http://edgefs/v1/shares/reports/files/q3.csv", {
      headers: auth,
    });
    expect(await native.text()).toBe("a,b\n1,2\n");
    expect(native.headers.get("content-type")).toBe("text/csv");
    expect(await (await consumer("/reports/q3.csv")).text()).toBe("a,b\n1,2\n");
    const missing = await consumer("/reports/none.csv");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "ENOENT" } });
  });

  it("streams a big upload through the binding without a known length", {
    timeout: 60_000,
  }, async () => {
    const size = 24 * 1024 * 1024;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= size) return c.close();
        const chunk = new Uint8Array(Math.min(65536, size - sent)).fill(sent & 0xff);
        sent += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    const put = await consumer("/reports/big.bin", { method: "PUT", body });
    expect(put.status).toBe(201);
    const back = await consumer("/reports/big.bin");
    expect(back.headers.get("content-length")).toBe(String(size));
    expect((await back.arrayBuffer()).byteLength).toBe(size);
  });

  it("waits for a file that lands later", async () => {
    const waiting = consumer("/wait/later.txt?timeout=20");
    await gateway.fetch("http://edgefs/v1/shares/reports/files/later.txt", {
      method: "PUT",
      body: "now",
      headers: auth,
    });
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ absolutePath: "/later.txt", size: 3 });
  });
});
