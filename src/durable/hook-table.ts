import { afterVersion, type FeedPosition, formatCursor, type HookInfo } from "../core/changes";
import { FsError } from "../core/errors";
import { randomId } from "../core/ids";

export type { HookInfo } from "../core/changes";

export interface HookRow {
  id: string;
  url: string;
  filter: string | null;
  secret: string;
  after: number;
  created_at: number;
  failures: number;
  due_at: number;
  last_error: string | null;
  lost_from: number | null;
  /** The batch a failed delivery sent, and the position it ends at: the retry sends it again. */
  pending_body: string | null;
  pending_to: number | null;
  [key: string]: SqlStorageValue;
}

/** Hooks one share may have: each delivery is a subrequest of the share's alarm. */
export const HOOKS_MAX = 20;

/** The first retry after a failed delivery, doubling per failure up to an hour. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 3_600_000;

/**
 * The share's webhooks (`hooks`): where each delivers, its filter and
 * secret, and how far its receiver has acknowledged the feed. A hook is
 * due while the feed holds changes after its position and its retry time
 * has come; the alarm delivers (hook-delivery.ts), so a failing receiver
 * is retried without any writer waiting for it.
 */
export class HookTable {
  constructor(private readonly sql: SqlStorage) {}

  create(
    url: string,
    filter: string | null,
    secret: string,
    latest: number,
    now: number,
  ): HookInfo {
    const count = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM hooks").one().n;
    if (count >= HOOKS_MAX) {
      throw new FsError("ENOSPC", `a share may have at most ${HOOKS_MAX} hooks: delete one first`);
    }
    const id = randomId();
    this.sql.exec(
      "INSERT INTO hooks (id, url, filter, secret, after, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      id,
      url,
      filter,
      secret,
      afterVersion(latest),
      now,
    );
    return info(this.row(id) as HookRow);
  }

  list(): HookInfo[] {
    return this.sql
      .exec<HookRow>("SELECT * FROM hooks ORDER BY created_at, id")
      .toArray()
      .map(info);
  }

  delete(id: string): void {
    if (this.sql.exec("DELETE FROM hooks WHERE id = ? RETURNING id", id).toArray().length === 0) {
      throw new FsError("ENOENT", `no hook ${id} on this share`);
    }
  }

  clear(): void {
    this.sql.exec("DELETE FROM hooks");
  }

  row(id: string): HookRow | undefined {
    return this.sql.exec<HookRow>("SELECT * FROM hooks WHERE id = ?", id).toArray()[0];
  }

  /** Hooks behind the feed's `end` whose time has come. */
  due(end: FeedPosition, now: number): HookRow[] {
    return this.sql
      .exec<HookRow>("SELECT * FROM hooks WHERE after < ? AND due_at <= ?", end, now)
      .toArray();
  }

  /** When the next hook behind `end` is due (`now` at the earliest: an alarm is never set in the past), or null. */
  nextDue(end: FeedPosition, now: number): number | null {
    const at = this.sql
      .exec<{ at: number | null }>("SELECT min(due_at) AS at FROM hooks WHERE after < ?", end)
      .one().at;
    return at === null ? null : Math.max(at, now);
  }

  /** The receiver acknowledged everything up to `after` (or nothing matched before it). */
  advanced(id: string, after: FeedPosition): void {
    this.sql.exec(
      `UPDATE hooks SET after = max(after, ?), failures = 0, due_at = 0, last_error = NULL,
         lost_from = NULL, pending_body = NULL, pending_to = NULL WHERE id = ?`,
      after,
      id,
    );
  }

  /**
   * A delivery of `body` (ending at `to`) failed: the same batch is sent
   * again after a backoff that doubles per failure, with jitter.
   */
  failed(id: string, batch: { body: string; to: FeedPosition }, error: string, now: number): void {
    const row = this.row(id);
    if (!row) return;
    const failures = row.failures + 1;
    const backoff = Math.min(RETRY_FIRST_MS * 2 ** (failures - 1), RETRY_MAX_MS);
    const jitter = backoff * 0.2 * Math.random();
    this.sql.exec(
      "UPDATE hooks SET failures = ?, due_at = ?, last_error = ?, pending_body = ?, pending_to = ? WHERE id = ?",
      failures,
      Math.round(now + backoff + jitter),
      error.slice(0, 500),
      batch.body,
      batch.to,
      id,
    );
  }

  /** The feed pruned changes the hook had not delivered: it goes on from `floor`, and says so once. */
  skipped(id: string, from: FeedPosition, floor: FeedPosition): void {
    this.sql.exec(
      "UPDATE hooks SET after = ?, lost_from = coalesce(lost_from, ?) WHERE id = ?",
      floor,
      from,
      id,
    );
  }
}

function info(row: HookRow): HookInfo {
  return {
    id: row.id,
    url: row.url,
    ...(row.filter === null ? {} : { path: row.filter }),
    createdAt: row.created_at,
    delivered: formatCursor(row.after),
    failures: row.failures,
    ...(row.failures > 0 ? { nextAttempt: row.due_at } : {}),
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
  };
}
