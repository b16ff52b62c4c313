import { invalid } from "./errors.js";
import { type FsPath, parsePath, ROOT } from "./paths.js";

/**
 * Globs in listings, with Modal's rules: `*` matches within a segment, `**`
 * across segments; `?`, `[…]` (ranges, `!`/`^` negation) and `{a,b}` work
 * too. Dot-files match like any other name, because this is a file system
 * API, not a shell. This is the one grammar: the server's listings (share
 * and bucket mounts), the SDK and the CLI all decide with `isGlob` and
 * match with `compileGlob`.
 *
 * A path with any of `*`, `?`, `[`, `{` is a glob; a malformed one (an
 * unclosed `[` or `{`, a reversed range) is EINVAL naming the pattern,
 * never a listing of nothing. A metacharacter is matched literally inside
 * brackets, as in POSIX: `[[]`, `[*]`, `[?]`, `[{]` (`]` and `}` alone are
 * plain characters). Paths cannot hold a backslash, so there is no
 * backslash escape.
 *
 * Matching never backtracks exponentially (a regex compiled from
 * `*a*a*a*…b` does, and one request then stalls the whole share): the
 * pattern and the path are split into segments, `**` runs over segments
 * and `*` over characters with the classic greedy scheme that keeps a
 * single backtrack point, so a match costs at most pattern × path steps.
 */
const GLOB_CHARS = /[*?[\]{}]/;

/** Longest pattern accepted: the longest path (paths.ts MAX_PATH_BYTES). */
export const MAX_GLOB_CHARS = 4096;
/** Wildcards (`*`, `**`, `?`, `[…]`) in one alternative of a pattern. */
export const MAX_GLOB_WILDCARDS = 32;
/** Alternatives a pattern's `{a,b}` groups may expand to, in all. */
export const MAX_GLOB_ALTERNATIVES = 32;

/** The characters that make a path a glob. */
const GLOB_META = /[*?[{]/;

/** Whether a listing path is a glob: it holds `*`, `?`, `[` or `{`. */
export function isGlob(path: string): boolean {
  return GLOB_META.test(path);
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
  /** Matching steps spent so far by `matches`, so a scan can bound its work. */
  readonly steps: number;
}

/** One character position of a segment pattern. */
type CharToken =
  | { kind: "star" }
  | { kind: "one" }
  | { kind: "char"; cp: number }
  | { kind: "class"; negated: boolean; ranges: [number, number][] };

/** A pattern segment: `**`, a literal name, or tokens over code points. */
type SegmentPattern =
  | { kind: "globstar" }
  | { kind: "literal"; name: string }
  | { kind: "wild"; tokens: CharToken[] };

/**
 * Where the bracket expression opening at `start` closes, or -1. A `]`
 * right after `[` (or `[!`, `[^`) is a member, as in POSIX.
 */
function bracketEnd(chars: readonly string[], start: number): number {
  let i = start + 1;
  if (chars[i] === "!" || chars[i] === "^") i++;
  if (chars[i] === "]") i++;
  for (; i < chars.length; i++) {
    if (chars[i] === "]") return i;
    if (chars[i] === "/") return -1;
  }
  return -1;
}

/** Expands `{a,b}` groups (nested too) into at most MAX_GLOB_ALTERNATIVES patterns. */
function expandBraces(raw: string): string[] {
  const out: string[] = [];
  const visit = (s: string) => {
    const group = firstGroup(s, raw);
    if (!group) {
      if (out.length >= MAX_GLOB_ALTERNATIVES) {
        throw invalid(
          `a glob's {…} groups may expand to at most ${MAX_GLOB_ALTERNATIVES} patterns: ${raw}`,
        );
      }
      out.push(s);
      return;
    }
    for (const alt of group.alternatives)
      visit(s.slice(0, group.start) + alt + s.slice(group.end + 1));
  };
  visit(raw);
  return out;
}

/**
 * The first `{…}` group with a top-level comma, skipping bracket
 * expressions; a group without a comma is literal text, as in shells.
 */
function firstGroup(
  s: string,
  raw: string,
): { start: number; end: number; alternatives: string[] } | null {
  const chars = Array.from(s);
  // Offsets in UTF-16 units, so the caller can slice the string.
  const offsets: number[] = [];
  let offset = 0;
  for (const c of chars) {
    offsets.push(offset);
    offset += c.length;
  }
  offsets.push(offset);
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === "[") {
      const end = bracketEnd(chars, i);
      if (end !== -1) i = end;
      continue;
    }
    if (chars[i] !== "{") continue;
    let depth = 0;
    const commas: number[] = [];
    let close = -1;
    for (let j = i; j < chars.length && close === -1; j++) {
      const c = chars[j];
      if (c === "[") {
        const end = bracketEnd(chars, j);
        if (end !== -1) j = end;
      } else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) close = j;
      else if (c === "," && depth === 1) commas.push(j);
    }
    if (close === -1) throw invalid(`unclosed { in glob: ${raw}`);
    if (commas.length === 0) continue;
    const cuts = [i, ...commas, close];
    const alternatives = cuts
      .slice(1)
      .map((cut, k) => s.slice(offsets[(cuts[k] as number) + 1] as number, offsets[cut]));
    return { start: offsets[i] as number, end: offsets[close] as number, alternatives };
  }
  return null;
}

