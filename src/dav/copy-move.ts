import type { Backend } from "../core/backend";
import { FsError, invalid } from "../core/errors";
import { type FsPath, isWithin } from "../core/paths";
import type { DavRequest } from "./context";
import { davStatusResponse, versioned } from "./responses";

/**
 * COPY and MOVE (RFC 4918 §9.8, §9.9). The destination must lie in the
 * same share's WebDAV tree (else 502, another server's business) and its
 * parent must exist (409). With Overwrite: T an existing destination of any
 * kind is replaced in the same atomic step as the copy or move (RFC 4918
 * deletes it first; doing both at once means a refused request changes
 * nothing). 201 when the destination is new, 204 when it was replaced.
 * Locks stay with their paths: a MOVE destroys those rooted in its source.
 */
export async function copyOrMove(dav: DavRequest): Promise<Response> {
  const move = dav.method === "MOVE";
  const destination = dav.header("destination");
  if (!destination) throw invalid(`${dav.method} needs a Destination header`);
  const to = dav.pathOfUrl(destination);
  if (to === null) {
    if (dav.inSnapshotOf(destination)) {
      throw new FsError("EACCES", "a snapshot is read-only: it cannot be a destination");
    }
    return davStatusResponse(502, "the destination is not in this share's WebDAV tree");
  }
  const overwrite = overwriteOf(dav.header("overwrite"));
  const depth = dav.header("depth")?.trim().toLowerCase() ?? "infinity";
  if (depth !== "infinity" && (move || depth !== "0")) {
    throw invalid(`invalid Depth for ${dav.method}: ${depth}`);
  }
  await dav.checkIf();
  const from = dav.path;
  if (from === to) return davStatusResponse(403, "the source and destination are the same");
  if (isWithin(to, from)) {
    return davStatusResponse(403, "cannot copy or move a collection into itself");
  }
  if (isWithin(from, to) && overwrite) {
    // Replacing an ancestor would delete the source with it.
    return davStatusResponse(403, "the destination contains the source: it cannot be replaced");
  }
  const backend = await dav.backendForBoth(from, to);
  const source = await dav.resource();
  const place = await dav.placement(to);
  if (!place.parentIsCollection) {
    return davStatusResponse(409, "the destination's parent collection does not exist");
  }
  const existing = place.entry;
  if (existing && !overwrite) {
    throw new FsError("EPRECONDITION", `the destination exists and Overwrite is F: ${to}`, to);
  }
  if (!existing) dav.requireMembership(to, place.guards);
  if (move) await dav.checkMembership(from);
  const replace = overwrite ? "any" : false;
  let version: number | undefined;
  if (source.type === "directory" && depth === "0") {
    if (existing) await backend.remove(to, { recursive: true });
    ({ version } = await backend.mkdir(to));
    await copyProperties(backend, from, to);
  } else if (move) {
    // One step: the lock checks, the destination's removal, the rename and
    // the end of the source's locks commit together.
    ({ version } = await backend.move(from, to, { overwrite: replace, dropLeases: true }));
  } else {
    ({ version } = await backend.copy(from, to, { overwrite: replace, recursive: true }));
  }
  return new Response(null, { status: existing ? 204 : 201, headers: versioned({}, version) });
}

export function overwriteOf(header: string | undefined): boolean {
  const value = header?.trim().toUpperCase() ?? "T";
  if (value !== "T" && value !== "F") throw invalid(`Overwrite must be T or F, not ${value}`);
  return value === "T";
}

/**
 * A Depth 0 copy of a collection takes its dead properties along, not its
 * members; storage without dead properties has none to take.
 */
async function copyProperties(backend: Backend, from: FsPath, to: FsPath): Promise<void> {
  const properties = backend.properties;
  if (!properties) return;
  const props = (await properties.of([from]))[from] ?? [];
  if (props.length === 0) return;
  await properties.patch(
    to,
    props.map((p) => ({ op: "set", ns: p.ns, name: p.name, value: p.value, lang: p.lang })),
  );
}
