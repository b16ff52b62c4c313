import { contentTypeOf } from "../core/attributes";
import type { SpaceUsage } from "../core/backend";
import { FsError, invalid } from "../core/errors";
import type { Lease } from "../core/leases";
import type { DeadProperty, PropertyChange } from "../core/properties";
import type { FileEntry } from "../core/types";
import { activeLockXml, SUPPORTED_LOCK } from "./locks";
import {
  DAV_NS,
  elementsOf,
  escapeText,
  isDav,
  qualified,
  serializeNodes,
  XML_NS,
  type XmlElement,
} from "./xml";

export interface PropName {
  ns: string;
  local: string;
}

/** What a PROPFIND asks for (RFC 4918 §9.1); an empty body means allprop. */
export type PropfindRequest =
  | { kind: "allprop" }
  | { kind: "propname" }
  | { kind: "prop"; names: PropName[] };

/**
 * Distinct property names one PROPFIND may ask for. Every name is answered
 * for every resource, so without a bound a 1 MiB body of names becomes a
 * multistatus hundreds of times bigger; a resource holds at most 256 dead
 * properties (property-table.ts) and eight live ones, so no honest client
 * needs more.
 */
export const MAX_PROPFIND_NAMES = 256;

export function parsePropfind(root: XmlElement | null): PropfindRequest {
  if (root === null) return { kind: "allprop" };
  if (!isDav(root, "propfind")) throw invalid("a PROPFIND body must be a DAV:propfind element");
  for (const child of elementsOf(root)) {
    if (isDav(child, "allprop")) return { kind: "allprop" };
    if (isDav(child, "propname")) return { kind: "propname" };
    if (isDav(child, "prop")) return { kind: "prop", names: distinctNames(elementsOf(child)) };
  }
  throw invalid("DAV:propfind needs DAV:prop, DAV:allprop or DAV:propname");
}

/** The requested names, each once in first-seen order (a repeat asks nothing new). */
function distinctNames(elements: readonly XmlElement[]): PropName[] {
  const seen = new Map<string, PropName>();
  for (const e of elements) {
    // An XML local name never contains a space, so this key is unambiguous.
    seen.set(`${e.local} ${e.ns}`, { ns: e.ns, local: e.local });
    if (seen.size > MAX_PROPFIND_NAMES) {
      throw new FsError(
        "ETOOLARGE",
        `a PROPFIND may ask for at most ${MAX_PROPFIND_NAMES} distinct properties`,
      );
    }
  }
  return [...seen.values()];
}

/** A PROPPATCH body as the ordered changes it makes (RFC 4918 §9.2). */
export function parseProppatch(root: XmlElement | null): PropertyChange[] {
  if (root === null || !isDav(root, "propertyupdate")) {
    throw invalid("a PROPPATCH body must be a DAV:propertyupdate element");
  }
  const changes: PropertyChange[] = [];
  for (const action of elementsOf(root)) {
    const set = isDav(action, "set");
    if (!set && !isDav(action, "remove")) continue;
    for (const prop of elementsOf(action).filter((e) => isDav(e, "prop"))) {
      for (const p of elementsOf(prop)) {
        changes.push(
          set
            ? {
                op: "set",
                ns: p.ns,
                name: p.local,
                value: serializeNodes(p.children),
                lang:
                  p.attributes.find((a) => a.ns === XML_NS && a.local === "lang")?.value ?? null,
              }
            : { op: "remove", ns: p.ns, name: p.local },
        );
      }
    }
  }
  if (changes.length === 0) throw invalid("DAV:propertyupdate sets or removes no property");
  return changes;
}

/** Everything a multistatus response says about one resource. */
export interface ResourceView {
  href: string;
  entry: FileEntry;
  displayName: string;
  dead: readonly DeadProperty[];
  /** Live locks covering the resource, each with its root's href. */
  locks: readonly { lease: Lease; rootHref: string }[];
  /** False where the storage takes no locks (features.leases: a bucket mount). */
  lockable: boolean;
  /** The storage's space (RFC 4331), where it has one and the request asked for it. */
  space?: SpaceUsage;
}

const LIVE = [
  "resourcetype",
  "displayname",
  "getcontentlength",
  "getcontenttype",
  "getetag",
  "getlastmodified",
  "supportedlock",
  "lockdiscovery",
] as const;

/**
 * RFC 4331's quota properties: live too, but like other properties of
 * extensions they answer only when named, never to allprop (§3).
 */
