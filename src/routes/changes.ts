import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { checkFeedQuery, ShareFeed } from "../backends/share-feed";
import { pageJson } from "../core/changes";
import { FsError } from "../core/errors";
import { can, principalOf, WS_BEARER_PREFIX } from "../http/auth";
import { shareOf } from "../http/backend";
import type { AppEnv } from "../http/env";
import { validate } from "../http/params";

/**
 * The change feed (docs/api.md "Change feed"): every committed change of a
 * share, numbered by its version, as pages (with a long-poll), as
 * Server-Sent Events, or over a WebSocket the share's Durable Object holds.
 */
export const changes = new Hono<AppEnv>();

const feedQuery = z.object({
  env: z.string().optional(),
  since: z.string().max(32).optional(),
  path: z.string().max(4096).optional(),
  limit: z.coerce.number().int().optional(),
  wait: z.coerce.number().optional(),
});

/** The longest path filter a WebSocket may keep (its attachment's 2 KiB, with room for the rest). */
const WS_FILTER_MAX = 1024;

/** How long one long-poll of an event stream waits before it says it is still there. */
const STREAM_POLL_SECONDS = 25;

const feedOf = (c: Context<AppEnv>) => new ShareFeed(c.env, shareOf(c));

/** → {changes, version, next, more}; with Accept: text/event-stream, an SSE stream. */
changes.get("/:share/changes", can("read"), validate("query", feedQuery), async (c) => {
  const q = c.req.valid("query");
  const resumed = c.req.header("last-event-id");
  const query = checkFeedQuery({ ...q, since: resumed?.trim() || q.since });
  const feed = feedOf(c);
  if (!(c.req.header("accept") ?? "").includes("text/event-stream")) {
    const page = await feed.page(query);
    return c.body(pageJson(page), 200, { "content-type": "application/json; charset=utf-8" });
  }
  // The first page is read before the stream starts, so a bad `since` or a
  // missing share is an HTTP error, not an event.
  const first = await feed.page({ ...query, waitMs: 0 });
  const token = bearerOf(c.req.header("authorization"));
  return streamSSE(c, async (stream) => {
    let aborted = false;
    stream.onAbort(() => {
      aborted = true;
    });
    await stream.write("retry: 2000\n\n");
    let page = first;
    for (;;) {
      for (let i = 0; i < page.events.length; i++) {
        await stream.writeSSE({
          id: page.cursors[i],
          event: "change",
          data: page.events[i] as string,
        });
      }
      if (page.events.length === 0) await stream.write(": keep-alive\n\n");
      if (aborted) return;
      try {
        // The token is checked again each round, as each request over HTTP is.
        if (token !== null) await principalOf(token, c);
        page = await feed.follow({ ...query, after: page.position }, STREAM_POLL_SECONDS * 1000);
      } catch (e) {
        const error =
          e instanceof FsError ? e.toJSON() : { code: "EINTERNAL", message: "the feed failed" };
        await stream.writeSSE({ event: "error", data: JSON.stringify({ error }) });
        return;
      }
    }
  });
});

/** A WebSocket of the feed: frames as the pages above; the share's Durable Object holds it. */
changes.get("/:share/changes/ws", can("read"), validate("query", feedQuery), async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new FsError("EINVAL", "this route is a WebSocket: send an Upgrade: websocket request");
  }
  const query = checkFeedQuery({ ...c.req.valid("query"), wait: 0 });
  // The socket keeps its query in a hibernation attachment, which holds 2 KiB.
  if ((query.filter?.length ?? 0) > WS_FILTER_MAX) {
    throw new FsError(
      "EINVAL",
      `a WebSocket's path filter is limited to ${WS_FILTER_MAX} characters`,
    );
  }
  // A browser cannot set Authorization on a socket: it offers its token as a
  // subprotocol, and the socket must then answer with one it offered.
  const offered = (c.req.header("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const answer = offered.find((p) => !p.startsWith(WS_BEARER_PREFIX)) ?? offered[0] ?? null;
  const principal = c.var.principal;
  return feedOf(c).socket(
    query,
    answer,
    principal.kind === "token" ? principal.expiresAt : undefined,
  );
});

function bearerOf(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return m?.[1] ?? null;
}
