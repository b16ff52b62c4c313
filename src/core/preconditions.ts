import { FsError, invalid } from "./errors.js";

/**
 * Conditional requests (RFC 9110 §13) on our strong ETags. A write's
 * conditions travel to the ShareDO and are checked inside the commit
 * transaction, against the state at that moment, so compare-and-swap is real.
 */
export interface WriteConditions {
  /** `If-Match`: the current version must be one of these ("*" = exists). */
  ifMatch?: string[];
  /** `If-None-Match`: the current version must be none of these ("*" = must not exist). */
  ifNoneMatch?: string[];
}

/** Parses an entity-tag list header: `*`, or `"a", W/"b"`. */
export function parseETagList(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === "*") return ["*"];
  const tags: string[] = [];
  const re = /\s*(W\/)?"([^"]*)"\s*(,|$)/gy;
  let consumed = 0;
  for (let m = re.exec(value); m && m[0] !== ""; m = re.exec(value)) {
    tags.push(`"${m[2]}"`);
    consumed = re.lastIndex;
  }
  if (consumed !== value.length || tags.length === 0) {
    throw invalid(`malformed entity-tag list: ${header.slice(0, 100)}`);
  }
  return tags;
}

export function writeConditionsFrom(headers: {
  ifMatch?: string;
  ifNoneMatch?: string;
}): WriteConditions {
  const c: WriteConditions = {};
  const ifMatch = parseETagList(headers.ifMatch);
  const ifNoneMatch = parseETagList(headers.ifNoneMatch);
  if (ifMatch) c.ifMatch = ifMatch;
  if (ifNoneMatch) c.ifNoneMatch = ifNoneMatch;
  return c;
}

function listMatches(list: string[], etag: string | undefined): boolean {
  return etag !== undefined && (list.includes("*") || list.includes(etag));
}

/**
 * Checks write conditions against the current version of the target
 * (`undefined` when it does not exist). Throws EPRECONDITION on failure.
 */
export function checkWriteConditions(
  c: WriteConditions,
  currentEtag: string | undefined,
  path: string,
): void {
  if (c.ifMatch && !listMatches(c.ifMatch, currentEtag)) {
    throw new FsError(
      "EPRECONDITION",
      currentEtag === undefined
        ? "If-Match failed: the file does not exist"
        : `If-Match failed: the current version is ${currentEtag}`,
      path,
    );
  }
  if (c.ifNoneMatch && currentEtag !== undefined) {
    if (c.ifNoneMatch.includes("*") || c.ifNoneMatch.includes(currentEtag)) {
      throw new FsError(
        "EPRECONDITION",
        c.ifNoneMatch.includes("*")
          ? "If-None-Match: * failed: the file already exists"
          : `If-None-Match failed: the current version is ${currentEtag}`,
        path,
      );
    }
  }
}

/** Outcome of a conditional read: serve, answer 304, or fail with 412. */
export type ReadDecision = "serve" | "not-modified";

export function evaluateReadConditions(
  headers: { ifMatch?: string; ifNoneMatch?: string; ifModifiedSince?: string },
  etag: string,
  mtime: number,
  path: string,
): ReadDecision {
  const ifMatch = parseETagList(headers.ifMatch);
  if (ifMatch && !listMatches(ifMatch, etag)) {
    throw new FsError("EPRECONDITION", `If-Match failed: the current version is ${etag}`, path);
  }
  const ifNoneMatch = parseETagList(headers.ifNoneMatch);
  if (ifNoneMatch) return listMatches(ifNoneMatch, etag) ? "not-modified" : "serve";
  // If-Modified-Since is only considered without If-None-Match (RFC 9110 §13.1.3).
  if (headers.ifModifiedSince !== undefined) {
    const since = Date.parse(headers.ifModifiedSince);
    // HTTP dates have second precision.
    if (!Number.isNaN(since) && Math.floor(mtime / 1000) * 1000 <= since) return "not-modified";
  }
  return "serve";
}
