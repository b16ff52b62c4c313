// A directory's entries as the browser shows them: pages from the listing
// API's cursors, loaded as the person scrolls (a 100,000-entry directory
// shows its first rows after one request), or all of them, streamed as
// NDJSON, when a sort needs every entry.
import { type Api, type Entry, encodePath, errorOf, type Reading } from "./api";

export type SortKey = "name" | "size" | "mtime";
export interface Sort {
  by: SortKey;
  descending: boolean;
}

const GLOB_CHARS = /[*?[{]/;
export const isGlob = (text: string) => GLOB_CHARS.test(text);

/** Name order is the listing's own order; any other order needs every entry. */
export const needsAll = (sort: Sort) => sort.by !== "name" || sort.descending;

export function sortEntries(entries: Entry[], sort: Sort): Entry[] {
  const sign = sort.descending ? -1 : 1;
  const byName = (a: Entry, b: Entry) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  const key = (e: Entry) => (sort.by === "size" ? e.size : e.mtime);
  // No folders-first: name order must match the listing's own order, which pages by name.
  return [...entries].sort((a, b) => {
    const d = sort.by === "name" ? byName(a, b) : key(a) - key(b) || byName(a, b);
    return d * sign;
  });
}

/** What to list: a directory, or the glob typed in the filter box (relative to it). */
export function listTarget(dir: string, filter: string): string {
  const f = filter.trim();
  if (!isGlob(f)) return dir;
  const rel = f.replace(/^\/+/, "");
  return dir === "/" ? `/${rel}` : `${dir}/${rel}`;
}

/**
 * Every entry of a listing, streamed (one JSON entry per line; the gateway
 * pages internally). `onProgress` hears the count as it grows. A line
 * with only a cursor means the gateway stopped at its request budget: the
 * rest comes from the next request.
 */
export async function listAll(
  api: Api,
  share: string,
  path: string,
  reading: Reading,
  onProgress: (n: number) => void,
  signal: AbortSignal,
): Promise<Entry[]> {
  const all: Entry[] = [];
  let cursor: string | undefined;
  for (let round = 0; round < 1000; round++) {
    const res = await fetch(
      api.url(`/shares/${encodeURIComponent(share)}/list${encodePath(path)}`, {
        cursor,
        snapshot: reading?.snapshot,
      }),
      { headers: api.headers({ accept: "application/x-ndjson" }), signal },
    );
    if (!res.ok) throw await errorOf(res);
    cursor = undefined;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (!line) continue;
        const item = JSON.parse(line) as Entry | { cursor: string };
        if ("cursor" in item && !("type" in item)) cursor = item.cursor;
        else all.push(item as Entry);
      }
      onProgress(all.length);
      if (done) break;
    }
    if (!cursor) return all;
  }
  return all;
}
