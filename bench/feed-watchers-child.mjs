#!/usr/bin/env node
// The change-feed benchmark's watchers in a process of their own (forked by
// bench/feed.mjs for its throughput section): it is sent a WatchPlan, opens
// the watchers, says when they are all connected, then reports how many
// events they have received, ten times a second, until it is killed.
import { openWatchers } from "./feed-watchers.mjs";

/** @typedef {import("./feed-watchers.mjs").WatchPlan} WatchPlan */

/** @param {unknown} m */
const send = (m) => process.send?.(m);

process.once("message", async (m) => {
  const plan = /** @type {WatchPlan} */ (m);
  let delivered = 0;
  try {
    const attached = await openWatchers(plan, () => {
      delivered++;
    });
    send({ ready: true });
    setInterval(() => send({ delivered, errors: attached.errors() }), 100);
    process.once("SIGTERM", () => {
      attached.close();
      process.exit(0);
    });
  } catch (e) {
    send({ failed: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
});
