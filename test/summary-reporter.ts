import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends a run with one plain line, `<suite>: N passed, N failed, N skipped`,
 * which CI systems read without parsing vitest's coloured table.
 */
export default class SummaryReporter implements Reporter {
  constructor(private readonly suite: string) {}

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else counts.skipped++;
      }
    }
    console.log(
      `${this.suite}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
    );
  }
}
