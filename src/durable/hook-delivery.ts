import { afterVersion, type EventPlace, formatCursor } from "../core/changes";
import { SIGNATURE_HEADER, signHook } from "../core/hook-signature";
import type { HookRow } from "./hook-table";
import type { ShareState } from "./share-state";

/** Changes one delivery carries at most. */
export const HOOK_BATCH = 100;

/** How long a receiver has to answer one delivery. */
const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Delivers the share's webhooks, from its alarm: for each hook that is
 * behind the feed and due, the next batch of its changes, signed
 * (core/hook-signature.ts), POSTed to its URL. A 2xx answer acknowledges the
 * batch and the hook moves past it; anything else (another status, a
 * redirect, a timeout, a refused connection) leaves the hook where it was,
 * and the same batch is sent again after a backoff (hook-table.ts). So each hook gets every
 * change at least once, in order, one batch in flight at a time (alarm runs
 * never overlap), and no writer ever waits for a receiver.
 */
export class HookDelivery {
  constructor(
    private readonly s: ShareState,
    private readonly matcher: (filter: string | null) => ((e: EventPlace) => boolean) | null,
  ) {}

  nextDue(): number | null {
    return this.s.hooks.nextDue(afterVersion(this.s.nodes.version()), Date.now());
  }

  /** One delivery per due hook, all at once; true if some hook is due again already. */
  async deliver(share: { name: string; env: string }, now: number): Promise<boolean> {
    const due = this.s.hooks.due(afterVersion(this.s.nodes.version()), now);
    await Promise.all(due.map((hook) => this.deliverOne(hook, share)));
    return this.s.hooks.due(afterVersion(this.s.nodes.version()), Date.now()).length > 0;
  }

  private async deliverOne(hook: HookRow, share: { name: string; env: string }): Promise<void> {
    const batch =
      hook.pending_body !== null && hook.pending_to !== null
        ? { body: hook.pending_body, to: hook.pending_to }
        : this.nextBatch(hook, share);
    if (batch === null) return;
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const answer = await fetch(hook.url, {
        method: "POST",
        body: batch.body,
        headers: {
          "content-type": "application/json",
          "user-agent": "edgefs-hooks/1",
          [SIGNATURE_HEADER]: await signHook(hook.secret, timestamp, batch.body),
          "edgefs-hook": hook.id,
          // The same for every retry of this batch, which carries the same body:
          // a receiver can drop one it already took.
          "edgefs-delivery": `${hook.id}/${formatCursor(batch.to)}`,
        },
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await answer.body?.cancel();
      if (answer.status >= 200 && answer.status < 300) {
        this.s.hooks.advanced(hook.id, batch.to);
      } else {
        this.s.hooks.failed(hook.id, batch, `the receiver answered ${answer.status}`, Date.now());
      }
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.s.hooks.failed(hook.id, batch, `the delivery failed: ${why}`, Date.now());
    }
  }

  /** The hook's next batch, or null when nothing after its position matches (it moves past it). */
  private nextBatch(
    hook: HookRow,
    share: { name: string; env: string },
  ): { body: string; to: number } | null {
    const floor = this.s.feed.floor();
    if (hook.after < floor) {
      // The feed pruned changes this hook never delivered (its receiver failed for
      // longer than the retention): it goes on from what is kept, and says what it lost.
      this.s.hooks.skipped(hook.id, hook.after, floor);
      hook = { ...hook, after: floor, lost_from: hook.lost_from ?? hook.after };
    }
    const page = this.s.feed.page(hook.after, this.matcher(hook.filter), HOOK_BATCH);
    if (page.events.length === 0) {
      this.s.hooks.advanced(hook.id, page.position);
      return null;
    }
    const lost =
      hook.lost_from === null
        ? ""
        : `,"lost":{"from":${JSON.stringify(formatCursor(hook.lost_from))},"to":${JSON.stringify(formatCursor(hook.after))}}`;
    const body = `{"hook":${JSON.stringify(hook.id)},"env":${JSON.stringify(share.env)},"share":${JSON.stringify(share.name)},"since":${JSON.stringify(formatCursor(hook.after))},"changes":[${page.events.join(",")}],"version":${page.version},"next":${JSON.stringify(page.next)},"more":${page.more}${lost}}`;
    return { body, to: page.position };
  }
}
