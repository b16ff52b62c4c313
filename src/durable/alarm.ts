import { deleteBlobs } from "../r2/blob-store";
import type { HookDelivery } from "./hook-delivery";
import type { ShareLifecycle } from "./share-lifecycle";
import type { ShareState } from "./share-state";
import type { TreeJobs } from "./tree-jobs";

/** R2 deletes at most 1,000 keys per call; one GC batch is one such call. */
const GC_BATCH = 1000;

/** A failed run is retried after 10 s, doubling per failure up to an hour. */
const RETRY_FIRST_MS = 10_000;
const RETRY_MAX_MS = 3_600_000;

/** Storage key of the failed-run count and the retry time; kept across eviction. */
const RETRY_KEY = "alarm-retry";

interface Retry {
  failures: number;
  at: number;
}

/**
 * The share's one alarm, and the housekeeping it runs: expiring write
 * reservations, uploads and leases, reclaiming an expired ephemeral share,
 * delivering webhooks
 * (hook-delivery.ts), the tree's background batches
 * (copies, reclaiming deleted subtrees: tree-jobs.ts), and deleting
 * unreferenced blobs from R2 in batches.
 */
export class AlarmSchedule {
  /** The stored retry state, read once per object lifetime (undefined: not read yet). */
  private retry: Retry | null | undefined;

  constructor(
    private readonly s: ShareState,
    private readonly lifecycle: ShareLifecycle,
    private readonly jobs: TreeJobs,
    private readonly hooks: HookDelivery,
    private readonly storage: DurableObjectStorage,
    private readonly bucket: R2Bucket,
  ) {}

  /**
   * The one scheduling rule: after every change, the alarm points at the
   * earliest due item — a GC batch, an expiring write reservation, a lease's
   * expiry, the ephemeral share's expiry. Setting it to the minimum means a
   * later item can never postpone an earlier one, and nothing due clears it.
   */
  private nextDue(): number | null {
    const candidates = [
      // Background tree work (copies, reclaiming deleted subtrees) is due at once.
      this.jobs.nextDue(Date.now()),
      this.s.ledger.nextDue(),
      this.s.leases.nextExpiry(),
      this.lifecycle.row()?.expires_at ?? null,
      this.hooks.nextDue(),
    ].filter((t): t is number => t !== null);
    return candidates.length === 0 ? null : Math.min(...candidates);
  }

  async schedule(): Promise<void> {
    let next = this.nextDue();
    // After a failed run, nothing brings the retry forward: a change would
    // otherwise re-arm the alarm at the item that keeps failing, at once.
    const retry = await this.retryState();
    if (next !== null && retry !== null) next = Math.max(next, retry.at);
    const current = await this.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.storage.deleteAlarm();
    } else if (current !== next) {
      await this.storage.setAlarm(next);
    }
  }

  private async retryState(): Promise<Retry | null> {
    if (this.retry === undefined) this.retry = (await this.storage.get<Retry>(RETRY_KEY)) ?? null;
    return this.retry;
  }

  /**
   * The alarm handler. It never throws for a failure of its housekeeping:
   * Cloudflare retries a throwing alarm only a few times and then drops it,
   * and an idle share would then never collect garbage or expire again.
   * Instead it logs and re-arms itself with an exponential backoff (10 s
   * doubling to 1 h), so a due item waits at most one backoff; the count
   * lives in storage, survives eviction, and resets after a run succeeds.
   */
  async run(): Promise<void> {
    try {
      await this.housekeep();
    } catch (err) {
      const failures = ((await this.retryState())?.failures ?? 0) + 1;
      const delay = Math.min(RETRY_FIRST_MS * 2 ** (failures - 1), RETRY_MAX_MS);
      const at = Date.now() + delay;
      console.error(
        `alarm: housekeeping failed (${failures} in a row), retrying in ${delay / 1000} s:`,
        err,
      );
      this.retry = { failures, at };
      await this.storage.put<Retry>(RETRY_KEY, this.retry);
      await this.storage.setAlarm(at);
    }
  }

  /**
   * Reclaims what is due, one R2 batch at a time. A run may be repeated
   * after a failure part way: a GC row is deleted only after R2 confirmed
   * the delete, and deleting an absent key is a no-op, so a retry never
   * double-frees (reference counts were settled when the row was queued).
   */
  private async housekeep(): Promise<void> {
    const now = Date.now();
    await this.lifecycle.reclaimIfExpired(now);
    this.storage.transactionSync(() => {
      this.s.ledger.expirePending(now);
      this.s.uploads.expire(now);
      this.s.leases.expire(now);
    });
    const treeWorkLeft = await this.jobs.run();
    const share = this.lifecycle.row();
    const hooksDue = share ? await this.hooks.deliver(share, now) : false;
    const due = this.s.ledger.due(now, GC_BATCH);
    if (due.length > 0) {
      const failed = await deleteBlobs(this.bucket, due);
      const retry = new Set(failed.map((f) => f.key));
      for (const f of failed) {
        console.error(`GC: aborting upload ${f.uploadId} of ${f.key} failed, will retry:`, f.error);
      }
      // A failed abort leaves its parts stored: the row stays, due again later.
      this.s.ledger.postpone([...retry], this.s.graceUntil(now));
      this.s.ledger.done(due.map((d) => d.key).filter((k) => !retry.has(k)));
    }
    // The run succeeded: the backoff is over.
    if ((await this.retryState()) !== null) {
      this.retry = null;
      await this.storage.delete(RETRY_KEY);
    }
    if (due.length === GC_BATCH || treeWorkLeft || hooksDue) {
      // More is due: come back at once rather than waiting for the next item.
      await this.storage.setAlarm(Date.now());
      return;
    }
    await this.schedule();
  }
}
