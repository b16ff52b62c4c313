import type { ReadResult } from "../core/backend";
import type { FileEntry } from "../core/types";

/** Validators and framing every file response carries (RFC 9110 §8, §14). */
function fileHeaders(entry: FileEntry): Headers {
  const h = new Headers({
    "accept-ranges": "bytes",
    "last-modified": new Date(entry.mtime).toUTCString(),
    "content-type": "application/octet-stream",
  });
  if (entry.etag) h.set("etag", entry.etag);
  return h;
}

/** Turns a Backend read into the GET/HEAD response. */
export function fileResponse(result: ReadResult): Response {
  const h = fileHeaders(result.entry);
  switch (result.status) {
    case 304:
      h.delete("content-type");
      return new Response(null, { status: 304, headers: h });
    case 206: {
      const { offset, length } = result.range;
      h.set("content-length", String(length));
      h.set("content-range", `bytes ${offset}-${offset + length - 1}/${result.entry.size}`);
      return new Response(result.body, { status: 206, headers: h });
    }
    default:
      h.set("content-length", String(result.entry.size));
      return new Response(result.body, { status: 200, headers: h });
  }
}

/** Write responses: the new version's entry, with its ETag also as a header. */
export function writtenResponse(entry: FileEntry, created: boolean): Response {
  const h = new Headers({ "content-type": "application/json; charset=utf-8" });
  if (entry.etag) h.set("etag", entry.etag);
  return new Response(JSON.stringify(entry), { status: created ? 201 : 200, headers: h });
}
