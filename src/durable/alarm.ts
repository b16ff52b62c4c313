import { deleteBlobs } from "../r2/blob-store";
import type { ShareLifecycle } from "./share-lifecycle";
import type { ShareState } from "./share-state";

/** R2 deletes at most 1,000 keys per call; one GC batch is one such call. */
const GC_BATCH = 1000;

/**
 * The share's one alarm, and the housekeeping it runs: expiring write
 * reservations, uploads and leases, reclaiming an expired ephemeral share,
 * and deleting unreferenced blobs from R2 in batches.
 */
export class AlarmSchedule {
  constructor(
    private readonly s: ShareState,
    private readonly lifecycle: ShareLifecycle,
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
      this.s.ledger.nextDue(),
      this.s.leases.nextExpiry(),
      this.lifecycle.row()?.expires_at ?? null,
    ].filter((t): t is number => t !== null);
    return candidates.length === 0 ? null : Math.min(...candidates);
  }

  async schedule(): Promise<void> {
    const next = this.nextDue();
    const current = await this.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.storage.deleteAlarm();
    } else if (current !== next) {
      await this.storage.setAlarm(next);
    }
  }

  /**
   * Reclaims what is due, one R2 batch at a time. Alarms run at least once
   * and are retried on failure: a GC row is deleted only after R2 confirmed
   * the delete, and deleting an absent key is a no-op, so a retry never
   * double-frees (reference counts were settled when the row was queued).
   */
  async run(): Promise<void> {
    const now = Date.now();
    await this.lifecycle.reclaimIfExpired(now);
    this.storage.transactionSync(() => {
      this.s.ledger.expirePending(now);
      this.s.uploads.expire(now);
      this.s.leases.expire(now);
    });
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
    if (due.length === GC_BATCH) {
      // More is due: come back at once rather than waiting for the next item.
      await this.storage.setAlarm(Date.now());
      return;
    }
    await this.schedule();
  }
}
