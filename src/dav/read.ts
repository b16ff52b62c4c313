import type { Backend, SpaceUsage } from "../core/backend";
import { FsError, invalid } from "../core/errors";
import { covers, type Lease } from "../core/leases";
import { type FsPath, joinPath } from "../core/paths";
import type { DeadProperty } from "../core/properties";
import type { FileEntry } from "../core/types";
import { fileResponse } from "../http/file-response";
import { readOptionsFrom } from "../http/params";
import type { DavRequest } from "./context";
import { asksForSpace, type PropfindRequest, parsePropfind, propfindResponse } from "./properties";
import { multistatus, xmlResponse } from "./responses";
import { escapeAttr, escapeText, readXmlBody } from "./xml";

/** Every method this front-end serves, for OPTIONS and 405 answers. */
export const DAV_METHODS =
  "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK";

/** Entries per backend list call while streaming a collection. */
const PAGE = 1000;

/**
 * OPTIONS: compliance classes 1 and 2 (locking). MS-Author-Via tells
 * Windows' WebDAV redirector to author through WebDAV rather than FrontPage.
 */
export function options(): Response {
  return new Response(null, {
    status: 200,
    headers: { ...DAV_CLASSES, allow: DAV_METHODS, "content-length": "0" },
  });
}

/** The compliance headers of every OPTIONS answer, live share or snapshot. */
export const DAV_CLASSES = { dav: "1, 2", "ms-author-via": "DAV" } as const;

/**
 * GET/HEAD: a file's bytes (ranges, validators) or, for a collection, an
 * HTML index. A file is read in one call, like the native API; only a
 * collection URL or a failed read costs a stat.
 */
export async function getOrHead(dav: DavRequest): Promise<Response> {
  const headOnly = dav.method === "HEAD";
  if (dav.trailingSlash) {
    await dav.resource(); // 404 for a file addressed as a collection
    return collectionIndex(dav, headOnly);
  }
  try {
    const result = await (await dav.backend()).read(
      dav.path,
      readOptionsFrom((name) => dav.header(name), headOnly),
    );
    return fileResponse(result);
  } catch (e) {
    // A directory: EISDIR from share storage; a bucket mount only knows no such key.
    if (!(e instanceof FsError) || (e.code !== "EISDIR" && e.code !== "ENOENT")) throw e;
    if ((await dav.stat(dav.path))?.type !== "directory") throw e;
    return collectionIndex(dav, headOnly);
  }
}

/** Children of a directory, page by page, as absolute paths with their entries. */
async function* childrenOf(
  dav: DavRequest,
  dir: FsPath,
): AsyncGenerator<{ path: FsPath; entry: FileEntry }[]> {
  const backend = await dav.backend(dir);
  let cursor: string | undefined;
  do {
    const page = await backend.list({
      kind: "path",
      path: dir,
      recursive: false,
      limit: PAGE,
      cursor,
    });
    yield page.entries.map((e) => ({ path: joinPath(dir, e.path), entry: e }));
    cursor = page.cursor;
  } while (cursor);
}

/** A browser opening a collection sees a plain list of links, streamed. */
async function collectionIndex(dav: DavRequest, headOnly: boolean): Promise<Response> {
  // Our own page of links, but the names in it are the users': no script,
  // style or frame may run in the gateway's origin (links still work).
  const headers = {
    "content-type": "text/html; charset=utf-8",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  };
  if (headOnly) return new Response(null, { headers });
  const title = escapeText(dav.hrefOf(dav.path, true));
  const encoder = new TextEncoder();
  const pages = childrenOf(dav, dav.path);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(
        encoder.encode(
          `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><ul>`,
        ),
      );
    },
    async pull(controller) {
      const next = await pages.next();
      if (next.done) {
        controller.enqueue(encoder.encode("</ul>\n"));
        controller.close();
        return;
      }
      const items = next.value.map(({ path, entry }) => {
        const href = escapeAttr(dav.hrefOfEntry(path, entry));
        const name = escapeText(dav.displayName(path) + (entry.type === "directory" ? "/" : ""));
        return `<li><a href="${href}">${name}</a></li>`;
      });
      controller.enqueue(encoder.encode(items.join("")));
    },
  });
  return new Response(body, { headers });
}