export const QUOTA = ["quota-available-bytes", "quota-used-bytes"] as const;

/** Whether a PROPFIND names a quota property: only then is the storage's space fetched. */
export const asksForSpace = (request: PropfindRequest) =>
  request.kind === "prop" &&
  request.names.some((n) => n.ns === DAV_NS && (QUOTA as readonly string[]).includes(n.local));

/** Live properties are computed, never stored: PROPPATCH may not change them. */
export const isProtected = (ns: string, local: string) =>
  ns === DAV_NS &&
  ((LIVE as readonly string[]).includes(local) || (QUOTA as readonly string[]).includes(local));

/** The live property's content for this resource, or undefined where it has none. */
function live(local: string, view: ResourceView, now: number): string | undefined {
  const { entry } = view;
  const file = entry.type === "file";
  switch (local) {
    case "resourcetype":
      return file ? "" : "<D:collection/>";
    case "displayname":
      return escapeText(view.displayName);
    case "getcontentlength":
      return file ? String(entry.size) : undefined;
    case "getcontenttype":
      // The type a GET answers with: stored with the file, else guessed from its name.
      return file ? escapeText(contentTypeOf(entry.absolutePath, entry.contentType)) : undefined;
    case "getetag":
      return entry.etag === undefined ? undefined : escapeText(entry.etag);
    case "getlastmodified":
      return new Date(entry.mtime).toUTCString();
    case "supportedlock":
      return view.lockable ? SUPPORTED_LOCK : "";
    case "lockdiscovery":
      return view.locks.map((l) => activeLockXml(l.lease, l.rootHref, now)).join("");
    case "quota-used-bytes":
      return view.space === undefined ? undefined : String(view.space.usedBytes);
    case "quota-available-bytes":
      // Without a quota nothing bounds it: RFC 4331 then leaves the property out.
      return view.space?.availableBytes == null ? undefined : String(view.space.availableBytes);
    default:
      return undefined;
  }
}

const propstat = (props: string, status: string) =>
  `<D:propstat><D:prop>${props}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;

/** One DAV:response of a PROPFIND multistatus. */
export function propfindResponse(
  view: ResourceView,
  request: PropfindRequest,
  now: number,
): string {
  const found: string[] = [];
  const missing: string[] = [];
  if (request.kind === "propname") {
    for (const local of LIVE) {
      if (live(local, view, now) !== undefined) found.push(`<D:${local}/>`);
    }
    for (const p of view.dead) found.push(qualified(p.ns, p.name, ""));
  } else if (request.kind === "allprop") {
    for (const local of LIVE) {
      const value = live(local, view, now);
      if (value !== undefined) found.push(qualified(DAV_NS, local, value));
    }
    for (const p of view.dead) found.push(qualified(p.ns, p.name, p.value, p.lang));
  } else {
    for (const { ns, local } of request.names) {
      const dead = view.dead.find((p) => p.ns === ns && p.name === local);
      const value = dead ? dead.value : ns === DAV_NS ? live(local, view, now) : undefined;
      if (value === undefined) missing.push(qualified(ns, local, ""));
      else found.push(qualified(ns, local, value, dead?.lang ?? null));
    }
  }
  return [
    `<D:response><D:href>${escapeText(view.href)}</D:href>`,
    found.length > 0 ? propstat(found.join(""), "200 OK") : "",
    missing.length > 0 ? propstat(missing.join(""), "404 Not Found") : "",
    "</D:response>",
  ].join("");
}

/**
 * The PROPPATCH multistatus: 200 for every property when all changes were
 * made; when any was refused, 403 for the refused ones and 424 (failed
 * dependency) for the rest, since nothing was changed.
 */
export function proppatchResponse(
  href: string,
  changes: readonly PropertyChange[],
  refused: ReadonlySet<PropertyChange>,
): string {
  const name = (c: PropertyChange) => qualified(c.ns, c.name, "");
  const ok = refused.size === 0;
  const failedDependency = changes.filter((c) => !refused.has(c));
  return [
    `<D:response><D:href>${escapeText(href)}</D:href>`,
    ok
      ? propstat(changes.map(name).join(""), "200 OK")
      : [
          propstat([...refused].map(name).join(""), "403 Forbidden"),
          failedDependency.length > 0
            ? propstat(failedDependency.map(name).join(""), "424 Failed Dependency")
            : "",
        ].join(""),
    "</D:response>",
  ].join("");
}
