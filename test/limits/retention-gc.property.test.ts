import { describe, it } from "vitest";
import { retentionGcProperty } from "../worker/retention-gc.model";

// vitest.limits.config.ts: versions stay readable for an hour.
describe("retention GC (property)", () => {
  it(
    "keeps exactly what readable versions and snapshots need, and counts it",
    { timeout: 240_000 },
    retentionGcProperty,
  );
});
