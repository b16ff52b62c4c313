import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/summary-reporter.js";

// Worker tests of configured limits: the same workerd and bindings as
// vitest.config.ts, but a share's Durable Object may hold only 2 MB, so the
// limit is reached in seconds (locally nothing else enforces it), and
// replaced versions stay readable for an hour.
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          EDGEFS_ROOT_TOKEN: "test-root-token",
          EDGEFS_SIGNING_KEY: "test-signing-key",
          EDGEFS_SECRETS_KEY: "test-secrets-key",
          EDGEFS_DEV_ROUTES: "1",
          EDGEFS_GC_GRACE_SECONDS: "1",
          EDGEFS_BATCH_ROWS: "100",
          EDGEFS_STORAGE_LIMIT_BYTES: "2000000",
          // Replaced versions stay readable for an hour (tests of reads at a version).
          EDGEFS_VERSION_RETENTION_SECONDS: "3600",
          // The change feed keeps a second of events (feed-retention.test.ts).
          EDGEFS_FEED_RETENTION_SECONDS: "1",
        },
      },
    }),
  ],
  test: {
    reporters: ["default", new SummaryReporter("limits")],
    include: ["test/limits/**/*.test.ts"],
  },
});
