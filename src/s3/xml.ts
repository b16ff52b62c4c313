import { XMLParser } from "fast-xml-parser";

/**
 * The little XML the S3 client needs: parse a response into plain objects,
 * read text out of it, escape text going into a request body.
 */

export type XmlNode = { readonly [name: string]: unknown };

const parser = new XMLParser({
  // Off: a DOCTYPE from a hostile or broken endpoint must not define or expand
  // entities (billion laughs). The five predefined entities and character
  // references, which S3 does use (ETags arrive as &quot;…&quot;), are decoded
  // by `text` below instead.
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  // Keys, ETags and tokens stay strings: "0123" must not become 123.
  parseTagValue: false,
  // Keys may begin or end with spaces.
  trimValues: false,
});

/** The parsed document, or null when the text is not XML (an HTML error page, say). */
export function parseXml(xml: string): XmlNode | null {
  try {
    const doc: unknown = parser.parse(xml);
    return doc !== null && typeof doc === "object" ? (doc as XmlNode) : null;
  } catch {
    return null;
  }
}

/** The element `name` of `parent`; an empty element (`<A/>` parses as "") reads as {}. */
export function child(parent: unknown, name: string): XmlNode | undefined {
  const value =
    parent !== null && typeof parent === "object" ? Reflect.get(parent, name) : undefined;
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return child({ [name]: value[0] }, name);
  return value !== null && typeof value === "object" ? (value as XmlNode) : {};
}

/** Every `name` element of `parent`: the parser gives one element as a value, several as an array. */
export function children(parent: unknown, name: string): XmlNode[] {
  const value =
    parent !== null && typeof parent === "object" ? Reflect.get(parent, name) : undefined;
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) =>
    v !== null && typeof v === "object" ? (v as XmlNode) : {},
  );
}

/** The decoded text of the element `name` of `parent` (undefined when it is absent). */
export function text(parent: unknown, name: string): string | undefined {
  const value =
    parent !== null && typeof parent === "object" ? Reflect.get(parent, name) : undefined;
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === "string" ? decodeEntities(first) : undefined;
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref[0] !== "#") return NAMED[ref] ?? whole;
    const code =
      ref[1] === "x" || ref[1] === "X" ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** Text escaped for an XML element body. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}
