import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/summary-reporter.js";

// Worker tests: run inside workerd with the real bindings of wrangler.jsonc
// (R2, SQLite Durable Objects). Storage is isolated per test file.
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          EDGEFS_ROOT_TOKEN: "test-root-token",
          // Rotation in progress: the previous root token and signing key still work.
          EDGEFS_ROOT_TOKEN_PREVIOUS: "old-root-token",
          EDGEFS_SIGNING_KEY: "test-signing-key",
          EDGEFS_SIGNING_KEY_PREVIOUS: "old-signing-key",
          EDGEFS_SECRETS_KEY: "test-secrets-key",
          EDGEFS_CORS_ORIGINS: "https://app.example",
          // Virtual-hosted S3 requests: {bucket}.s3.edgefs.test.
          EDGEFS_S3_HOST: "s3.edgefs.test",
          EDGEFS_DEV_ROUTES: "1",
          // A tiny budget of tree rows per transaction, so every test with a subtree
          // of 100 entries or more runs the background delete and copy paths.
          EDGEFS_BATCH_ROWS: "100",
          // No time-based history here (replaced bytes go at once, as the GC tests
          // expect); vitest.limits.config.ts tests retention.
          EDGEFS_VERSION_RETENTION_SECONDS: "0",
          // A small feed, so the feed tests reach its bound (changes.test.ts).
          EDGEFS_FEED_MAX_EVENTS: "500",
          // GC tests wait out a 1 s grace instead of the default 5 minutes.
          EDGEFS_GC_GRACE_SECONDS: "1",
          // "long" (npm run test:stress): the property tests try many more cases.
          EDGEFS_STRESS: process.env.EDGEFS_STRESS ?? "",
          // The unreachable bucket endpoint of the mount tests (port 9, discard); other
          // loopback endpoints stay refused, which those tests check.
          EDGEFS_MOUNT_ALLOW_HOSTS: "127.0.0.1:9",
        },
      },
    }),
  ],
  test: {
    reporters: ["default", new SummaryReporter("worker")],
    include: ["test/worker/**/*.test.ts", "test/unit/**/*.test.ts", "test/contract/**/*.test.ts"],
  },
});
