import { configFrom } from "../config";
import { eventFilter, type FeedPage, type FeedPosition, parseCursor } from "../core/changes";
import { endpointRefusal } from "../core/endpoints";
import { FsError, invalid } from "../core/errors";
import type { HookInfo } from "../durable/hook-table";
import type { ShareTarget } from "./resolve";
import { shareStub } from "./share-backend";

/** A page holds at most this many events; by default this many. */
export const FEED_LIMIT_MAX = 1000;
export const FEED_LIMIT_DEFAULT = 100;

/** The longest a long-poll waits (seconds): within every proxy's idle timeout. */
export const FEED_WAIT_MAX_SECONDS = 60;

/** What a watcher asks of the feed, as every front-end takes it from its caller. */
export interface FeedQuery {
  /** A version or a `next` cursor; absent: from now. */
  since?: string;
  /** A path or glob the events must touch. */
  path?: string;
  limit?: number;
  /** Long-poll: how long an empty page may wait for an event (seconds). */
  wait?: number;
}

/** A FeedQuery checked: EINVAL for a bad cursor, glob, limit or wait, before the share is asked. */
export interface CheckedFeedQuery {
  after: FeedPosition | null;
  filter: string | null;
  limit: number;
  waitMs: number;
}

export function checkFeedQuery(q: FeedQuery): CheckedFeedQuery {
  const limit = q.limit ?? FEED_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > FEED_LIMIT_MAX) {
    throw invalid(`limit must be 1..${FEED_LIMIT_MAX}`);
  }
  const wait = q.wait ?? 0;
  if (!Number.isFinite(wait) || wait < 0 || wait > FEED_WAIT_MAX_SECONDS) {
    throw invalid(`wait must be 0..${FEED_WAIT_MAX_SECONDS} seconds`);
  }
  const filter = q.path === undefined || q.path === "" || q.path === "/" ? null : q.path;
  // Compiled here only to refuse a malformed glob with its message; the share compiles its own.
  eventFilter(filter ?? undefined);
  return {
    after: q.since === undefined || q.since === "" ? null : parseCursor(q.since),
    filter,
    limit,
    waitMs: Math.round(wait * 1000),
  };
}

/**
 * A share's change feed, for every front-end: pages (a long-poll when the
 * query waits) and WebSocket watchers, which the share's Durable Object
 * accepts itself so they hibernate with it. Share storage only: a bucket
 * mount changes outside edgefs, so what happens in it makes no event.
 */
export class ShareFeed {
  constructor(
    private readonly env: Env,
    private readonly target: ShareTarget,
  ) {}

  page(q: CheckedFeedQuery): Promise<FeedPage> {
    return this.target.api.readChanges(q.after, q.filter, q.limit, q.waitMs);
  }

  /**
   * A stream's next page after the one it just sent: answered by the
   * object's next fan-out round, never at once, so however many streams
   * follow the share they cost one read per round between them (as its
   * WebSockets do), not one each per change.
   */
  follow(q: CheckedFeedQuery & { after: FeedPosition }, waitMs: number): Promise<FeedPage> {
    return this.target.api.readChanges(q.after, q.filter, q.limit, waitMs, true);
  }

  /**
   * Hands a WebSocket upgrade to the share's object. `protocol`: the
   * subprotocol to answer with (a browser's socket fails without one when
   * it offered any).
   */
  async socket(
    q: CheckedFeedQuery,
    protocol: string | null,
    /** When the caller's token expires (ms), if it does: the socket closes then. */
    until?: number,
  ): Promise<Response> {
    const url = new URL("https://share.internal/changes/ws");
    if (q.after !== null) url.searchParams.set("after", String(q.after));
    if (q.filter !== null) url.searchParams.set("filter", q.filter);
    url.searchParams.set("limit", String(q.limit));
    if (protocol) url.searchParams.set("protocol", protocol);
    if (until !== undefined) url.searchParams.set("until", String(until));
    const stub = shareStub(this.env, this.target.environment, this.target.share);
    const answer = await stub.fetch(url, { headers: { upgrade: "websocket" } });
    if (answer.status === 101) return answer;
    const body = (await answer.json()) as { error: { code: FsError["code"]; message: string } };
    throw new FsError(body.error.code, body.error.message);
  }
}

/** A hook's secret: long enough to resist guessing, short enough to sit in a header's HMAC key. */
export const HOOK_SECRET_MIN = 16;
export const HOOK_SECRET_MAX = 256;

export interface HookRequest {
  url: string;
  path?: string;
  secret: string;
}

/**
 * A share's webhooks (admin): each delivers the feed's changes that its
 * `path` keeps to its URL, signed with its secret. The URL must be https,
 * on a public host: the gateway would otherwise post into its own network
 * (the rule bucket mounts follow, core/endpoints.ts); an operator may allow
 * a private or loopback host, and http to it, with EDGEFS_MOUNT_ALLOW_HOSTS.
 */
export class ShareHooks {
  constructor(
    private readonly env: Env,
    private readonly target: ShareTarget,
    /** The gateway's own host as the caller addressed it: a hook may not point back at it. */
    private readonly gatewayHost: string,
  ) {}

  create(hook: HookRequest): Promise<HookInfo> {
    const allow = configFrom(this.env).mountAllowHosts;
    const refused = endpointRefusal(hook.url, { allow, gatewayHost: this.gatewayHost });
    if (refused) throw invalid(`hook url: ${refused.replace(/^endpoint/, "the url")}`);
    const url = new URL(hook.url);
    const allowed = allow.some((a) => a.host === url.hostname.replace(/^\[|\]$/g, ""));
    if (url.protocol !== "https:" && !allowed) {
      throw invalid("hook url must be https (a delivery carries your changes and its signature)");
    }
    if (hook.secret.length < HOOK_SECRET_MIN || hook.secret.length > HOOK_SECRET_MAX) {
      throw invalid(`secret must be ${HOOK_SECRET_MIN}..${HOOK_SECRET_MAX} characters`);
    }
    const filter =
      hook.path === undefined || hook.path === "" || hook.path === "/" ? null : hook.path;
    eventFilter(filter ?? undefined);
    return this.target.api.createHook(url.href, filter, hook.secret);
  }

  list(): Promise<HookInfo[]> {
    return this.target.api.listHooks();
  }

  delete(id: string): Promise<void> {
    return this.target.api.deleteHook(id);
  }
}
