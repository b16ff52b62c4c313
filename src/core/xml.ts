import { SaxesParser } from "saxes";
import { invalid } from "./errors.js";
import { concat, readUpTo } from "./streams.js";

/**
 * XML for the protocol front-ends (WebDAV's PROPFIND/LOCK bodies, S3's
 * DeleteObjects and CompleteMultipartUpload): parsing with namespaces,
 * bounded in size and depth, and escaping for the documents they answer.
 */

/** One element of a parsed request body, its names resolved to namespaces. */
export interface XmlElement {
  ns: string;
  local: string;
  attributes: XmlAttribute[];
  children: XmlNode[];
}

export interface XmlAttribute {
  /** "" for an unprefixed attribute (no namespace). */
  ns: string;
  local: string;
  value: string;
}

export type XmlNode = XmlElement | string;

/** Protocol request bodies are small (PROPFIND, LOCK, DeleteObjects of 1,000 keys); anything bigger is refused. */
export const MAX_XML_BYTES = 1024 * 1024;

/**
 * How deep elements may nest. WebDAV bodies need five or six levels plus
 * whatever a property value holds; a bound keeps the parser (whose cost grows
 * with depth) and the recursive serializer far from their limits.
 */
export const MAX_XML_DEPTH = 64;

/**
 * Reads a request body meant to be XML, up to `maxBytes` (MAX_XML_BYTES). Returns null
 * for an empty body (which several methods define a meaning for).
 */
export async function readXmlBody(
  request: Request,
  maxBytes = MAX_XML_BYTES,
): Promise<XmlElement | null> {
  if (!request.body) return null;
  const reader = request.body.getReader();
  const { chunks, size, done } = await readUpTo(reader, maxBytes);
  if (!done) {
    await reader.cancel().catch(() => undefined);
    throw invalid(`XML request bodies are limited to ${maxBytes} bytes`);
  }
  const text = new TextDecoder().decode(concat(chunks, size));
  return text.trim() === "" ? null : parseXml(text);
}

/**
 * Parses with namespaces resolved (XML Namespaces 1.0: an unbound prefix or
 * `xmlns:p=""` is an error). A document type declaration is refused
 * outright, so no entity is ever declared, let alone expanded; saxes itself
 * knows only the five predefined entities and character references.
 */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: Error | undefined;
  parser.on("doctype", () => {
    failure ??= invalid("XML with a document type declaration is not accepted");
  });
  parser.on("error", (e) => {
    failure ??= invalid(`malformed XML: ${e.message}`);
  });
  parser.on("opentag", (tag) => {
    if (stack.length >= MAX_XML_DEPTH) {
      failure ??= invalid(`XML nested deeper than ${MAX_XML_DEPTH} elements`);
      throw failure; // stops saxes at once; caught below
    }
    const element: XmlElement = {
      ns: tag.uri ?? "",
      local: tag.local ?? tag.name,
      attributes: Object.values(tag.attributes)
        .filter((a) => a.prefix !== "xmlns" && a.name !== "xmlns")
        .map((a) => ({ ns: a.uri, local: a.local, value: a.value })),
      children: [],
    };
    stack.at(-1)?.children.push(element);
    stack.push(element);
  });
  parser.on("closetag", () => {
    const done = stack.pop();
    if (stack.length === 0) root = done;
  });
  parser.on("text", (t) => {
    stack.at(-1)?.children.push(t);
  });
  parser.on("cdata", (t) => {
    stack.at(-1)?.children.push(t);
  });
  try {
    parser.write(text).close();
  } catch (e) {
    failure ??= invalid(`malformed XML: ${(e as Error).message}`);
  }
  if (failure) throw failure;
  if (!root) throw invalid("malformed XML: no root element");
  return root;
}

/** The child elements of `el` (text between them is layout). */
export const elementsOf = (el: XmlElement): XmlElement[] =>
  el.children.filter((n): n is XmlElement => typeof n !== "string");

/** Characters XML 1.0 cannot carry at all, even escaped (file names may hold them). */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Whatever escapeText would change. */
const NEEDS_ESCAPE = /[&<>]|[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Text for an XML document; a character XML cannot hold becomes U+FFFD. */
export function escapeText(s: string): string {
  // Most text (names, numbers, dates) needs nothing: one test instead of four replaces.
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s
    .replace(NOT_XML, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, "&quot;").replace(/\r/g, "&#13;").replace(/\n/g, "&#10;");
}
