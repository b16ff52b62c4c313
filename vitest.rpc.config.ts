import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/summary-reporter.js";

// Two Workers, as deployed: the example consumer (examples/rpc-consumer) is
// the Worker under test, and the gateway runs beside it as an auxiliary
// worker named "edgefs" — the bundle `npm run build` makes (dist/worker),
// with its Durable Objects and R2 bucket — which the consumer's service
// binding reaches through the Edgefs entrypoint.
const gateway = JSON.parse(readFileSync("dist/worker/worker.json", "utf8")) as {
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  r2Buckets: Record<string, string>;
  durableObjects: Record<string, { className: string; useSQLite: boolean }>;
};

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./examples/rpc-consumer/wrangler.jsonc" },
      miniflare: {
        bindings: { EDGEFS_TOKEN: "test-root-token" },
        // The gateway's HTTP API, for the test to look at what the consumer did.
        serviceBindings: { GATEWAY: "edgefs" },
        workers: [
          {
            name: "edgefs",
            modules: [
              {
                type: "ESModule",
                path: "index.js",
                contents: readFileSync("dist/worker/index.js", "utf8"),
              },
            ],
            compatibilityDate: gateway.compatibilityDate,
            compatibilityFlags: gateway.compatibilityFlags,
            bindings: {
              ...gateway.vars,
              EDGEFS_ROOT_TOKEN: "test-root-token",
              EDGEFS_SIGNING_KEY: "test-signing-key",
              EDGEFS_SECRETS_KEY: "test-secrets-key",
            },
            r2Buckets: gateway.r2Buckets,
            durableObjects: gateway.durableObjects,
          },
        ],
      },
    }),
  ],
  // EDGEFS_RPC_BENCH=1 (npm run bench:rpc, bench/rpc.mjs): the same two Workers run the benchmark instead.
  test:
    process.env.EDGEFS_RPC_BENCH === "1"
      ? { include: ["bench/rpc/*.bench-test.ts"], testTimeout: 600_000 }
      : { reporters: ["default", new SummaryReporter("rpc")], include: ["test/rpc/**/*.test.ts"] },
});
