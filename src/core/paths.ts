import { invalid } from "./errors.js";

/**
 * Paths inside a share (docs/api.md "Paths"). A FsPath is the
 * canonical absolute form: "/" for the root, otherwise "/a/b" with no
 * trailing slash. It never contains "." or ".." segments, so it never
 * escapes its share.
 */
export type FsPath = string & { readonly __brand: "FsPath" };

export const ROOT = "/" as FsPath;
export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;

const utf8 = new TextEncoder();
// C0 controls, DEL and C1 controls: never useful in a file name, and NUL or
// newlines in names break clients and logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Validates one decoded path segment; throws EINVAL naming what is wrong. */
function checkSegment(segment: string, whole: string): void {
  if (segment === "." || segment === "..") {
    throw invalid(`path segments "." and ".." are not allowed`, whole);
  }
  if (CONTROL.test(segment)) throw invalid("path contains a control character", whole);
  if (segment.includes("\\")) throw invalid("path contains a backslash", whole);
  if (segment.includes("/")) throw invalid("path segment contains an encoded '/'", whole);
  if (!segment.isWellFormed()) {
    throw invalid("path is not valid UTF-8", whole);
  }
  if (utf8.encode(segment).byteLength > MAX_SEGMENT_BYTES) {
    throw invalid(`path segment is longer than ${MAX_SEGMENT_BYTES} bytes`, whole);
  }
}

function build(segments: string[], whole: string): FsPath {
  for (const s of segments) checkSegment(s, whole);
  const path = `/${segments.join("/")}`;
  if (utf8.encode(path).byteLength > MAX_PATH_BYTES) {
    throw invalid(`path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  return path as FsPath;
}

/**
 * Parses a path taken raw from a URL: each segment is percent-decoded on its
 * own (so "%2F" cannot smuggle a separator), "//" collapses, and the result
 * is validated. Returns the path and whether it ended in "/" (mkdir intent).
 */
export function parseUrlPath(raw: string): { path: FsPath; trailingSlash: boolean } {
  if (utf8.encode(raw).byteLength > MAX_PATH_BYTES * 3) {
    throw invalid(`path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  const segments: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "") continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      throw invalid("path has invalid percent-encoding or UTF-8", raw.slice(0, 512));
    }
    segments.push(decoded);
  }
  const display = `/${segments.join("/")}`;
  return { path: build(segments, display), trailingSlash: raw.endsWith("/") };
}

/** Parses a path given as plain text (JSON bodies): no percent-decoding. */
export function parsePath(text: string): FsPath {
  if (typeof text !== "string") throw invalid("path must be a string");
  if (utf8.encode(text).byteLength > MAX_PATH_BYTES) {
    throw invalid(`path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  const segments = text.split("/").filter((s) => s !== "");
  return build(segments, `/${segments.join("/")}`);
}

export function parentOf(path: FsPath): FsPath {
  if (path === ROOT) return ROOT;
  const i = path.lastIndexOf("/");
  return (i === 0 ? ROOT : path.slice(0, i)) as FsPath;
}

export function baseName(path: FsPath): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function joinPath(dir: FsPath, name: string): FsPath {
  return (dir === ROOT ? `/${name}` : `${dir}/${name}`) as FsPath;
}

/** Every proper ancestor of a path, nearest the root first, excluding "/". */
export function ancestorsOf(path: FsPath): FsPath[] {
  const out: FsPath[] = [];
  let i = path.indexOf("/", 1);
  while (i !== -1) {
    out.push(path.slice(0, i) as FsPath);
    i = path.indexOf("/", i + 1);
  }
  return out;
}

/** True when `path` is `dir` itself or lies below it. */
export function isWithin(path: FsPath, dir: FsPath): boolean {
  return dir === ROOT || path === dir || path.startsWith(`${dir}/`);
}

/** A path relative to `dir` (which must contain it). */
export function relativeTo(path: FsPath, dir: FsPath): string {
  return dir === ROOT ? path.slice(1) : path.slice(dir.length + 1);
}

/**
 * Paths strictly below `dir`, as a half-open key range. '/' sorts just
 * before '0' in UTF-8, so every descendant of "/a" lies in ["/a/", "/a0").
 */
export function subtreeRange(dir: FsPath): [string, string] {
  return dir === ROOT ? ["/", "0"] : [`${dir}/`, `${dir}0`];
}
