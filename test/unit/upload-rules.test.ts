import { describe, expect, it } from "vitest";
import { FsError } from "../../src/core/errors";
import { chooseParts, MIN_PART_SIZE } from "../../src/core/uploads";

const M = MIN_PART_SIZE;
const part = (partNumber: number, size: number) => ({ partNumber, size, etag: `"e${partNumber}"` });
const named = (...numbers: number[]) => numbers.map((n) => ({ partNumber: n, etag: `e${n}` }));

function refusal(call: () => unknown): { code: string; reason?: string } {
  try {
    call();
  } catch (e) {
    if (e instanceof FsError)
      return e.reason === undefined ? { code: e.code } : { code: e.code, reason: e.reason };
    throw e;
  }
  throw new Error("no refusal");
}

describe("chooseParts: which parts a completion stitches", () => {
  it("named parts are used in order, the others left out; sizes add up", () => {
    const stored = [part(1, M), part(2, 10), part(3, M), part(4, 7)];
    const chosen = chooseParts(stored, named(1, 3, 4), {});
    expect(chosen.parts.map((p) => p.partNumber)).toEqual([1, 3, 4]);
    expect(chosen.size).toBe(2 * M + 7);
  });

  it("one part of any size is a whole file; without names every part is used, from 1", () => {
    expect(chooseParts([part(1, 3)], undefined, {}).size).toBe(3);
    expect(refusal(() => chooseParts([part(1, M), part(3, 1)], undefined, {}))).toEqual({
      code: "EINVAL",
    });
  });

  it("S3's reasons: order, unknown parts and ETags, small and unequal parts", () => {
    const stored = [part(1, M), part(2, M + 1), part(3, 1)];
    expect(refusal(() => chooseParts(stored, named(2, 1), {})).reason).toBe("InvalidPartOrder");
    expect(refusal(() => chooseParts(stored, named(1, 1), {})).reason).toBe("InvalidPartOrder");
    expect(refusal(() => chooseParts(stored, named(1, 9), {})).reason).toBe("InvalidPart");
    expect(refusal(() => chooseParts(stored, [{ partNumber: 1, etag: '"e2"' }], {})).reason).toBe(
      "InvalidPart",
    );
    expect(refusal(() => chooseParts(stored, named(1, 2, 3), {})).reason).toBe("InvalidPart");
    expect(refusal(() => chooseParts(stored, named(3, 2), {})).reason).toBe("InvalidPartOrder");
    expect(refusal(() => chooseParts([part(1, 1), part(2, 1)], named(1, 2), {})).reason).toBe(
      "EntityTooSmall",
    );
    expect(refusal(() => chooseParts(stored, named(1, 2), {})).reason).toBe("InvalidPart");
  });

  it("with a fixed partSize, the parts before the last are that size, however small", () => {
    const stored = [part(1, 8), part(2, 8), part(3, 2)];
    expect(chooseParts(stored, named(1, 2, 3), { partSize: 8 }).size).toBe(18);
    expect(refusal(() => chooseParts(stored, named(1, 2, 3), { partSize: 9 })).reason).toBe(
      "InvalidPart",
    );
  });

  it("a declared size must be what the parts used add up to", () => {
    const stored = [part(1, M), part(2, 5)];
    expect(chooseParts(stored, named(1, 2), { size: M + 5 }).size).toBe(M + 5);
    expect(refusal(() => chooseParts(stored, named(1), { size: M + 5 }))).toEqual({
      code: "EINVAL",
    });
  });
});
