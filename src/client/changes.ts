// The change feed from the client's side (docs/api.md "Change feed"): the
// types of its answers, the checks of its options, and the loop that turns
// long-polled pages into one ordered stream of events which reconnects by
// itself. Runtime-agnostic: fetch, timers and AbortSignal only.
import type { ChangeEvent, ChangeOp, ChangePage } from "../core/changes.js";
import { NetworkError, NoSpaceError, ServerError, UpstreamError } from "./errors.js";
import { checkValue, type KeysOf } from "./options.js";

// The wire types are the server's own: one definition of the feed's contract.
export type { ChangeEvent, ChangeOp, ChangePage };

/** Options of changes(): one page of the feed. */
export interface ChangesOptions {
  /** A version number (events after it) or a page's `next`. Omitted: from the latest version. */
  since?: number | string;
  /** A glob (the listing's rules) an event's path or destination must match. */
  path?: string;
  /** Events per page: 1 to 1000, default 100. */
  limit?: number;
  /** Seconds (0 to 60) the answer may wait for a change when there is none yet. */
  wait?: number;
  signal?: AbortSignal;
}

/** Options of watch(). */
export interface WatchOptions {
  /** Where to start: a version number (events after it) or a `next`/`cursor`. Omitted: from the first answer's version. */
  since?: number | string;
  /** Seconds each long poll may wait (1 to 60, default 30). */
  wait?: number;
  /** Ends the watch: the loop returns (no error). */
  signal?: AbortSignal;
}

/** Options of waitFor(). */
export interface WaitForOptions {
  /** Seconds to wait before rejecting with TimeoutError; default: no limit. */
  timeout?: number;
  /** Rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
}

/**
 * The events of a watch, in order. `cursor` is where a new watch resumes
 * right after the last event handed out (pass it as `since`); inside a batch
 * commit's version it stays before that version, so a break there sees that
 * version's events again rather than miss any.
 */
export interface ChangeWatch extends AsyncGenerator<ChangeEvent, void, undefined> {
  readonly cursor: string | undefined;
}

export const CHANGES_KEYS = {
  since: true,
  path: true,
  limit: true,
  wait: true,
  signal: true,
} as const satisfies KeysOf<ChangesOptions>;
export const WATCH_KEYS = {
  since: true,
  wait: true,
  signal: true,
} as const satisfies KeysOf<WatchOptions>;
export const WAIT_FOR_KEYS = {
  timeout: true,
  signal: true,
} as const satisfies KeysOf<WaitForOptions>;

export const MAX_CHANGES_LIMIT = 1000;
export const MAX_WAIT_SECONDS = 60;
/** A watch's long poll: well below the minute after which proxies cut idle answers. */
export const DEFAULT_WATCH_WAIT_SECONDS = 30;

const wholeIn = (min: number, max: number) => (v: unknown) =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

export const isSignal = (v: unknown) =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as AbortSignal).aborted === "boolean" &&
  typeof (v as AbortSignal).addEventListener === "function";

/** Checks the options that changes() and watch() share. */
export function checkFeedOptions(
  what: string,
  o: { since?: unknown; path?: unknown; limit?: unknown; wait?: unknown; signal?: unknown },
  minWait: number,
): void {
  checkValue(
    what,
    "since",
    o.since,
    (v) => (typeof v === "string" && v !== "") || wholeIn(0, Number.MAX_SAFE_INTEGER)(v),
    "a version number or a cursor string",
  );
  checkValue(what, "path", o.path, (v) => typeof v === "string" && v !== "", "a glob");
  checkValue(what, "limit", o.limit, wholeIn(1, MAX_CHANGES_LIMIT), "a whole number 1-1000");
  checkValue(
    what,
    "wait",
    o.wait,
    wholeIn(minWait, MAX_WAIT_SECONDS),
    `whole seconds ${minWait}-${MAX_WAIT_SECONDS}`,
  );
  checkValue(what, "signal", o.signal, isSignal, "an AbortSignal");
}

/** The answer's body as a page, or why it is none (a proxy's page, a cut-off body). */
export function checkPage(body: unknown, what: string): ChangePage {
  const page = body as Partial<ChangePage> | null;
  const ok =
    typeof page === "object" &&
    page !== null &&
    Array.isArray(page.changes) &&
    typeof page.next === "string" &&
    page.next !== "" &&
    typeof page.version === "number";
  if (!ok) throw new ServerError(`${what}: the answer is not a page of changes`, { status: 200 });
  return { ...(page as ChangePage), more: page.more === true };
}

