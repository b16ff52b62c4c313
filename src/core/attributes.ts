import type { FileAttributes } from "./backend.js";
import { FsError } from "./errors.js";

/**
 * A file's attributes besides its bytes (S3's Content-Type and
 * x-amz-meta-*): their bounds, and the type a file answers with.
 *
 * The bounds are S3's, so what edgefs keeps a bucket would keep too: user
 * metadata at most 2 KiB in all (names and values, UTF-8), names made of
 * HTTP token characters and stored lower-case (HTTP header names are
 * case-insensitive, S3 lower-cases them); a content type of at most 256
 * bytes shaped `type/subtype[; parameters]`.
 */

export const METADATA_MAX_BYTES = 2048;
export const CONTENT_TYPE_MAX_BYTES = 256;

/** The type of a file whose name says nothing and that was stored without one. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** RFC 9110 §5.6.2 token characters. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** type "/" subtype, then parameters: no control characters anywhere. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Printable US-ASCII, spaces and tabs. */
const VALUE = /^[\t\x20-\x7e]*$/;

const utf8 = new TextEncoder();

/**
 * Checks attributes a client sent and returns them in their stored form
 * (names lower-cased, an empty metadata map dropped). EINVAL for a bad
 * name, value or type; ETOOLARGE over S3's bounds.
 */
export function checkAttributes(a: FileAttributes, path?: string): FileAttributes {
  const out: FileAttributes = {};
  if (a.contentType !== undefined) {
    const type = a.contentType.trim();
    if (utf8.encode(type).byteLength > CONTENT_TYPE_MAX_BYTES) {
      throw new FsError("ETOOLARGE", `Content-Type exceeds ${CONTENT_TYPE_MAX_BYTES} bytes`, path);
    }
    if (CONTROL.test(type) || !MEDIA_TYPE.test(type)) {
      throw new FsError(
        "EINVAL",
        `Content-Type ${JSON.stringify(type)} is not a media type (type/subtype[; parameters])`,
        path,
      );
    }
    out.contentType = type;
  }
  if (a.metadata !== undefined) {
    let bytes = 0;
    const metadata: Record<string, string> = {};
    for (const [rawName, value] of Object.entries(a.metadata)) {
      const name = rawName.toLowerCase();
      if (!TOKEN.test(name)) {
        throw new FsError(
          "EINVAL",
          `metadata name ${JSON.stringify(rawName)} is not an HTTP token (letters, digits, !#$%&'*+.^_\`|~-)`,
          path,
        );
      }
      // Values travel as HTTP header values (Edgefs-Meta-*, x-amz-meta-*): US-ASCII, as S3's REST API has them.
      if (typeof value !== "string" || !VALUE.test(value)) {
        throw new FsError(
          "EINVAL",
          `metadata ${name}: the value must be printable US-ASCII (no control characters)`,
          path,
        );
      }
      if (Object.hasOwn(metadata, name)) {
        throw new FsError("EINVAL", `metadata ${name} is given twice`, path);
      }
      metadata[name] = value;
      bytes += utf8.encode(name).byteLength + utf8.encode(value).byteLength;
    }
    if (bytes > METADATA_MAX_BYTES) {
      throw new FsError(
        "ETOOLARGE",
        `metadata headers exceed 2 KiB (${bytes} bytes of names and values; S3's limit is ${METADATA_MAX_BYTES})`,
        path,
      );
    }
    if (Object.keys(metadata).length > 0) out.metadata = metadata;
  }
  return out;
}

/** The stored form of checked attributes (a nullable column): null when there are none. */
export function encodeAttributes(a: FileAttributes | undefined): string | null {
  if (!a || (a.contentType === undefined && a.metadata === undefined)) return null;
  return JSON.stringify(a);
}

export function decodeAttributes(stored: string | null | undefined): FileAttributes {
  if (!stored) return {};
  return JSON.parse(stored) as FileAttributes;
}

/**
 * Types by file name, for files stored without one: what browsers and S3
 * tools most often meet. Text types say UTF-8, which edgefs' own writers use.
 */
const BY_EXTENSION: Record<string, string> = {
  txt: "text/plain; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  tsv: "text/tab-separated-values; charset=utf-8",
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json",
  jsonl: "application/jsonl",
  xml: "application/xml",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  zst: "application/zstd",
  wasm: "application/wasm",
  parquet: "application/vnd.apache.parquet",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  ogg: "audio/ogg",
  mp4: "video/mp4",
  webm: "video/webm",
  woff: "font/woff",
  woff2: "font/woff2",
};

/** The type a file answers with: the one stored with it, else one guessed from its name. */
export function contentTypeOf(path: string, stored?: string): string {
  if (stored) return stored;
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return DEFAULT_CONTENT_TYPE;
  return BY_EXTENSION[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}
