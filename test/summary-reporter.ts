import type { SerializedError } from "vitest";
import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends a run with one plain line, `<suite>: N passed, N failed, N skipped`,
 * which CI systems read without parsing vitest's coloured table.
 */
export default class SummaryReporter implements Reporter {
  constructor(private readonly suite: string) {}

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
  ): void {
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    for (const module of testModules) {
      // A file whose hooks failed marks its tests skipped: count the file as a failure.
      const failedTests = [...module.children.allTests("failed")].length;
      if (module.state() === "failed" && failedTests === 0) counts.failed++;
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
