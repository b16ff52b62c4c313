import { FsError } from "../core/errors";
import type { FileEntry } from "../core/types";
import { guardSync, type Result } from "./rpc";
import type { ShareState } from "./share-state";
import type { TreeChanges } from "./tree-changes";
import type { CopyJob } from "./tree-copy";

/** A copy or restore job's outcome: where it linked, and the version its link made. */
export interface Linked {
  entry: FileEntry;
  version: number;
}

/** How long one alarm run keeps taking batches before it hands back and re-arms (wall time). */
const RUN_MS = 250;

/**
 * The pause between two batches. Not zero: a zero timer can win the race
 * against requests already waiting, which would then wait for the next
 * batch too; a few milliseconds let everything queued run first.
 */
const BETWEEN_BATCHES_MS = 5;

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, BETWEEN_BATCHES_MS));

/**
 * The tree's background work, batch by batch: copy jobs (tree-copy.ts),
 * then reclaiming what deletes unlinked (tree-reclaim.ts). Each batch is
 * one transaction of at most `batchRows` rows, and the run yields to the
 * event loop between batches, so a request that arrives meanwhile waits
 * for one batch at most. The alarm calls `run`; a request waiting for a
 * copy job waits on `finished`.
 */
export class TreeJobs {
  /**
   * Requests waiting for their copy job, registered in the transaction that
   * starts the job, so no outcome can come before its waiter. Job ids are
   * never reused (AUTOINCREMENT), so a waiter never gets another job's outcome.
   */
  private readonly waiters = new Map<number, (r: Result<Linked>) => void>();

  constructor(
    private readonly s: ShareState,
    private readonly changes: TreeChanges,
    private readonly storage: DurableObjectStorage,
  ) {}

  pending(): boolean {
    return this.s.copies.pending() || this.s.reclaim.pending(Date.now());
  }

  /** When the tree's background work is next due (now while any is pending), or null. */
  nextDue(now: number): number | null {
    return this.s.copies.pending() ? now : this.s.reclaim.nextDue(now);
  }

  /**
   * Resolves when copy job `id` has linked (or failed to). Call it inside
   * the transaction that starts the job. A job that outlives its request
   * (the object restarted) still finishes, and nobody waits for it.
   */
  expect(id: number): Promise<Result<Linked>> {
    return new Promise((resolve) => this.waiters.set(id, resolve));
  }

  /**
   * Requests waiting for a job that no longer exists (its share was deleted
   * or expired meanwhile) get ENOENT instead of waiting forever.
   */
  settleVanished(): void {
    for (const [id, waiter] of this.waiters) {
      if (this.s.copies.job(id)) continue;
      this.waiters.delete(id);
      const gone = new FsError("ENOENT", "share not found: it was deleted while the copy ran");
      waiter({ ok: false, error: gone.toJSON() });
    }
  }

  /** Batches until nothing is left or the run's time is up; returns whether work remains. */
  async run(): Promise<boolean> {
    this.settleVanished();
    const until = Date.now() + RUN_MS;
    const rows = this.s.config.batchRows;
    for (;;) {
      const complete = this.transaction(() => this.s.copies.step(rows).complete);
      for (const job of complete) this.link(job);
      if (complete.length === 0) {
        const spent = this.transaction(() =>
          this.s.reclaim.step(rows, this.s.graceUntil(Date.now())),
        );
        if (spent === 0 && !this.s.copies.pending()) return false;
      }
      if (Date.now() >= until) return this.pending();
      await pause();
    }
  }

  private transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(() => {
      this.s.nodes.beginChange();
      return fn();
    });
  }

  /** Links a built copy; if its destination refuses now, what it built is reclaimed instead. */
  private link(job: CopyJob): void {
    const linked = guardSync(() =>
      this.transaction(() => ({
        entry: this.changes.linkCopy({ now: Date.now() }, job),
        version: this.s.nodes.version(),
      })),
    );
    if (!linked.ok) {
      this.transaction(() => this.s.tree.abandonCopy(job, this.s.graceUntil(Date.now())));
    }
    const waiter = this.waiters.get(job.id);
    this.waiters.delete(job.id);
    waiter?.(linked);
  }
}
