/**
 * The string pieces of an AWS Signature V4 canonical request, for S3 as the
 * verifying side. Pure functions (no crypto, no runtime) so they can be checked
 * against AWS's test-suite vectors directly.
 *
 * Hand-written rather than taken from aws4fetch: aws4fetch builds the canonical
 * request a client would sign (choosing the signed headers itself, decoding '+'
 * in an S3 path as a space, merging '%2F' into '/', dropping repeated query
 * names), while a verifier must rebuild exactly what the client chose from the
 * request as it arrived.
 */

const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();

const isUnreserved = (b: number) =>
  (b >= 0x41 && b <= 0x5a) || // A-Z
  (b >= 0x61 && b <= 0x7a) || // a-z
  (b >= 0x30 && b <= 0x39) || // 0-9
  b === 0x2d || // -
  b === 0x2e || // .
  b === 0x5f || // _
  b === 0x7e; // ~

const hexValue = (c: number) =>
  c >= 0x30 && c <= 0x39
    ? c - 0x30
    : c >= 0x41 && c <= 0x46
      ? c - 0x37
      : c >= 0x61 && c <= 0x66
        ? c - 0x57
        : -1;

/** SigV4's UriEncode of bytes: unreserved bytes as they are, every other byte %XX (uppercase). */
function uriEncodeBytes(bytes: Uint8Array, keepSlash: boolean): string {
  let out = "";
  for (const b of bytes) {
    if (isUnreserved(b) || (keepSlash && b === 0x2f)) out += String.fromCharCode(b);
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/**
 * Percent-decodes a URL component to its bytes. A '%' not followed by two hex
 * digits stays a literal '%' (clients never sign such a thing, so the signature
 * simply fails to match rather than the request throwing). `plusIsSpace` is the
 * form-encoding reading of '+' used for query strings.
 */
function decodeToBytes(raw: string, plusIsSpace: boolean, slashMarker?: number[]): Uint8Array {
  const utf8 = encoder.encode(raw);
  const out = new Uint8Array(utf8.length);
  let n = 0;
  for (let i = 0; i < utf8.length; i++) {
    const c = utf8[i] as number;
    if (c === 0x25 && i + 2 < utf8.length) {
      const h = hexValue(utf8[i + 1] as number);
      const l = hexValue(utf8[i + 2] as number);
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    if (c === 0x2f && slashMarker) slashMarker.push(n);
    out[n++] = plusIsSpace && c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, n);
}

/**
 * The canonical URI of an S3 request from its raw path (as it appears in the
 * request line). S3 is SigV4's exception: the path is neither normalized (no
 * dot-segment removal, no merging of '//') nor encoded a second time. Each
 * byte is re-encoded once with UriEncode, so for an SDK client (which sends
 * exactly UriEncode(key)) this is the path's bytes as sent, with lowercase
 * %xx made uppercase; a client that left a reserved character bare ('=', '&',
 * '@', '(') signed its encoded form, which this also yields. A literal '/'
 * separates segments and stays; an encoded '%2F' is part of a key and stays
 * encoded. A bare '+' is a space, as AWS S3 reads a path (and as aws4fetch
 * signs it); SDKs send a plus as %2B. decodeS3Path reads keys the same way.
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === "") return "/";
  const slashes: number[] = [];
  const bytes = decodeToBytes(rawPath, true, slashes);
  let out = "";
  let start = 0;
  for (const at of slashes) {
    out += `${uriEncodeBytes(bytes.subarray(start, at), false)}/`;
    start = at + 1;
  }
  return out + uriEncodeBytes(bytes.subarray(start), false);
}

/**
 * The object key (or bucket/key path) an S3 request path names, read as S3 and
 * canonicalUri read it: percent-decoded, a bare '+' a space, '%2F' a '/' inside
 * the name. Undefined when the bytes are not UTF-8. A front-end must take keys
 * from this, so that what was signed is what is stored.
 */
export function decodeS3Path(rawPath: string): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      decodeToBytes(rawPath, true),
    );
  } catch {
    return undefined;
  }
}