/**
 * Failures a watch outlives: no answer, or a 5xx (the gateway restarting, a
 * Durable Object moving). 501 and 507 say something lasting; 4xx answers
 * (EEXPIRED, auth, a bad glob, a deleted share) are the caller's to see.
 */
export function isTransient(e: unknown): boolean {
  if (e instanceof NetworkError || e instanceof UpstreamError) return true;
  return e instanceof ServerError && !(e instanceof NoSpaceError) && e.status !== 501;
}

const RECONNECT_BASE_MS = 250;
const RECONNECT_MAX_MS = 30_000;

/**
 * Delay before reconnect `attempt` (1-based): 250 ms × 2^(attempt−1), at
 * most 30 s, scaled by a random 50–100% so many watchers cut off together
 * do not come back together.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** A pause that an abort ends early. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** What the reconnect loop waits with; tests replace it to see the delays without waiting. */
export interface ReconnectClock {
  pause(ms: number, signal: AbortSignal | undefined): Promise<void>;
  random(): number;
}
const REAL_CLOCK: ReconnectClock = { pause, random: Math.random };

/** Fetches the page after `since` (undefined: from the latest version). */
export type PageSource = (since: string | undefined) => Promise<ChangePage>;

/**
 * Pages of the feed from `since` on, for as long as the caller reads them:
 * each request resumes from the previous answer's `next`, so a reconnect
 * after a transient failure (bounded exponential backoff with jitter,
 * reset by every answer) neither skips nor repeats an event. Ends when
 * `signal` aborts; throws what is not transient.
 */
export async function* changePages(
  fetchPage: PageSource,
  since: string | undefined,
  signal: AbortSignal | undefined,
  clock: ReconnectClock = REAL_CLOCK,
): AsyncGenerator<ChangePage, void, undefined> {
  let cursor = since;
  let failures = 0;
  for (;;) {
    if (signal?.aborted) return;
    let page: ChangePage;
    try {
      page = await fetchPage(cursor);
    } catch (e) {
      if (signal?.aborted) return;
      if (!isTransient(e)) throw e;
      failures++;
      await clock.pause(
        reconnectDelay(failures, () => clock.random()),
        signal,
      );
      continue;
    }
    failures = 0;
    cursor = page.next;
    yield page;
  }
}

/** The events of changePages() one by one, with the cursor that resumes after each. */
export function watchChanges(
  fetchPage: PageSource,
  since: string | undefined,
  signal: AbortSignal | undefined,
  clock: ReconnectClock = REAL_CLOCK,
): ChangeWatch {
  let cursor = since;
  async function* events(): AsyncGenerator<ChangeEvent, void, undefined> {
    for await (const page of changePages(fetchPage, since, signal, clock)) {
      const list = page.changes;
      if (list.length === 0) cursor = page.next;
      for (let i = 0; i < list.length; i++) {
        const event = list[i] as ChangeEvent;
        const following = list[i + 1];
        // Exact positions only: the page's end, or the end of a version
        // (since=N is "after version N"); inside a version the cursor waits.
        if (following === undefined) cursor = page.next;
        else if (following.version > event.version) cursor = String(event.version);
        yield event;
      }
    }
  }
  const watch = events();
  Object.defineProperty(watch, "cursor", { get: () => cursor, enumerable: true });
  return watch as ChangeWatch;
}

/** The paths an event may have brought into being: nothing for a delete, else its target. */
function createdBy(event: ChangeEvent): string | undefined {
  return event.op === "delete" ? undefined : (event.to ?? event.path);
}

/**
 * Whether `event` may have made `target` exist: it created the target, a
 * path below it (writes create their parents), or a tree above it (a
 * recursive copy, move or restore). The caller then asks the server.
 */
export function mayCreate(event: ChangeEvent, target: string): boolean {
  const created = createdBy(event);
  if (created === undefined) return false;
  const below = (p: string, dir: string) => dir === "/" || p.startsWith(`${dir}/`);
  return created === target || below(created, target) || below(target, created);
}

/** A path as the feed and stat name it: absolute, without a trailing slash. */
export function feedPath(path: string): string {
  const absolute = path.startsWith("/") ? path : `/${path}`;
  return absolute.length > 1 ? absolute.replace(/\/+$/, "") || "/" : absolute;
}

/** waitFor's refusal of a bad timeout, before any request. */
export function checkTimeout(timeout: unknown): void {
  checkValue(
    "waitFor",
    "timeout",
    timeout,
    (v) => typeof v === "number" && Number.isFinite(v) && v >= 0,
    "a number of seconds (0 or more)",
  );
}
