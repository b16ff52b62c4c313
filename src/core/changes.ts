import { invalid } from "./errors.js";
import { compileGlob, isGlob } from "./glob.js";
import { type FsPath, isWithin, parsePath } from "./paths.js";

/**
 * The change feed's vocabulary (DESIGN.md §2 "Change feed"): every
 * committed change of a share is an event numbered by the version it made.
 * A batch commit or a tar upload makes one version of several events; a
 * recursive operation is one event on its root.
 */
export type ChangeOp = "put" | "mkdir" | "delete" | "move" | "copy" | "restore";

export interface ChangeEvent {
  version: number;
  op: ChangeOp;
  path: string;
  /** move and copy: where it went; restore: where it was restored to, when elsewhere. */
  to?: string;
  type: "file" | "directory";
  size?: number;
  etag?: string;
  mtime: number;
  /** A directory's whole subtree changed (recursive delete, copy, move, restore). */
  recursive?: boolean;
}

/** One page of the feed: its events, the latest version, and where the next page starts. */
export interface ChangePage {
  changes: ChangeEvent[];
  /** The share's latest version when the page was read. */
  version: number;
  /**
   * The `since` of the next page. Not always the last event's version: a
   * page may end inside a batch's version ("57:3"), and a filtered page
   * moves past versions that matched nothing.
   */
  next: string;
  /** More events are already there: ask again at once. */
  more: boolean;
}

/**
 * A page as the ShareDO reads it: its events as the JSON text the feed
 * keeps (spliced into answers, never parsed to be sent), and `next` both
 * as text and as the position it stands for.
 */
export interface FeedPage {
  events: string[];
  /** Each event's own cursor: where a reader that stopped right after it resumes (SSE ids). */
  cursors: string[];
  version: number;
  next: string;
  position: FeedPosition;
  more: boolean;
}

/** The answer a page makes (pull, WebSocket frame): a ChangePage, as JSON text. */
export function pageJson(page: FeedPage): string {
  return `{"changes":[${page.events.join(",")}],"version":${page.version},"next":${JSON.stringify(page.next)},"more":${page.more}}`;
}

/**
 * Events of one version a position can tell apart: a batch holds at most
 * 10,001 (10,000 ops and its directory), far below this.
 */
export const EVENTS_PER_VERSION = 65_536;

/**
 * A position in the feed, as one integer: after event `index` of `version`
 * is `version * EVENTS_PER_VERSION + index`; after all of `version` is the
 * position of its last possible event. Positions of events (`seq`) use the
 * same numbering, so "after position P" is `seq > P`.
 */
export type FeedPosition = number;

export const afterVersion = (version: number): FeedPosition =>
  (version + 1) * EVENTS_PER_VERSION - 1;

export const eventPosition = (version: number, index: number): FeedPosition =>
  version * EVENTS_PER_VERSION + index;

export const versionAt = (p: FeedPosition): number => Math.floor(p / EVENTS_PER_VERSION);

/** A position's `since` text: "57" after all of version 57, "57:3" after its event 3. */
export function formatCursor(p: FeedPosition): string {
  const version = versionAt(p);
  const index = p - version * EVENTS_PER_VERSION;
  return index === EVENTS_PER_VERSION - 1 ? String(version) : `${version}:${index}`;
}

/** `since` as a client sends it: a version, or a `next` cursor ("57:3"); EINVAL otherwise. */
export function parseCursor(text: string): FeedPosition {
  const m = /^(0|[1-9][0-9]{0,14})(?::(0|[1-9][0-9]{0,4}))?$/.exec(text);
  const version = Number(m?.[1]);
  const index = m?.[2] === undefined ? undefined : Number(m[2]);
  if (
    !m ||
    !Number.isSafeInteger(version) ||
    (index !== undefined && index >= EVENTS_PER_VERSION - 1)
  ) {
    throw invalid(
      `since must be a version number or the "next" of an earlier answer (like 57 or 57:3), not ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return index === undefined ? afterVersion(version) : eventPosition(version, index);
}

/** What a filter looks at in an event: where it was and where it went. */
export interface EventPlace {
  path: string;
  to: string | null;
  /** A directory-level event: its whole subtree changed. */
  tree: boolean;
}

/**
 * Which events a watcher of `filter` sees. A glob (Modal's rules, as in
 * listings) sees an event whose path or destination matches it; a plain
 * path sees events at or below it. An event on a whole directory (a
 * recursive delete, a move, a copy, a restore of a directory) is seen by
 * every watcher whose matches it may have changed: its directory lies
 * above the filter's base, or below it. So a watcher of "/data/*.csv" is
 * told when "/data" is deleted, or moved away, and never misses a change.
 */
export function eventFilter(filter: string | undefined): (e: EventPlace) => boolean {
  if (filter === undefined || filter === "" || filter === "/") return () => true;
  if (!filter.startsWith("/")) throw invalid("path must be absolute (start with '/')", filter);
  if (!isGlob(filter)) {
    const dir = parsePath(filter);
    const touches = (p: string) => isWithin(p as FsPath, dir) || isWithin(dir, p as FsPath);
    return (e) =>
      isWithin(e.path as FsPath, dir) ||
      (e.to !== null && isWithin(e.to as FsPath, dir)) ||
      (e.tree && (touches(e.path) || (e.to !== null && touches(e.to))));
  }
  const glob = compileGlob(filter);
  const base = glob.baseDir;
  const holds = (p: string) => isWithin(base, p as FsPath) || isWithin(p as FsPath, base);
  return (e) =>
    glob.matches(e.path) ||
    (e.to !== null && glob.matches(e.to)) ||
    (e.tree && (holds(e.path) || (e.to !== null && holds(e.to))));
}

/** A webhook as its admin sees it (the secret never comes back). */
export interface HookInfo {
  id: string;
  url: string;
  path?: string;
  createdAt: number;
  /** The cursor of the last change the receiver acknowledged (a `since`). */
  delivered: string;
  /** Deliveries the receiver has not acknowledged, in a row. */
  failures: number;
  /** Set while the hook is retrying: when it tries next, and what went wrong last. */
  nextAttempt?: number;
  lastError?: string;
}
