import { describe, it } from "vitest";
import { retentionGcProperty } from "./retention-gc.model";

// vitest.config.ts: no retention window; only snapshots keep old versions.
describe("retention GC (property)", () => {
  it(
    "keeps exactly what readable versions and snapshots need, and counts it",
    { timeout: 240_000 },
    retentionGcProperty,
  );
});
