import picomatch from "picomatch/posix";
import { type FsPath, parsePath, ROOT } from "./paths";

/**
 * Globs in listings, with Modal's rules: `*` matches within a segment, `**`
 * across segments. Matching is picomatch's (with `?`, `[…]` and `{a,b}` too);
 * dot-files match like any other name, because this is a file system API, not
 * a shell.
 */
const GLOB_CHARS = /[*?[\]{}]/;

export function isGlob(path: string): boolean {
  return path.includes("*");
}

export interface CompiledGlob {
  /** The absolute pattern, e.g. "/data/**\/*.csv". */
  pattern: string;
  /** The longest literal path prefix (a string prefix, may end mid-name). */
  literalPrefix: string;
  /** The deepest directory that contains every possible match. */
  baseDir: FsPath;
  /** True when matches can only be direct children of baseDir. */
  singleLevel: boolean;
  matches(path: string): boolean;
}

export function compileGlob(raw: string): CompiledGlob {
  const segments = raw.split("/").filter((s) => s !== "");
  const firstGlob = segments.findIndex((s) => GLOB_CHARS.test(s));
  const literalSegments = firstGlob === -1 ? segments : segments.slice(0, firstGlob);
  // Validate the literal part as a path; the pattern part is validated by
  // matching only paths that already passed validation.
  const baseDir = literalSegments.length === 0 ? ROOT : parsePath(literalSegments.join("/"));
  const pattern = `/${segments.join("/")}`;
  const globSegment = firstGlob === -1 ? "" : (segments[firstGlob] ?? "");
  const stem = globSegment.slice(0, globSegment.search(GLOB_CHARS));
  const literalPrefix = (baseDir === ROOT ? "/" : `${baseDir}/`) + stem;
  const rest = firstGlob === -1 ? [] : segments.slice(firstGlob);
  const singleLevel = rest.length === 1 && !rest[0]?.includes("**");
  // Matched without the leading "/": picomatch's "/**/x" does not match "/x",
  // while "**/x" matches "x" as a globstar should.
  const isMatch = picomatch(segments.join("/"), { dot: true });
  return { pattern, literalPrefix, baseDir, singleLevel, matches: (p) => isMatch(p.slice(1)) };
}
