import {
  afterVersion,
  type ChangeEvent,
  type EventPlace,
  eventPosition,
  type FeedPage,
  type FeedPosition,
  formatCursor,
  versionAt,
} from "../core/changes";
import { FsError, invalid } from "../core/errors";
import type { FsPath } from "../core/paths";
import type { FileEntry } from "../core/types";
import type { NodeStore } from "./node-store";

/** An event as the feed keeps it: its position, what filters look at, and its JSON. */
export interface FeedRow extends EventPlace {
  seq: FeedPosition;
  event: string;
}

export type { FeedPage } from "../core/changes";

/** Rows a filtered page reads at most, so a glob that matches nothing costs a bounded scan. */
export const FEED_SCAN_ROWS = 10_000;

/** Old rows each change looks at to expire, so the feed's pruning keeps pace with its growth. */
const PRUNE_PER_CHANGE = 64;

/** What an event row costs in storage beyond its texts: its key, time and flags. */
const ROW_OVERHEAD = 32;

type Event = Omit<ChangeEvent, "version">;

/**
 * The share's change feed (the `feed` table): one row per event, keyed by
 * its position (version and index in the version: core/changes.ts), written
 * in the same transaction as the change it describes, so a rolled-back
 * change leaves no event and a committed one always has its events.
 *
 * Bounded: events older than the retention window, and the oldest beyond
 * `maxEvents`, are pruned by the changes that add events (each looks at a
 * few of the oldest, more than it adds, so pruning keeps pace with growth
 * and the feed only grows while it is written). An idle share keeps its
 * last events until its next change: retention is what the feed promises
 * at least. The highest position pruned is the feed's floor, and a reader
 * asking from below it gets EEXPIRED. Its rows live in the share's SQLite, so they
 * count against the share's storage budget like every other row; their
 * bytes are reported in the share's usage (`feedBytes`).
 */
