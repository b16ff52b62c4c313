import { invalid } from "../core/errors";

/** One condition of an If list: a state token (lock token) or an entity tag, maybe negated. */
export type Condition =
  | { not: boolean; token: string; etag?: undefined }
  | { not: boolean; etag: string; token?: undefined };

/**
 * The If header (RFC 4918 §10.4): lists of conditions, each list tagged
 * with the resource it is about (an absolute URL or path) or untagged,
 * meaning the request's own resource.
 */
export interface IfList {
  resource: string | null;
  conditions: Condition[];
}

/** Each list can cost a lookup of its resource: real clients send one or two. */
const MAX_LISTS = 32;

/**
 * Parses an If header. The grammar is small and exact: a list is
 * `( [Not] <token> | [Not] [etag] … )`, optionally after `<resource>`;
 * tagged and untagged lists may not be mixed. Anything else is 400.
 */
export function parseIfHeader(header: string): IfList[] {
  const lists: IfList[] = [];
  let at = 0;
  let resource: string | null = null;
  let tagged: boolean | undefined;
  const bad = (why: string) => invalid(`malformed If header (${why}): ${header.slice(0, 200)}`);
  const skipSpace = () => {
    while (at < header.length && /[ \t]/.test(header[at] as string)) at++;
  };
  const until = (close: string) => {
    const end = header.indexOf(close, at);
    if (end === -1) throw bad(`missing ${close}`);
    const text = header.slice(at, end);
    at = end + 1;
    return text;
  };
  for (skipSpace(); at < header.length; skipSpace()) {
    const c = header[at];
    if (c === "<") {
      if (tagged === false) throw bad("tagged and untagged lists mixed");
      tagged = true;
      at++;
      resource = until(">");
      skipSpace();
      if (header[at] !== "(") throw bad("a resource tag must be followed by a list");
      continue;
    }
    if (c !== "(") throw bad(`unexpected ${JSON.stringify(c)}`);
    if (tagged === undefined) tagged = false;
    at++;
    const conditions: Condition[] = [];
    for (skipSpace(); header[at] !== ")"; skipSpace()) {
      if (at >= header.length) throw bad("missing )");
      let not = false;
      if (header.slice(at, at + 3).toLowerCase() === "not") {
        not = true;
        at += 3;
        skipSpace();
      }
      const open = header[at++];
      if (open === "<") conditions.push({ not, token: until(">") });
      else if (open === "[") conditions.push({ not, etag: until("]") });
      else throw bad("a condition is <state-token> or [entity-tag]");
    }
    at++;
    if (conditions.length === 0) throw bad("empty list");
    lists.push({ resource, conditions });
    if (lists.length > MAX_LISTS) throw bad(`more than ${MAX_LISTS} lists`);
  }
  if (lists.length === 0) throw bad("no list");
  return lists;
}

/** Every state token named anywhere in the header: the lock tokens the client submits. */
export function submittedTokens(lists: readonly IfList[]): string[] {
  const tokens = lists.flatMap((l) => l.conditions.flatMap((c) => (c.token ? [c.token] : [])));
  return [...new Set(tokens)];
}

/** What a condition is judged against: the current state of one resource. */
export interface ResourceState {
  /** The resource's entity tag, if it exists and has one. */
  etag?: string;
  /** Whether this lock token names a live lock that covers the resource. */
  hasLock(token: string): boolean;
}

/**
 * The header holds when at least one list holds: every condition in it
 * true for its resource. An entity tag matches by strong comparison (a
 * weak tag never matches, as in If-Match); `<DAV:no-lock>` matches nothing.
 */
export function ifHolds(
  lists: readonly IfList[],
  stateOf: (resource: string | null) => ResourceState,
): boolean {
  return lists.some((list) => {
    const state = stateOf(list.resource);
    return list.conditions.every((c) => {
      const matches =
        c.token !== undefined
          ? state.hasLock(c.token)
          : state.etag !== undefined && !c.etag.startsWith("W/") && c.etag === state.etag;
      return matches !== c.not;
    });
  });
}
