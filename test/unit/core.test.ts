import { describe, expect, it } from "vitest";
import { FsError } from "../../src/core/errors";
import { compileGlob } from "../../src/core/glob";
import { ancestorsOf, parentOf, parsePath, parseUrlPath } from "../../src/core/paths";
import { checkWriteConditions, parseETagList } from "../../src/core/preconditions";
import { parseRange } from "../../src/core/range";
import { guard, guardSync } from "../../src/durable/rpc";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof FsError ? e.code : "other";
  }
  return "ok";
};

describe("paths", () => {
  it("canonicalizes and splits", () => {
    expect(parseUrlPath("//a///b/").path).toBe("/a/b");
    expect(parseUrlPath("//a///b/").trailingSlash).toBe(true);
    expect(parseUrlPath("").path).toBe("/");
    expect(parsePath("a/b")).toBe("/a/b");
    expect(parentOf(parsePath("/a/b/c"))).toBe("/a/b");
    expect(parentOf(parsePath("/a"))).toBe("/");
    expect(ancestorsOf(parsePath("/a/b/c"))).toEqual(["/a", "/a/b"]);
  });
  it("keeps a percent-encoded segment whole", () => {
    expect(parseUrlPath("/a%20b/c%25d").path).toBe("/a b/c%d");
    expect(code(() => parseUrlPath("/a%2Fb"))).toBe("EINVAL");
  });
});

describe("ranges", () => {
  it("parses the forms of RFC 9110", () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange("bytes=2-4", 10)).toEqual({ offset: 2, length: 3 });
    expect(parseRange("bytes=7-", 10)).toEqual({ offset: 7, length: 3 });
    expect(parseRange("bytes=-3", 10)).toEqual({ offset: 7, length: 3 });
    expect(parseRange("bytes=0-999", 10)).toEqual({ offset: 0, length: 10 });
    expect(code(() => parseRange("bytes=10-", 10))).toBe("ERANGE");
    expect(code(() => parseRange("bytes=-0", 10))).toBe("ERANGE");
    expect(code(() => parseRange("bytes=3-1", 10))).toBe("EINVAL");
    expect(code(() => parseRange("bytes=1-2,4-5", 10))).toBe("EINVAL");
  });
});

describe("preconditions", () => {
  it("parses entity-tag lists", () => {
    expect(parseETagList('"a", W/"b"')).toEqual(['"a"', '"b"']);
    expect(parseETagList("*")).toEqual(["*"]);
    expect(code(() => parseETagList("a"))).toBe("EINVAL");
    expect(code(() => parseETagList('"a" "b"'))).toBe("EINVAL");
  });
  it("decides writes", () => {
    expect(code(() => checkWriteConditions({ ifNoneMatch: ["*"] }, undefined, "/p"))).toBe("ok");
    expect(code(() => checkWriteConditions({ ifNoneMatch: ["*"] }, '"x"', "/p"))).toBe(
      "EPRECONDITION",
    );
    expect(code(() => checkWriteConditions({ ifMatch: ['"x"'] }, '"x"', "/p"))).toBe("ok");
    expect(code(() => checkWriteConditions({ ifMatch: ['"x"'] }, '"y"', "/p"))).toBe(
      "EPRECONDITION",
    );
    expect(code(() => checkWriteConditions({ ifMatch: ["*"] }, undefined, "/p"))).toBe(
      "EPRECONDITION",
    );
  });
});

describe("globs", () => {
  it("finds the literal prefix to push into the index", () => {
    const g = compileGlob("/data/2024-*.csv");
    expect(g).toMatchObject({ baseDir: "/data", literalPrefix: "/data/2024-", singleLevel: true });
    const deep = compileGlob("/data/**/x.csv");
    expect(deep).toMatchObject({ baseDir: "/data", literalPrefix: "/data/", singleLevel: false });
    expect(compileGlob("/*/b").singleLevel).toBe(false);
  });
  it("matches * within a segment and ** across", () => {
    const g = compileGlob("/a/*.txt");
    expect(g.matches("/a/x.txt")).toBe(true);
    expect(g.matches("/a/b/x.txt")).toBe(false);
    const d = compileGlob("/**/x");
    expect(d.matches("/x")).toBe(true);
    expect(d.matches("/a/b/x")).toBe(true);
    expect(compileGlob("/*").matches("/.dot")).toBe(true);
  });
});

describe("storage full", () => {
  it("the runtime's own SQLITE_FULL is 507 ENOSPC, not an internal error", async () => {
    const full = () => {
      throw new Error("database or disk is full: SQLITE_FULL");
    };
    expect(guardSync(full)).toMatchObject({ ok: false, error: { code: "ENOSPC" } });
    expect(await guard(full)).toMatchObject({ ok: false, error: { code: "ENOSPC" } });
    // Anything else stays a bug: thrown, logged, 500.
    expect(() =>
      guardSync(() => {
        throw new Error("no such table: x");
      }),
    ).toThrow("no such table");
  });
});
