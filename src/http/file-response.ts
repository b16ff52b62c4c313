import { contentTypeOf } from "../core/attributes";
import type { ReadResult } from "../core/backend";
import type { FileEntry } from "../core/types";
import { META_HEADER_PREFIX } from "./params";

/**
 * Names of types a browser runs or renders as a page of the origin that
 * served them: HTML, XHTML and web archives, SVG, XML (XSLT runs script),
 * and JavaScript. They are sent as attachments (saved, never shown); a
 * trailing dot or space, which Windows drops when saving, does not hide the
 * type. Not .css: a stylesheet acts only when a page loads it, and nosniff
 * already makes browsers refuse a stylesheet (or a script) labelled
 * application/octet-stream.
 */
const ACTIVE_EXTENSION =
  /\.(html?|shtml|xhtml?|xht|mht|mhtml|svgz?|xml|xsl|xslt|js|mjs|cjs)[. ]*$/i;

/** The same kinds by content type: a stored type can label any name as one. */
const ACTIVE_TYPE =
  /^\s*(text\/html|application\/xhtml\+xml|multipart\/related|message\/rfc822|image\/svg\+xml|[a-z]+\/([a-z.+-]*\+)?xml|text\/xsl|[a-z]+\/(x-)?(ecma|java)script)\s*(;|$)/i;

/**
 * Headers that keep stored bytes inert in a browser, on every response that
 * carries (or describes) a file's bytes: native GET/HEAD, presigned URLs,
 * WebDAV and bucket mounts all answer through fileResponse. Files a user
 * uploaded must never run in the gateway's origin (docs/api.md
 * "Files"):
 * - `X-Content-Type-Options: nosniff`: the browser keeps to our
 *   application/octet-stream instead of sniffing HTML or script in it
 *   (Fetch standard, "X-Content-Type-Options").
 * - `Content-Security-Policy: sandbox`: whatever renders anyway (a type we
 *   do not sniff, a proxy that rewrote the type) gets an opaque origin, no
 *   scripts, no forms (CSP Level 3, "sandbox").
 * - `Content-Disposition: attachment` for names of active types.
 */
function inertHeaders(h: Headers, path: string, type: string): void {
  h.set("x-content-type-options", "nosniff");
  h.set("content-security-policy", "sandbox");
  const name = path.slice(path.lastIndexOf("/") + 1);
  if (ACTIVE_EXTENSION.test(name) || ACTIVE_TYPE.test(type)) {
    h.set("content-disposition", attachment(name));
  }
}

/**
 * `attachment` with the name as RFC 6266 §4.3 recommends: `filename*` in
 * RFC 8187's UTF-8 encoding for clients that read it, and a plain ASCII
 * `filename` before it for those that do not (non-ASCII, quotes, backslashes
 * and "%" replaced, which some browsers would decode; RFC 6266 Appendix D).
 */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  // encodeURIComponent leaves ' ( ) * as they are; RFC 8187's attr-char does not allow them.
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Validators and framing every file response carries (RFC 9110 §8, §14),
 * the file's type (stored, else guessed from its name: core/attributes.ts)
 * and its user metadata as `Edgefs-Meta-*`.
 */
function fileHeaders(entry: FileEntry): Headers {
  const type = contentTypeOf(entry.absolutePath ?? entry.path, entry.contentType);
  const h = new Headers({
    "accept-ranges": "bytes",
    "last-modified": new Date(entry.mtime).toUTCString(),
    "content-type": type,
    // The stored bytes as they are: a response of a text type is otherwise
    // gzipped on the way (workerd and Cloudflare compress text/* for clients
    // that accept it), which drops Content-Length and breaks ranges and
    // the strong ETag; no-transform alone is not honoured by wrangler dev.
    "cache-control": "no-transform",
    "content-encoding": "identity",
  });
  if (entry.etag) h.set("etag", entry.etag);
  for (const [name, value] of Object.entries(entry.metadata ?? {})) {
    h.set(`${META_HEADER_PREFIX}${name}`, value);
  }
  // On a 304 too: it updates the headers a cache stored (RFC 9111 §4.3.4).
  inertHeaders(h, entry.path, type);
  return h;
}

/** Turns a Backend read into the GET/HEAD response. */
export function fileResponse(result: ReadResult): Response {
  const h = fileHeaders(result.entry);
  switch (result.status) {
    case 304:
      h.delete("content-type");
      return new Response(null, { status: 304, headers: h });
    case 206: {
      const { offset, length } = result.range;
      h.set("content-length", String(length));
      h.set("content-range", `bytes ${offset}-${offset + length - 1}/${result.entry.size}`);
      return new Response(result.body, { status: 206, headers: h });
    }
    default:
      h.set("content-length", String(result.entry.size));
      return new Response(result.body, { status: 200, headers: h });
  }
}

/**
 * Write responses: the new version's entry, with its ETag also as a
 * header, and the share version the write made (`Edgefs-Version`).
 */
export function writtenResponse(entry: FileEntry, created: boolean, version?: number): Response {
  const h = new Headers({ "content-type": "application/json; charset=utf-8" });
  if (entry.etag) h.set("etag", entry.etag);
  if (version !== undefined) h.set("edgefs-version", String(version));
  return new Response(JSON.stringify(entry), { status: created ? 201 : 200, headers: h });
}
