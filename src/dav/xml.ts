import { elementsOf, escapeAttr, escapeText, type XmlElement, type XmlNode } from "../core/xml";

export {
  elementsOf,
  escapeAttr,
  escapeText,
  MAX_XML_BYTES,
  MAX_XML_DEPTH,
  parseXml,
  readXmlBody,
  type XmlAttribute,
  type XmlElement,
  type XmlNode,
} from "../core/xml";

export const DAV_NS = "DAV:";
export const XML_NS = "http://www.w3.org/XML/1998/namespace";

export const isDav = (el: XmlElement, local: string) => el.ns === DAV_NS && el.local === local;

export const findDav = (el: XmlElement, local: string) =>
  elementsOf(el).find((c) => isDav(c, local));

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
