import { describe, expect, it } from "vitest";
import { FsError } from "../../src/core/errors";
import { ifHolds, parseIfHeader, submittedTokens } from "../../src/dav/if-header";
import { leaseIdOf, lockSeconds, lockTokenOf } from "../../src/dav/locks";
import { parseXml, qualified, serializeNodes } from "../../src/dav/xml";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof FsError ? e.code : `not an FsError: ${String(e)}`;
  }
  return "no error";
};

describe("If header (RFC 4918 §10.4)", () => {
  it("parses untagged and tagged lists, Not, tokens and entity tags", () => {
    expect(parseIfHeader('(<urn:uuid:a> ["x"]) (Not <DAV:no-lock>)')).toEqual([
      {
        resource: null,
        conditions: [
          { not: false, token: "urn:uuid:a" },
          { not: false, etag: '"x"' },
        ],
      },
      { resource: null, conditions: [{ not: true, token: "DAV:no-lock" }] },
    ]);
    const tagged = parseIfHeader("<http://h/dav/main/s/a> (<t1>) <http://h/dav/main/s/b> (<t2>)");
    expect(tagged.map((l) => l.resource)).toEqual([
      "http://h/dav/main/s/a",
      "http://h/dav/main/s/b",
    ]);
    expect(submittedTokens(tagged)).toEqual(["t1", "t2"]);
  });

  it("refuses malformed headers with EINVAL", () => {
    for (const bad of [
      "",
      "<x>",
      "(<t>",
      "()",
      "(<t>) <r> (<u>)",
      "<r> (<t>) (<u>) x",
      "(Not x)",
    ]) {
      expect(
        code(() => parseIfHeader(bad)),
        bad,
      ).toBe("EINVAL");
    }
  });

  it("holds when one list holds entirely; weak tags and DAV:no-lock never match", () => {
    const state = { etag: '"e1"', hasLock: (t: string) => t === "mine" };
    const holds = (h: string) => ifHolds(parseIfHeader(h), () => state);
    expect(holds("(<mine>)")).toBe(true);
    expect(holds("(<other>)")).toBe(false);
    expect(holds('(<mine> ["e2"])')).toBe(false);
    expect(holds('(<other>) (["e1"])')).toBe(true);
    expect(holds('([W/"e1"])')).toBe(false);
    expect(holds("(<DAV:no-lock>)")).toBe(false);
    expect(holds("(Not <DAV:no-lock>)")).toBe(true);
    expect(holds("(not <DAV:no-lock>)")).toBe(true); // ABNF literals are case-insensitive
  });
});

describe("lock tokens and timeouts", () => {
  it("maps a lease id to a UUID URN and back, and rejects foreign tokens", () => {
    const id = "0123456789abcdef0123456789abcdef";
    const token = lockTokenOf(id);
    expect(token).toBe("urn:uuid:01234567-89ab-cdef-0123-456789abcdef");
    expect(leaseIdOf(token)).toBe(id);
    expect(leaseIdOf(token.toUpperCase().replace("URN:UUID:", "urn:uuid:"))).toBe(id);
    expect(leaseIdOf("opaquelocktoken:foobar")).toBeNull();
  });

  it("takes the first Timeout it can honour, capped to a day", () => {
    expect(lockSeconds(undefined)).toBe(3600);
    expect(lockSeconds("Second-600")).toBe(600);
    expect(lockSeconds("Infinite, Second-4100000000")).toBe(86_400);
    expect(lockSeconds("Second-99999999")).toBe(86_400);
    expect(lockSeconds("Extension-1, Second-5")).toBe(5);
    expect(lockSeconds("garbage")).toBe(3600);
  });
});

describe("XML", () => {
  it("serializes parsed content self-contained: it parses back to the same names and text", () => {
    const source =
      '<p xmlns="urn:p" xmlns:q="urn:q"><q:a q:attr="1 &amp; 2" plain="x">t&lt;ext</q:a><b xmlns="">𐀀</b></p>';
    const parsed = parseXml(source);
    const again = parseXml(`<p xmlns="urn:p">${serializeNodes(parsed.children)}</p>`);
    expect(again).toEqual(parsed);
  });

  it("refuses a document type declaration, unbound prefixes and bad nesting", () => {
    const laughs =
      '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>';
    expect(code(() => parseXml(laughs))).toBe("EINVAL");
    expect(code(() => parseXml("<x:a/>"))).toBe("EINVAL");
    expect(code(() => parseXml("<a><b></a></b>"))).toBe("EINVAL");
    expect(code(() => parseXml('<a xmlns:p=""/>'))).toBe("EINVAL");
  });

  it("names properties in their own namespace, the empty one included", () => {
    expect(qualified("DAV:", "getetag", "x")).toBe("<D:getetag>x</D:getetag>");
    expect(qualified("", "plain", "")).toBe('<plain xmlns=""/>');
    expect(qualified('urn:"q"', "v", "1")).toBe('<P:v xmlns:P="urn:&quot;q&quot;">1</P:v>');
  });
});
