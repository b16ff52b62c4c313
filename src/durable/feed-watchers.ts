import { type EventPlace, eventFilter, type FeedPosition, pageJson } from "../core/changes";
import { FsError } from "../core/errors";
import { type ChangeFeed, FEED_SCAN_ROWS, type FeedPage, type FeedRow } from "./change-feed";
import type { Result } from "./rpc";

/** What a watcher asked for: where it is, its path filter, its page size. */
export interface Watch {
  after: FeedPosition;
  filter: string | null;
  limit: number;
  /** A socket opened with a scoped token: when that token expires (ms), and the socket with it. */
  until?: number;
}

/** A long-poll waiting in the object for its first matching event (or its timeout). */
interface Waiter extends Watch {
  done: (page: Result<FeedPage>) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The object's time a fan-out round may take, estimated per watcher. Date.now()
 * does not advance while the object computes, so a round cannot time itself:
 * the pause between rounds is set from the number of watchers instead.
 */
const ROUND_MS_PER_WATCHER = 0.01;

/** Fan-out takes at most this share of the object's time; writers keep the rest. */
const FANOUT_SHARE = 0.1;

/** Compiled path filters kept, by their text: watchers of one share mostly use a few. */
const MATCHERS_KEPT = 256;

/** The close code a socket gets when its share is gone, or its position expired. */
export const CLOSE_GONE = 4404;
export const CLOSE_EXPIRED = 4410;
export const CLOSE_UNAUTHENTICATED = 4401;

/**
 * Who watches the share's change feed, and the fan-out that tells them:
 * long-polls waiting in this object (in memory: the request holds them),
 * and hibernating WebSockets (accepted by the object, their positions in
 * their attachments, so they survive the object's eviction and cost
 * nothing while idle).
 *
 * A recorded event never tells anyone itself: it schedules one round, after
 * its transaction, and every event until the round runs shares it. Rounds
 * are spaced by the number of watchers (FANOUT_SHARE), so however many
 * watch, writers keep most of the object's time; a watcher behind by many
 * events gets a page per round until it has caught up, never the whole
 * backlog at once. Each round reads the feed once per distinct position.
 */
export class FeedWatchers {
  private readonly waiters = new Set<Waiter>();
  private readonly matchers = new Map<string, (e: EventPlace) => boolean>();
  private round: ReturnType<typeof setTimeout> | null = null;
  private lastRound = 0;
  /** A wake-up is queued for after the current transaction (one per change, however many events). */
  private waking = false;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly feed: () => ChangeFeed,
    /** Throws the FsError a reader of the share would get now (ENOENT once it is gone). */
    private readonly requireLive: () => void,
  ) {}

  /** The path filter's matcher, compiled once per text (null: every event). */
  matcher(filter: string | null): ((e: EventPlace) => boolean) | null {
    if (filter === null) return null;
    let m = this.matchers.get(filter);
    if (!m) {
      if (this.matchers.size >= MATCHERS_KEPT) this.matchers.clear();
      m = eventFilter(filter);
      this.matchers.set(filter, m);
    }
    return m;
  }

  /**
   * A long-poll: resolves with the first page that has events, or an empty
   * one after `waitMs`. `due`: events may be there already (a stream's
   * follow-up), so a round is scheduled now rather than at the next change.
   */
  wait(watch: Watch, waitMs: number, due = false): Promise<Result<FeedPage>> {
    const answer = new Promise<Result<FeedPage>>((resolve) => {
      const waiter: Waiter = {
        ...watch,
        done: (page) => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve(page);
        },
        timer: setTimeout(() => {
          // Nothing matched in time: the answer still moves the caller past what it skipped.
          waiter.done(this.pageOf(waiter));
        }, waitMs),
      };
      this.waiters.add(waiter);
    });
    if (due) this.schedule();
    return answer;
  }

  /** A WebSocket watcher, accepted for hibernation; its backlog comes in the next rounds. */
  accept(socket: WebSocket, watch: Watch): void {
    this.ctx.acceptWebSocket(socket);
    socket.serializeAttachment(watch);
    this.schedule();
  }

  /**
   * Something was recorded: a round is due (one, however many events come
   * first). Called inside the change's transaction, so it only queues a
   * microtask, which runs once the transaction is over.
   */
  wake(): void {
    if (this.waking || this.round !== null) return;
    this.waking = true;
    queueMicrotask(() => {
      this.waking = false;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.round !== null) return;
    const watchers = this.waiters.size + this.ctx.getWebSockets().length;
    if (watchers === 0) return;
    const spacing = (watchers * ROUND_MS_PER_WATCHER) / FANOUT_SHARE;
    const delay = Math.max(0, this.lastRound + spacing - Date.now());
    this.round = setTimeout(() => this.fanOut(), delay);
  }

  /** A watcher's page, or the error a reader of the share gets now (checked by the caller when given). */
  private pageOf(w: Watch, rows?: FeedRow[], gone?: Result<FeedPage> | null): Result<FeedPage> {
    try {
      if (gone) return gone;
      if (gone === undefined) this.requireLive();
      return { ok: true, value: this.feed().page(w.after, this.matcher(w.filter), w.limit, rows) };
    } catch (e) {
      if (e instanceof FsError) return { ok: false, error: e.toJSON() };
      throw e;
    }
  }

  /** Whether the share is still there, once per round: null if it is, else the error every watcher gets. */
  private shareGone(): Result<FeedPage> | null {
    try {
      this.requireLive();
      return null;
    } catch (e) {
      if (e instanceof FsError) return { ok: false, error: e.toJSON() };
      throw e;
    }
  }

  private fanOut(): void {
    this.round = null;
    this.lastRound = Date.now();
    const read = new Map<FeedPosition, FeedRow[]>();
    const rowsAfter = (after: FeedPosition) => {
      let rows = read.get(after);
      if (!rows) {
        rows = this.feed().rowsAfter(after, FEED_SCAN_ROWS + 1);
        read.set(after, rows);
      }
      return rows;
    };
    let behind = false;
    const gone = this.shareGone();
    for (const w of [...this.waiters]) {
      const page = this.pageOf(w, rowsAfter(w.after), gone);
      if (!page.ok || page.value.events.length > 0) {
        w.done(page);
        continue;
      }
      w.after = page.value.position;
      behind ||= page.value.more;
    }
    for (const socket of this.ctx.getWebSockets()) {
      const w = socket.deserializeAttachment() as Watch | null;
      if (!w) continue;
      if (w.until !== undefined && Date.now() >= w.until) {
        const error = {
          code: "EUNAUTHENTICATED",
          message: "the token this socket opened with expired",
        };
        socket.send(JSON.stringify({ error }));
        socket.close(CLOSE_UNAUTHENTICATED, "token expired");
        continue;
      }
      const page = this.pageOf(w, rowsAfter(w.after), gone);
      if (!page.ok) {
        socket.send(JSON.stringify({ error: page.error }));
        socket.close(page.error.code === "EEXPIRED" ? CLOSE_EXPIRED : CLOSE_GONE, page.error.code);
        continue;
      }
      const { position, more, events } = page.value;
      if (position === w.after) continue;
      if (events.length > 0) socket.send(pageJson(page.value));
      socket.serializeAttachment({ ...w, after: position });
      behind ||= more;
    }
    if (behind) this.wake();
  }
}
