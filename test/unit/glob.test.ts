import { describe, expect, it } from "vitest";
import { FsError } from "../../src/core/errors";
import { compileGlob, isGlob } from "../../src/core/glob";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof FsError ? `${e.code}: ${e.message}` : String(e);
  }
  return "no error";
};

// [pattern, path, matches]
const TABLE: [string, string, boolean][] = [
  ["/a/*.txt", "/a/x.txt", true],
  ["/a/*.txt", "/a/.txt", true],
  ["/a/*.txt", "/a/b/x.txt", false],
  ["/a/*.txt", "/a/x.txt.bak", false],
  ["/*", "/.dot", true],
  ["/*/b", "/a/b", true],
  ["/*/b", "/b", false],
  ["/**/x", "/x", true],
  ["/**/x", "/a/b/x", true],
  ["/**/x", "/a/b/xy", false],
  ["/**/*.csv", "/.hidden/secret.csv", true],
  ["/data/**", "/data/a/b/c", true],
  ["/data/**/x.csv", "/data/x.csv", true],
  ["/data/**/x.csv", "/data/raw/deep/x.csv", true],
  ["/data/**/x.csv", "/other/x.csv", false],
  ["/a/**/b/**/c", "/a/b/c", true],
  ["/a/**/b/**/c", "/a/x/b/y/z/c", true],
  ["/a/**/b/**/c", "/a/x/c/b", false],
  ["/a/**/b", "/a/b/b/b", true],
  ["/a/b**c", "/a/bxyc", true],
  ["/a/b**c", "/a/b/c", false],
  ["/f?.dat", "/f1.dat", true],
  ["/f?.dat", "/f12.dat", false],
  ["/f?.dat", "/f\u00e9.dat", true],
  ["/f?.dat", "/f\u{1f600}.dat", true],
  ["/[abc].txt", "/b.txt", true],
  ["/[abc].txt", "/d.txt", false],
  ["/[a-c]*", "/cat", true],
  ["/[a-c]*", "/dog", false],
  ["/[!a-c]*", "/dog", true],
  ["/[!a-c]*", "/cat", false],
  ["/[^a-c]*", "/dog", true],
  ["/[]x]", "/]", true],
  ["/[]x]", "/x", true],
  ["/[a-]", "/-", true],
  ["/{a,b}.txt", "/a.txt", true],
  ["/{a,b}.txt", "/b.txt", true],
  ["/{a,b}.txt", "/c.txt", false],
  ["/{x/y,z}/*.csv", "/x/y/1.csv", true],
  ["/{x/y,z}/*.csv", "/z/1.csv", true],
  ["/{x/y,z}/*.csv", "/x/1.csv", false],
  ["/*.{c,{h,hpp}}", "/a.hpp", true],
  ["/{single}*", "/{single}x", true],
  ["/a*b*c", "/abxbc", true],
  ["/a*b*c", "/abxbcd", false],
  ["/*a*", "/bab", true],
  // A metacharacter in brackets is literal (there is no backslash escape: paths have none).
  ["/odd[[]1]", "/odd[1]", true],
  ["/odd[[]1]", "/odd1", false],
  ["/a[*]", "/a*", true],
  ["/a[*]", "/ab", false],
  ["/why[?]", "/why?", true],
  ["/x[{]a,b}", "/x{a,b}", true],
  ["/x]y}", "/x]y}", true],
];

describe("isGlob: one rule for server, SDK and CLI", () => {
  it.each([
    ["/a/*.txt", true],
    ["/build.tg?", true],
    ["/12[0-9]", true],
    ["/{a,b}", true],
    ["/plain/name.txt", false],
    ["/x]y}", false],
  ])("%s is a glob: %s", (path, expected) => {
    expect(isGlob(path)).toBe(expected);
  });
});

describe("glob matching", () => {
  it.each(TABLE)("%s against %s is %s", (pattern, path, expected) => {
    expect(compileGlob(pattern).matches(path)).toBe(expected);
  });

  it("finishes pathological patterns that make a backtracking regex explode", () => {
    const name = `/rx/${"a".repeat(60)}`;
    expect(compileGlob("/rx/*a*a*a*a*a*a*a*b").matches(name)).toBe(false);
    expect(compileGlob("/rx/*a*a*a*a*a*a*a*a").matches(name)).toBe(true);
    // 31 stars: the most a pattern may hold with its one other wildcard.
    const many = compileGlob(`/rx/${"*a".repeat(30)}*?b`);
    expect(many.matches(`/rx/${"a".repeat(250)}`)).toBe(false);
    const deep = `/deep/${Array(100).fill("a").join("/")}`;
    expect(compileGlob("/deep/**/a/**/a/**/a/**/a/**/a/b").matches(deep)).toBe(false);
    expect(compileGlob("/deep/**/a/**/a/**/a/**/a/**/a").matches(deep)).toBe(true);
    const cap = compileGlob(`/deep/${Array(16).fill("**/a").join("/")}/b`);
    expect(cap.matches(deep)).toBe(false);
    // The work is bounded by pattern × path, which a scan can watch.
    expect(cap.steps).toBeLessThan(50 * 101 * 2);
  });

  it("refuses patterns that are too long, too wild or malformed, with EINVAL", () => {
    expect(code(() => compileGlob(`/${"*a".repeat(33)}`))).toMatch(/^EINVAL: .*32 wildcards/);
    expect(code(() => compileGlob(`/x/${"a".repeat(4100)}*`))).toMatch(/^EINVAL: .*4096/);
    expect(code(() => compileGlob("/data/[ab*.csv"))).toMatch(/^EINVAL: unclosed \[/);
    expect(code(() => compileGlob("/data/{a,b*.csv"))).toMatch(/^EINVAL: unclosed \{/);
    expect(code(() => compileGlob("/data/[z-a]*"))).toMatch(/^EINVAL: .*reversed/);
    expect(code(() => compileGlob("/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}*"))).toMatch(
      /^EINVAL: .*at most 32 patterns/,
    );
    expect(code(() => compileGlob("/{a,b}{c,d}{e,f}{g,h}{i,j}*"))).toBe("no error");
    expect(code(() => compileGlob(`/${"*a".repeat(32)}`))).toBe("no error");
  });
});
