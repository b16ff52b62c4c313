import { describe, expect, it } from "vitest";
import { api, chunkedBody, expectError, json, newShare } from "./helpers";

/**
 * JSON bodies are read with a cap (64 KiB) and only after the caller is known
 * to hold some permission the route needs: the attack review sent 300 MB to
 * `presign` with a token for another share and got 400 after the Worker had
 * read it all (+400 MB); 600 MB gave 500 EINTERNAL.
 */

const CAP = 64 * 1024;
/** A syntactically valid JSON body of over `size` bytes. */
const padded = (fields: Record<string, unknown>, size: number) =>
  JSON.stringify({ ...fields, pad: "x".repeat(size) });

async function mint(body: Record<string, unknown>): Promise<string> {
  const res = await api("POST", "/v1/tokens", { body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await json<{ token: string }>(res)).token;
}

describe("JSON request bodies", () => {
  it("refuses a caller without permission before reading its body", async () => {
    const s = await newShare("json");
    const otherShare = await mint({ shares: ["elsewhere"], permissions: ["read", "write"] });
    const reader = await mint({ shares: ["*"], permissions: ["read"] });
    // A body that never ends: the answer must come without reading it.
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull: (c) => c.enqueue(new Uint8Array(65536).fill(32)),
      });
    await expectError(
      await api("POST", `/v1/shares/${s}/presign`, { body: endless(), token: otherShare }),
      403,
      "EACCES",
    );
    await expectError(
      await api("POST", "/v1/shares", { body: endless(), token: reader }),
      403,
      "EACCES",
    );
  });

  it("answers 413 ETOOLARGE past the cap, declared or chunked, on every JSON route", async () => {
    const s = await newShare("json");
    const big = padded({ path: "/x", method: "GET" }, CAP + 1);
    const routes: [string, string][] = [
      ["POST", `/v1/shares/${s}/presign`],
      ["POST", "/v1/shares"],
      ["POST", "/v1/tokens"],
      ["POST", `/v1/shares/${s}/move`],
      ["POST", `/v1/shares/${s}/copy`],
      ["POST", `/v1/shares/${s}/leases`],
      ["POST", `/v1/shares/${s}/uploads`],
      ["PUT", `/v1/shares/${s}/mounts/m`],
      ["PUT", "/v1/secrets/big"],
      ["PUT", `/v1/shares/${s}-new`],
    ];
    for (const [method, path] of routes) {
      const declared = await api(method, path, { body: big });
      await expectError(declared, 413, "ETOOLARGE");
      const chunked = await api(method, path, {
        body: chunkedBody(new TextEncoder().encode(big)),
      });
      await expectError(chunked, 413, "ETOOLARGE");
    }
    // Nothing was created by the refused bodies.
    await expectError(await api("GET", `/v1/shares/${s}-new`), 404, "ENOENT");
  });

  it("accepts a body up to the cap", async () => {
    const s = await newShare("json");
    const body = JSON.stringify({ path: "/x", method: "GET" });
    const atCap = body + " ".repeat(CAP - body.length);
    expect(atCap.length).toBe(CAP);
    const res = await api("POST", `/v1/shares/${s}/presign`, { body: atCap });
    expect(res.status, await res.clone().text()).toBe(201);
    await expectError(
      await api("POST", `/v1/shares/${s}/presign`, { body: `${atCap} ` }),
      413,
      "ETOOLARGE",
    );
  });
});