/**
 * The canonical query string from the raw query (without '?'): every name=value
 * pair decoded (a '+' read as a space, as URLSearchParams and S3 read it) and
 * re-encoded with UriEncode, so a space is always %20 and a literal plus is
 * %2B; sorted by encoded name, then by encoded value; repeated names all kept.
 * A name without '=' gets an empty value ("acl" → "acl="). `omit` drops a
 * parameter (X-Amz-Signature of a presigned URL).
 */
export function canonicalQuery(rawQuery: string, omit?: string): string {
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    const encodedName = uriEncodeBytes(decodeToBytes(name, true), false);
    if (omit !== undefined && encodedName === omit) continue;
    pairs.push([encodedName, uriEncodeBytes(decodeToBytes(value, true), false)]);
  }
  // Byte order of the encoded strings, which are ASCII: plain < comparison is it.
  pairs.sort(([n1, v1], [n2, v2]) => (n1 < n2 ? -1 : n1 > n2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join("&");
}

/** A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces and tabs one space. */
export function canonicalHeaderValue(value: string): string {
  return value.replace(/[ \t]+/g, " ").trim();
}

/**
 * The canonical headers block (each "name:value\n") for the signed header names,
 * from the request's header values. A name given several times (as a list of
 * [name, value] lines) has its values joined with ',' in the order received.
 * A signed header the request lacks is reported as `missing`.
 */
export function canonicalHeaders(
  signedHeaders: readonly string[],
  lines: readonly (readonly [string, string])[],
): { block: string } | { missing: string } {
  const values = new Map<string, string[]>();
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    const list = values.get(key);
    if (list) list.push(canonicalHeaderValue(value));
    else values.set(key, [canonicalHeaderValue(value)]);
  }
  let block = "";
  for (const name of signedHeaders) {
    const list = values.get(name);
    if (!list) return { missing: name };
    block += `${name}:${list.join(",")}\n`;
  }
  return { block };
}

export interface CanonicalRequestParts {
  method: string;
  /** The canonical URI (see canonicalUri). */
  uri: string;
  /** The canonical query string (see canonicalQuery). */
  query: string;
  /** The canonical headers block (see canonicalHeaders). */
  headers: string;
  signedHeaders: readonly string[];
  /** The hex SHA-256 of the payload or one of the UNSIGNED/STREAMING literals. */
  payloadHash: string;
}

export function canonicalRequest(p: CanonicalRequestParts): string {
  return [p.method, p.uri, p.query, p.headers, p.signedHeaders.join(";"), p.payloadHash].join("\n");
}

/** The credential scope "YYYYMMDD/region/service/aws4_request". */
export const credentialScope = (date: string, region: string, service = "s3") =>
  `${date}/${region}/${service}/aws4_request`;

export function stringToSign(
  datetime: string,
  scope: string,
  canonicalRequestHash: string,
): string {
  return ["AWS4-HMAC-SHA256", datetime, scope, canonicalRequestHash].join("\n");
}

/**
 * Splits a request URL string into the raw path and raw query exactly as they
 * appear in it, without a URL parser's re-serialization.
 */
export function rawPathAndQuery(url: string): { path: string; query: string } {
  const scheme = url.indexOf("://");
  const afterAuthority = scheme < 0 ? 0 : url.slice(scheme + 3).search(/[/?#]/);
  const rest = scheme < 0 ? url : afterAuthority < 0 ? "" : url.slice(scheme + 3 + afterAuthority);
  const hash = rest.indexOf("#");
  const target = hash < 0 ? rest : rest.slice(0, hash);
  const q = target.indexOf("?");
  return q < 0
    ? { path: target, query: "" }
    : { path: target.slice(0, q), query: target.slice(q + 1) };
}
