import { SaxesParser } from "saxes";
import { invalid } from "../core/errors";
import { concat, readUpTo } from "../core/streams";

export const DAV_NS = "DAV:";
export const XML_NS = "http://www.w3.org/XML/1998/namespace";

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

/** Request bodies of PROPFIND, PROPPATCH and LOCK are small; anything bigger is refused. */
export const MAX_XML_BYTES = 1024 * 1024;

/**
 * How deep elements may nest. WebDAV bodies need five or six levels plus
 * whatever a property value holds; a bound keeps the parser (whose cost grows
 * with depth) and the recursive serializer far from their limits.
 */
export const MAX_XML_DEPTH = 64;

/**
 * Reads a request body meant to be XML, up to MAX_XML_BYTES. Returns null
 * for an empty body (which several methods define a meaning for).
 */
export async function readXmlBody(request: Request): Promise<XmlElement | null> {
  if (!request.body) return null;
  const reader = request.body.getReader();
  const { chunks, size, done } = await readUpTo(reader, MAX_XML_BYTES);
  if (!done) {
    await reader.cancel().catch(() => undefined);
    throw invalid(`XML request bodies are limited to ${MAX_XML_BYTES} bytes`);
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

export const isDav = (el: XmlElement, local: string) => el.ns === DAV_NS && el.local === local;

export const findDav = (el: XmlElement, local: string) =>
  elementsOf(el).find((c) => isDav(c, local));

/** Characters XML 1.0 cannot carry at all, even escaped (file names may hold them). */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text for an XML document; a character XML cannot hold becomes U+FFFD. */
export function escapeText(s: string): string {
  return s
    .replace(NOT_XML, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, "&quot;").replace(/\r/g, "&#13;").replace(/\n/g, "&#10;");
}

/**
 * Writes nodes back as self-contained XML: every element declares its own
 * default namespace and every namespaced attribute a prefix of its own, so
 * the text means the same wherever it is pasted later (dead property
 * values, lock owners).
 */
export function serializeNodes(nodes: readonly XmlNode[]): string {
  return nodes.map(serializeNode).join("");
}

function serializeNode(node: XmlNode): string {
  if (typeof node === "string") return escapeText(node);
  let attrs = ` xmlns="${escapeAttr(node.ns)}"`;
  node.attributes.forEach((a, i) => {
    const value = escapeAttr(a.value);
    attrs +=
      a.ns === ""
        ? ` ${a.local}="${value}"`
        : a.ns === XML_NS
          ? ` xml:${a.local}="${value}"`
          : ` xmlns:a${i}="${escapeAttr(a.ns)}" a${i}:${a.local}="${value}"`;
  });
  return node.children.length === 0
    ? `<${node.local}${attrs}/>`
    : `<${node.local}${attrs}>${serializeNodes(node.children)}</${node.local}>`;
}

/**
 * An element named {ns}local with raw XML content, declaring its namespace
 * with a prefix so that unprefixed elements inside keep their own.
 */
export function qualified(
  ns: string,
  local: string,
  content: string,
  lang: string | null = null,
): string {
  const name = ns === DAV_NS ? `D:${local}` : ns === "" ? local : `P:${local}`;
  let attrs = ns === DAV_NS ? "" : ns === "" ? ' xmlns=""' : ` xmlns:P="${escapeAttr(ns)}"`;
  if (lang !== null) attrs += ` xml:lang="${escapeAttr(lang)}"`;
  return content === "" ? `<${name}${attrs}/>` : `<${name}${attrs}>${content}</${name}>`;
}
