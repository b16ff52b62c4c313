import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/summary-reporter.js";

// End-to-end tests: plain Node, against a real `wrangler dev` started by
// test/e2e/global-setup.ts on a free loopback port.
export default defineConfig({
  test: {
    reporters: ["default", new SummaryReporter("e2e")],
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/e2e/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // expect.poll waits for what a person would see appear (a browser's page,
    // a background job); 1 s, its default, is short on a loaded CI machine.
    expect: { poll: { timeout: 10_000 } },
  },
});
