// The RPC benchmark's measuring half (bench/rpc.mjs runs it): inside workerd,
// from the example consumer Worker, N × (4 KiB write + read of the same
// path) through the Edgefs RPC entrypoint, against the same through the
// gateway's HTTP API over a service binding (Request and Response, the
// native routes, JSON answers) — both into the same gateway Worker, in
// alternating rounds. Date.now() advances across I/O, and every operation
// here is I/O, so wall time per round is what a caller waits.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import type { EdgefsBinding } from "../../src/rpc/types";

const e = env as unknown as { EDGEFS: EdgefsBinding; GATEWAY: Fetcher };
const token = "test-root-token";
const auth = { authorization: `Bearer ${token}` };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const OPS = Number(process.env.BENCH_OPS ?? 200);
const body = new Uint8Array(4096).fill(42);

async function overRpc(n: number, round: number): Promise<number> {
  using share = e.EDGEFS.share("bench", { token });
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const path = `/rpc/${round}/${i % 50}.bin`;
    await share.writeFile(path, body);
    const { body: stream } = await share.readFile(path);
    await new Response(stream).arrayBuffer();
  }
  return Date.now() - started;
}

async function overHttp(n: number, round: number): Promise<number> {
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const url = `http://edgefs/v1/shares/bench/files/http/${round}/${i % 50}.bin`;
    const put = await e.GATEWAY.fetch(url, { method: "PUT", body, headers: auth });
    await put.arrayBuffer();
    const got = await e.GATEWAY.fetch(url, { headers: auth });
    await got.arrayBuffer();
  }
  return Date.now() - started;
}

it("4 KiB write + read: RPC vs HTTP over a service binding", async () => {
  await e.GATEWAY.fetch("http://edgefs/v1/shares/bench", { method: "PUT", headers: auth });
  // Warm both paths (isolates, the share's object) before measuring.
  await overRpc(20, -1);
  await overHttp(20, -1);
  const rpc: number[] = [];
  const http: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      rpc.push(await overRpc(OPS, r));
      http.push(await overHttp(OPS, r));
    } else {
      http.push(await overHttp(OPS, r));
      rpc.push(await overRpc(OPS, r));
    }
  }
  console.log(
    `BENCH_RESULT ${JSON.stringify({ ops: OPS, rounds: ROUNDS, rpcMs: rpc, httpMs: http })}`,
  );
});