/** Parses `[…]` at `start` into a class token; `end` is its closing `]`. */
function classToken(chars: readonly string[], start: number, end: number, raw: string): CharToken {
  let i = start + 1;
  const negated = chars[i] === "!" || chars[i] === "^";
  if (negated) i++;
  const ranges: [number, number][] = [];
  const cp = (k: number) => (chars[k] as string).codePointAt(0) as number;
  while (i < end) {
    if (chars[i + 1] === "-" && i + 2 < end) {
      const lo = cp(i);
      const hi = cp(i + 2);
      if (lo > hi) throw invalid(`glob range ${chars[i]}-${chars[i + 2]} is reversed: ${raw}`);
      ranges.push([lo, hi]);
      i += 3;
    } else {
      ranges.push([cp(i), cp(i)]);
      i++;
    }
  }
  return { kind: "class", negated, ranges };
}

function compileSegment(segment: string, raw: string): SegmentPattern {
  if (/^\*\*+$/.test(segment)) return { kind: "globstar" };
  if (!/[*?[]/.test(segment)) return { kind: "literal", name: segment };
  const chars = Array.from(segment);
  const tokens: CharToken[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === "*") {
      // A run of stars inside a name is one star.
      if (tokens[tokens.length - 1]?.kind !== "star") tokens.push({ kind: "star" });
    } else if (c === "?") {
      tokens.push({ kind: "one" });
    } else if (c === "[") {
      const end = bracketEnd(chars, i);
      if (end === -1) throw invalid(`unclosed [ in glob: ${raw}`);
      tokens.push(classToken(chars, i, end, raw));
      i = end;
    } else {
      tokens.push({ kind: "char", cp: c.codePointAt(0) as number });
    }
  }
  return { kind: "wild", tokens };
}

const wildcardsOf = (segments: readonly SegmentPattern[]) =>
  segments.reduce(
    (n, s) =>
      n +
      (s.kind === "globstar"
        ? 1
        : s.kind === "wild"
          ? s.tokens.filter((t) => t.kind !== "char").length
          : 0),
    0,
  );

function tokenMatches(t: CharToken, cp: number): boolean {
  switch (t.kind) {
    case "one":
      return true;
    case "char":
      return t.cp === cp;
    case "class":
      return t.ranges.some(([lo, hi]) => cp >= lo && cp <= hi) !== t.negated;
    default:
      return false;
  }
}

/**
 * Greedy matching with one backtrack point: on a mismatch, the last `*`
 * takes one more character and matching resumes after it. Earlier stars
 * never need revisiting, because what the last one swallows covers any
 * other split; so the cost is at most tokens × characters.
 */
function matchUnits<P, U>(
  pattern: readonly P[],
  units: readonly U[],
  isStar: (p: P) => boolean,
  unitMatches: (p: P, u: U) => boolean,
  count: () => void,
): boolean {
  let pi = 0;
  let ui = 0;
  let starPi = -1;
  let starUi = 0;
  while (ui < units.length) {
    count();
    const p = pattern[pi];
    if (p !== undefined && isStar(p)) {
      starPi = pi++;
      starUi = ui;
    } else if (p !== undefined && unitMatches(p, units[ui] as U)) {
      pi++;
      ui++;
    } else if (starPi >= 0) {
      pi = starPi + 1;
      ui = ++starUi;
    } else {
      return false;
    }
  }
  while (pi < pattern.length && isStar(pattern[pi] as P)) pi++;
  return pi === pattern.length;
}

function compileAlternative(alternative: string, raw: string): SegmentPattern[] {
  const segments = alternative
    .split("/")
    .filter((s) => s !== "")
    .map((s) => compileSegment(s, raw));
  if (wildcardsOf(segments) > MAX_GLOB_WILDCARDS) {
    throw invalid(`a glob may hold at most ${MAX_GLOB_WILDCARDS} wildcards: ${raw}`);
  }
  return segments;
}

export function compileGlob(raw: string): CompiledGlob {
  if (raw.length > MAX_GLOB_CHARS) {
    throw invalid(`a glob is limited to ${MAX_GLOB_CHARS} characters`);
  }
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
  const alternatives = expandBraces(pattern).map((a) => compileAlternative(a, raw));

  let steps = 0;
  const count = () => {
    steps++;
  };
  /** A path segment, its code points split once on first need. */
  type Name = { text: string; cps?: string[] };
  const segmentMatches = (p: SegmentPattern, name: Name) => {
    if (p.kind === "literal") return p.name === name.text;
    if (p.kind === "globstar") return false;
    name.cps ??= Array.from(name.text);
    return matchUnits(
      p.tokens,
      name.cps,
      (t) => t.kind === "star",
      (t, c) => tokenMatches(t, c.codePointAt(0) as number),
      count,
    );
  };
  return {
    pattern,
    literalPrefix,
    baseDir,
    singleLevel,
    get steps() {
      return steps;
    },
    matches(path) {
      const names: Name[] = path
        .split("/")
        .filter((s) => s !== "")
        .map((text) => ({ text }));
      return alternatives.some((segs) =>
        matchUnits(segs, names, (s) => s.kind === "globstar", segmentMatches, count),
      );
    },
  };
}
