import { invalid } from "../core/errors";
import { writeConditionsFrom } from "../core/preconditions";
import type { PropertyChange } from "../core/properties";
import { attributesFrom, carriesBytes, contentLength } from "../http/params";
import type { DavRequest } from "./context";
import { isProtected, parseProppatch, proppatchResponse } from "./properties";
import { davStatusResponse, versioned, xmlResponse } from "./responses";
import { readXmlBody } from "./xml";

/**
 * PUT: an atomic whole-file write. Unlike the native API, WebDAV never
 * creates missing parents (RFC 4918 §9.7.1: 409). macOS Finder sends
 * chunked bodies with the real size in X-Expected-Entity-Length; that size
 * is taken as the declared length, so the body is checked against it.
 */
export async function put(dav: DavRequest): Promise<Response> {
  const refusal = "a collection has no body to PUT; use MKCOL to create one";
  if (dav.trailingSlash) return davStatusResponse(405, refusal);
  const place = await dav.placement(dav.path);
  if (place.entry?.type === "directory") return davStatusResponse(405, refusal);
  await dav.checkIf();
  if (!place.parentIsCollection) {
    return davStatusResponse(409, "the parent collection does not exist: MKCOL it first");
  }
  if (!place.entry) dav.requireMembership(dav.path, place.guards);
  const length =
    contentLength(dav.header("content-length")) ??
    contentLength(dav.header("x-expected-entity-length"));
  const { entry, created, version } = await (await dav.backend()).write(
    dav.path,
    { stream: dav.c.req.raw.body, length },
    writeConditionsFrom({
      ifMatch: dav.header("if-match"),
      ifNoneMatch: dav.header("if-none-match"),
    }),
    // WebDAV has no user metadata; the type the client sent is kept (RFC 4918 §9.7.1 lets a PUT set it).
    { contentType: attributesFrom(dav.c.req.raw.headers).contentType },
  );
  const headers: Record<string, string> = entry.etag ? { etag: entry.etag } : {};
  return new Response(null, { status: created ? 201 : 204, headers: versioned(headers, version) });
}

/**
 * DELETE: always the whole subtree (RFC 4918 §9.6.1), in one atomic change.
 * The locks rooted at or below it go too (§9.6): they locked what is gone.
 */
export async function remove(dav: DavRequest): Promise<Response> {
  const depth = dav.header("depth")?.trim().toLowerCase();
  if (depth !== undefined && depth !== "infinity") {
    throw invalid("DELETE of a collection always has Depth: infinity");
  }
  await dav.checkIf();
  if (dav.trailingSlash) await dav.resource(); // "f/" names no collection: 404
  await dav.checkMembership(dav.path);
  const { version } = await (await dav.backend()).remove(dav.path, {
    recursive: true,
    dropLeases: true,
  });
  return new Response(null, { status: 204, headers: versioned({}, version) });
}

/** MKCOL: one new collection whose parent exists; a body is 415 (no MKCOL extensions here). */
export async function mkcol(dav: DavRequest): Promise<Response> {
  if (await carriesBytes(dav.c.req.raw, contentLength(dav.header("content-length")))) {
    return davStatusResponse(415, "MKCOL takes no body");
  }
  await dav.checkIf();
  const place = await dav.placement(dav.path);
  if (place.entry !== null) return davStatusResponse(405, "the resource already exists");
  if (!place.parentIsCollection) {
    return davStatusResponse(409, "the parent collection does not exist");
  }
  dav.requireMembership(dav.path, place.guards);
  const { version } = await (await dav.backend()).mkdir(dav.path);
  return new Response(null, { status: 201, headers: versioned({}, version) });
}

/**
 * PROPPATCH: dead properties, set and removed in document order, all or
 * none (RFC 4918 §9.2). Live properties are computed and refused (403,
 * with 424 for the rest); storage without dead properties (a bucket
 * mount) keeps none (403 for all).
 */
export async function proppatch(dav: DavRequest): Promise<Response> {
  await dav.checkIf();
  const changes = parseProppatch(await readXmlBody(dav.c.req.raw));
  const entry = await dav.resource();
  const href = dav.hrefOfEntry(dav.path, entry);
  const multistatus = (body: string) =>
    xmlResponse(207, `<D:multistatus xmlns:D="DAV:">${body}</D:multistatus>`);
  const properties = (await dav.backend()).properties;
  if (!properties) return multistatus(proppatchResponse(href, changes, new Set(changes)));
  const refused = new Set<PropertyChange>(changes.filter((c) => isProtected(c.ns, c.name)));
  if (refused.size > 0) return multistatus(proppatchResponse(href, changes, refused));
  await properties.patch(dav.path, changes);
  return multistatus(proppatchResponse(href, changes, new Set()));
}