export class ChangeFeed {
  /** The version being recorded and the index of its next event (reset when the version moves on). */
  private recording = { version: -1, index: 0 };
  /**
   * No event expires before this moment (the oldest one's expiry, or 0:
   * not known yet), so most changes skip looking. A rolled-back prune can
   * only make it late, never early: the count bound still holds meanwhile.
   */
  private expiresFrom = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly nodes: NodeStore,
    private readonly retentionMs: number,
    private readonly maxEvents: number,
    /** Called after every event recorded: the watchers' wake-up (it runs after the transaction). */
    private readonly recorded: () => void,
  ) {}

  // ── Recording (inside a change's transaction) ────────────────────────

  /** A file was written at `path` (a put of any front-end). */
  put(entry: FileEntry, now: number): void {
    this.record(
      {
        op: "put",
        path: entry.absolutePath,
        type: "file",
        size: entry.size,
        ...(entry.etag === undefined ? {} : { etag: entry.etag }),
        mtime: entry.mtime,
      },
      now,
    );
  }

  /** Dev routes' seeding: many files in one directory, one event on it. */
  seeded(dir: FsPath, now: number): void {
    this.record({ op: "put", path: dir, type: "directory", mtime: now, recursive: true }, now);
  }

  mkdir(path: FsPath, now: number): void {
    this.record({ op: "mkdir", path, type: "directory", mtime: now }, now);
  }

  delete(path: FsPath, type: "file" | "directory", recursive: boolean, now: number): void {
    this.record(
      {
        op: "delete",
        path,
        type,
        mtime: now,
        ...(recursive && type === "directory" ? { recursive: true } : {}),
      },
      now,
    );
  }

  /** A move, copy or restore from `from` that left `entry` at its destination. */
  relocated(op: "move" | "copy" | "restore", from: FsPath, entry: FileEntry, now: number): void {
    const to = entry.absolutePath;
    const file = entry.type === "file";
    this.record(
      {
        op,
        path: from,
        ...(op !== "restore" || to !== from ? { to } : {}),
        type: entry.type,
        ...(file ? { size: entry.size } : {}),
        ...(file && entry.etag !== undefined ? { etag: entry.etag } : {}),
        mtime: entry.mtime,
        ...(file ? {} : { recursive: true }),
      },
      now,
    );
  }

  /**
   * Records one event at the version this change makes (taking it if the
   * change has not yet). Events of one version are numbered in the order
   * they are recorded, the order the change made them.
   */
  private record(e: Event, now: number): void {
    const version = this.nodes.stamp();
    if (this.recording.version !== version) this.recording = { version, index: 0 };
    const seq = eventPosition(version, this.recording.index++);
    const event = JSON.stringify({ version, ...e });
    const to = e.to ?? null;
    const bytes = event.length + e.path.length + (to?.length ?? 0) + ROW_OVERHEAD;
    this.sql.exec(
      "INSERT INTO feed (seq, at, path, to_path, tree, event, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
      seq,
      now,
      e.path,
      to,
      e.type === "directory" && (e.recursive === true || e.op !== "mkdir") ? 1 : 0,
      event,
      bytes,
    );
    this.count(1, bytes);
    this.pruneSome(now);
    this.recorded();
  }

  // ── Reading ──────────────────────────────────────────────────────────

  /**
   * Where a reader may start: after `after`, which must not lie below the
   * floor (pruned events would be missing: EEXPIRED) nor past the latest
   * version (EINVAL).
   */
  check(after: FeedPosition): void {
    const latest = this.nodes.version();
    if (versionAt(after) > latest) {
      throw invalid(
        `since ${formatCursor(after)} is ahead of the share's latest version ${latest}: pass a "next" this share gave, or omit since to watch from now`,
      );
    }
    const floor = this.floor();
    if (after < floor) {
      throw new FsError(
        "EEXPIRED",
        `changes up to version ${versionAt(floor)} are no longer kept (the feed keeps ${this.retentionMs / 1000} s and at most ${this.maxEvents} events): resync by listing the share, then watch from the "version" this answer's share info gives (GET /v1/shares/{share}) or omit since to watch from now`,
      );
    }
  }

  /** Events after `after`, in order: at most `n` rows. */
  rowsAfter(after: FeedPosition, n: number): FeedRow[] {
    return this.sql
      .exec<{ seq: number; path: string; to_path: string | null; tree: number; event: string }>(
        "SELECT seq, path, to_path, tree, event FROM feed WHERE seq > ? ORDER BY seq LIMIT ?",
        after,
        n,
      )
      .toArray()
      .map((r) => ({
        seq: r.seq,
        path: r.path,
        to: r.to_path,
        tree: r.tree === 1,
        event: r.event,
      }));
  }

  /**
   * A page after `after` of the events `matches` keeps, at most `limit` of
   * them and at most FEED_SCAN_ROWS rows read. `rows` may be passed in when
   * many readers start at the same place (the watchers' fan-out reads once).
   */
  page(
    after: FeedPosition,
    matches: ((e: EventPlace) => boolean) | null,
    limit: number,
    rows = this.rowsAfter(after, matches ? FEED_SCAN_ROWS + 1 : limit + 1),
  ): FeedPage {
    const version = this.nodes.version();
    const scan = matches ? FEED_SCAN_ROWS : limit;
    const events: string[] = [];
    const cursors: string[] = [];
    let last: FeedPosition | null = null;
    let cut = false;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as FeedRow;
      if (i >= scan || events.length >= limit) {
        cut = true;
        break;
      }
      if (row.seq <= after) continue;
      if (!matches || matches(row)) {
        events.push(row.event);
        // The last event of its version resumes as "57"; any other as "57:3". With
        // no row after it, it is the feed's last: its version's events all came
        // in one transaction, so it closes its version.
        const following = rows[i + 1];
        const closes = !following || versionAt(following.seq) !== versionAt(row.seq);
        cursors.push(formatCursor(closes ? afterVersion(versionAt(row.seq)) : row.seq));
      }
      last = row.seq;
    }
    let position: FeedPosition;
    if (!cut) {
      position = Math.max(after, afterVersion(version));
    } else {
      // Cut inside the rows: the next page starts after the last one read, said as
      // "57" when that was the last event of its version and "57:3" otherwise.
      const read = last ?? after;
      const following = rows.find((r) => r.seq > read);
      position =
        following && versionAt(following.seq) !== versionAt(read)
          ? afterVersion(versionAt(read))
          : read;
    }
    return { events, cursors, version, next: formatCursor(position), more: cut, position };
  }

  /** The highest position pruned: a reader must start at or above it. */
  floor(): FeedPosition {
    return this.counter("feed_floor");
  }

  /** What the feed holds, for the share's usage. */
  stats(): { events: number; bytes: number } {
    return { events: this.counter("feed_events"), bytes: this.counter("feed_bytes") };
  }

  // ── Pruning ──────────────────────────────────────────────────────────

  /** A change prunes a few: the oldest beyond `maxEvents`, then a few expired ones. */
  private pruneSome(now: number): void {
    const over = this.counter("feed_events") - this.maxEvents;
    if (over > 0) this.dropOldest(over);
    this.prune(now, PRUNE_PER_CHANGE);
  }

  /** Deletes up to `n` of the oldest events that are past retention; returns how many went. */
  private prune(now: number, n: number): number {
    // No retention time: only the count bounds the feed.
    if (this.retentionMs === 0 || now < this.expiresFrom) return 0;
    const cutoff = now - this.retentionMs;
    const oldest = this.sql
      .exec<{ at: number }>("SELECT at FROM feed ORDER BY seq LIMIT 1")
      .toArray()[0];
    if (!oldest || oldest.at >= cutoff) {
      this.expiresFrom = oldest ? oldest.at + this.retentionMs : now + this.retentionMs;
      return 0;
    }
    const rows = this.sql
      .exec<{ seq: number; at: number }>("SELECT seq, at FROM feed ORDER BY seq LIMIT ?", n)
      .toArray();
    let end = 0;
    while (end < rows.length && (rows[end] as { at: number }).at < cutoff) end++;
    if (end === 0) return 0;
    this.dropThrough((rows[end - 1] as { seq: number }).seq);
    this.expiresFrom = 0;
    return end;
  }

  private dropOldest(n: number): void {
    const row = this.sql
      .exec<{ seq: number }>("SELECT seq FROM feed ORDER BY seq LIMIT 1 OFFSET ?", n - 1)
      .toArray()[0];
    if (row) this.dropThrough(row.seq);
  }

  /** Deletes every event up to `seq` and raises the floor to it. */
  private dropThrough(seq: FeedPosition): void {
    const gone = this.sql
      .exec<{ n: number; bytes: number | null }>(
        "SELECT count(*) AS n, sum(bytes) AS bytes FROM feed WHERE seq <= ?",
        seq,
      )
      .one();
    this.sql.exec("DELETE FROM feed WHERE seq <= ?", seq);
    this.count(-gone.n, -(gone.bytes ?? 0));
    this.sql.exec(
      "INSERT INTO counters (name, value) VALUES ('feed_floor', ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
      seq,
    );
  }

  private count(events: number, bytes: number): void {
    this.sql.exec(
      `INSERT INTO counters (name, value) VALUES ('feed_events', ?1), ('feed_bytes', ?2)
       ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`,
      events,
      bytes,
    );
  }

  private counter(name: string): number {
    return (
      this.sql
        .exec<{ value: number }>("SELECT value FROM counters WHERE name = ?", name)
        .toArray()[0]?.value ?? 0
    );
  }
}
