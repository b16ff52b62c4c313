import { describe, expect, it } from "vitest";
import { checkAttributes, contentTypeOf } from "../../src/core/attributes";
import { FsError } from "../../src/core/errors";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof FsError ? e.code : "not an FsError";
  }
  return "no error";
};

describe("checkAttributes", () => {
  it("lower-cases names and keeps valid types", () => {
    expect(
      checkAttributes({ contentType: " text/csv; charset=utf-8 ", metadata: { Owner: "a" } }),
    ).toEqual({
      contentType: "text/csv; charset=utf-8",
      metadata: { owner: "a" },
    });
    expect(checkAttributes({ metadata: {} })).toEqual({});
  });

  it("counts names and values in UTF-8 bytes against 2 KiB", () => {
    expect(code(() => checkAttributes({ metadata: { k: "v".repeat(2047) } }))).toBe("no error");
    expect(code(() => checkAttributes({ metadata: { k: "v".repeat(2048) } }))).toBe("ETOOLARGE");
    expect(
      code(() => checkAttributes({ metadata: { kk: "v".repeat(1000), k2: "v".repeat(1045) } })),
    ).toBe("ETOOLARGE");
  });

  it("refuses bad names, values and types", () => {
    expect(code(() => checkAttributes({ metadata: { "a b": "x" } }))).toBe("EINVAL");
    expect(code(() => checkAttributes({ metadata: { a: "line\nbreak" } }))).toBe("EINVAL");
    expect(code(() => checkAttributes({ metadata: { a: "ü" } }))).toBe("EINVAL");
    expect(code(() => checkAttributes({ metadata: { A: "1", a: "2" } }))).toBe("EINVAL");
    expect(code(() => checkAttributes({ contentType: "text" }))).toBe("EINVAL");
    expect(code(() => checkAttributes({ contentType: "text/plain\r\nx: y" }))).toBe("EINVAL");
    expect(code(() => checkAttributes({ contentType: `text/${"a".repeat(260)}` }))).toBe(
      "ETOOLARGE",
    );
  });
});

describe("contentTypeOf", () => {
  it("prefers the stored type, else guesses from the name", () => {
    expect(contentTypeOf("/a/b.JSON")).toBe("application/json");
    expect(contentTypeOf("/a/b.json", "text/x-custom")).toBe("text/x-custom");
    expect(contentTypeOf("/a/README")).toBe("application/octet-stream");
    expect(contentTypeOf("/a/.bashrc")).toBe("application/octet-stream");
    expect(contentTypeOf("/a.dir/file")).toBe("application/octet-stream");
    expect(contentTypeOf("/x.unknownext")).toBe("application/octet-stream");
  });
});
