import { FsError } from "../core/errors";
import { elementsOf, escapeText, readXmlBody, type XmlElement } from "../core/xml";
import { s3Error } from "./errors";

/** The namespace of every S3 document. */
export const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** A node of an answer: an element with text or children; undefined and false are left out. */
export type XmlValue = string | number | boolean | XmlTree | XmlTree[] | undefined;
export type XmlTree = { [element: string]: XmlValue };

function render(name: string, value: XmlValue): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return value.map((v) => render(name, v)).join("");
  if (typeof value === "object") {
    let inner = "";
    for (const k in value) inner += render(k, value[k]);
    return `<${name}>${inner}</${name}>`;
  }
  const text = typeof value === "string" ? escapeText(value) : String(value);
  return `<${name}>${text}</${name}>`;
}

/** An S3 answer document: `<Root xmlns="…">…</Root>`. */
export function xmlResponse(
  root: string,
  body: XmlTree,
  headers: Record<string, string> = {},
  status = 200,
): Response {
  const inner = Object.entries(body)
    .map(([k, v]) => render(k, v))
    .join("");
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${inner}</${root}>`,
    { status, headers: { "content-type": "application/xml", ...headers } },
  );
}

/**
 * A request document (DeleteObjects, CompleteMultipartUpload,
 * CreateBucketConfiguration), parsed with the bounded parser WebDAV uses;
 * whatever is wrong with it is S3's MalformedXML. Namespaces are not
 * checked: clients send these documents with and without S3's.
 */
export async function readS3Xml(
  body: ReadableStream<Uint8Array> | null,
  root: string,
  maxBytes?: number,
): Promise<XmlElement | null> {
  let doc: XmlElement | null;
  try {
    doc = await readXmlBody(new Request("http://body/", { method: "POST", body }), maxBytes);
  } catch (e) {
    if (e instanceof FsError) throw s3Error("MalformedXML", e.message);
    throw e;
  }
  if (doc !== null && doc.local !== root) {
    throw s3Error("MalformedXML", `expected a <${root}> document, not <${doc.local}>`);
  }
  return doc;
}

/** The child elements named `local`. */
export const childrenNamed = (el: XmlElement, local: string): XmlElement[] =>
  elementsOf(el).filter((c) => c.local === local);

/** The text of the one child named `local`, or undefined. */
export function textOf(el: XmlElement, local: string): string | undefined {
  const child = childrenNamed(el, local)[0];
  if (!child) return undefined;
  return child.children.filter((n): n is string => typeof n === "string").join("");
}

/** S3's timestamps in documents: ISO 8601 with milliseconds. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
