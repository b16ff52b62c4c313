import { describe, expect, it } from "vitest";
import type { ChangePage } from "../../src/core/changes";
import { api, expectError, json, newShare, put, sleep } from "../worker/helpers";

// vitest.limits.config.ts: the change feed keeps one second of events.
const feed = (share: string, since: string) =>
  api("GET", `/v1/shares/${share}/changes?since=${since}`);

describe("the change feed's retention", () => {
  it("prunes events older than the window as new changes come; a watcher from before them gets 410", async () => {
    const s = await newShare();
    const start = (await json<ChangePage>(await feed(s, "0"))).version;
    const first = Number((await put(s, "/old.txt", "o")).headers.get("edgefs-version"));
    // Within the window, a watcher from the start still gets everything.
    expect(
      (await json<ChangePage>(await feed(s, String(start)))).changes.map((e) => e.path),
    ).toEqual(["/old.txt"]);
    await sleep(1200);
    await put(s, "/new.txt", "n");
    const gone = await expectError(await feed(s, String(start)), 410, "EEXPIRED");
    expect(gone.message).toMatch(/no longer kept/);
    // From the first kept version on, the feed is whole.
    const kept = await json<ChangePage>(await feed(s, String(first)));
    expect(kept.changes.map((e) => e.path)).toEqual(["/new.txt"]);
    const info = await json<{ usage: { feedEvents: number } }>(await api("GET", `/v1/shares/${s}`));
    expect(info.usage.feedEvents).toBe(1);
  });
});