/**
 * PROPFIND with Depth 0 or 1. Depth infinity is refused as RFC 4918 §9.1
 * allows (403 with propfind-finite-depth): an unbounded walk of a big share
 * in one response is a denial of service; clients fall back to Depth 1.
 */
export async function propfind(dav: DavRequest): Promise<Response> {
  const depth = dav.header("depth")?.trim().toLowerCase() ?? "infinity";
  if (depth === "infinity") {
    return xmlResponse(403, '<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>');
  }
  if (depth !== "0" && depth !== "1") throw invalid(`invalid Depth for PROPFIND: ${depth}`);
  const request = parsePropfind(await readXmlBody(dav.c.req.raw));
  const entry = await dav.resource();
  const described = new Describer(dav, request, await dav.backend());
  const self = await described.responses([{ path: dav.path, entry }]);
  // One DAV:response per part: the stream holds one resource's XML at a
  // time, not a page's, however many properties and locks each carries.
  async function* responses() {
    yield* self;
    if (depth === "0" || entry.type !== "directory") return;
    for await (const page of childrenOf(dav, dav.path)) {
      for (let i = 0; i < page.length; i += DESCRIBE_BATCH) {
        yield* await described.responses(page.slice(i, i + DESCRIBE_BATCH));
      }
    }
  }
  return multistatus(responses());
}

/**
 * Resources whose dead properties are fetched in one call: few enough that
 * their properties (up to 256 of 64 KiB each per resource) stay a modest
 * amount of memory, many enough that a big collection costs few calls.
 */
const DESCRIBE_BATCH = 100;

/**
 * Builds DAV:response elements for resources of one collection. Dead
 * properties and locks come from the collection's storage where it has
 * them (features), and show only on entries whose own storage has them: a
 * bucket mount point listed in a share collection has neither.
 */
class Describer {
  private locks: Lease[] | undefined;
  /** The collection's space, fetched once per PROPFIND that names a quota property. */
  private space: Promise<SpaceUsage | undefined> | undefined;
  private readonly now = Date.now();

  constructor(
    private readonly dav: DavRequest,
    private readonly request: PropfindRequest,
    /** The storage of the request's resource, and so of its members. */
    private readonly collection: Backend,
  ) {}

  private spaceOnce(): Promise<SpaceUsage | undefined> {
    if (this.space === undefined)
      this.space = this.collection.space?.usage() ?? Promise.resolve(undefined);
    return this.space;
  }

  /** One DAV:response string per item, made as the stream asks for it. */
  async responses(items: { path: FsPath; entry: FileEntry }[]): Promise<Iterable<string>> {
    const { dav } = this;
    const features = new Map(
      await Promise.all(items.map(async (i) => [i.path, await dav.features(i.path)] as const)),
    );
    const { properties, leases } = this.collection;
    const withDead = items.filter((i) => features.get(i.path)?.deadProperties);
    const wantsDead =
      this.request.kind !== "prop" || this.request.names.some((n) => n.ns !== "DAV:");
    const dead: Record<string, DeadProperty[]> =
      wantsDead && properties && withDead.length > 0
        ? await properties.of(withDead.map((i) => i.path))
        : {};
    if (leases) this.locks ??= await leases.around(dav.path);
    const usage = asksForSpace(this.request) ? await this.spaceOnce() : undefined;
    const describe = ({ path, entry }: { path: FsPath; entry: FileEntry }) => {
      const lockable = features.get(path)?.leases === true;
      return propfindResponse(
        {
          href: dav.hrefOfEntry(path, entry),
          entry,
          displayName: dav.displayName(path),
          dead: dead[path] ?? [],
          locks: lockable
            ? (this.locks ?? [])
                .filter((l) => covers(l, path))
                .map((lease) => ({
                  lease,
                  rootHref:
                    lease.path === path
                      ? dav.hrefOfEntry(path, entry)
                      : dav.hrefOf(lease.path, true),
                }))
            : [],
          lockable,
          ...(usage && features.get(path)?.space ? { space: usage } : {}),
        },
        this.request,
        this.now,
      );
    };
    return (function* () {
      for (const item of items) yield describe(item);
    })();
  }
}
