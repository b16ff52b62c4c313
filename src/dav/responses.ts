import type { ErrorCode, FsError } from "../core/errors";
import { escapeText } from "./xml";

const XML_TYPE = "application/xml; charset=utf-8";
const PROLOG = '<?xml version="1.0" encoding="utf-8"?>\n';
/** How much of a multistatus body is gathered before it is written out. */
const CHUNK_CHARS = 64 * 1024;
/** Extension elements of edgefs inside DAV:error bodies. */
const EDGEFS_NS = "https://edgefs.dev/ns/dav";

/**
 * A 207 Multi-Status body streamed part by part, so a directory of any size
 * is never held in memory. The first part is produced before the response
 * is returned, so the commonest failures (no such resource) still get a
 * real status instead of a broken 207.
 */
export async function multistatus(
  parts: AsyncIterable<string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const iterator = parts[Symbol.asyncIterator]();
  const first = await iterator.next();
  const encoder = new TextEncoder();
  let opened = false;
  let finished = first.done === true;
  let pending: string | undefined = first.done ? undefined : first.value;
  const body = new ReadableStream<Uint8Array>({
    // Parts are small (one DAV:response each): they go out in chunks of about
    // CHUNK_CHARS, so a big collection is a few writes, not one per member,
    // and memory stays at one chunk.
    async pull(controller) {
      let chunk = "";
      if (!opened) {
        opened = true;
        chunk = `${PROLOG}<D:multistatus xmlns:D="DAV:">`;
      }
      while (!finished && chunk.length < CHUNK_CHARS) {
        if (pending !== undefined) {
          chunk += pending;
          pending = undefined;
          continue;
        }
        const next = await iterator.next();
        if (next.done) finished = true;
        else pending = next.value;
      }
      if (finished && pending === undefined) {
        controller.enqueue(encoder.encode(`${chunk}</D:multistatus>\n`));
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(body, { status: 207, headers: { "content-type": XML_TYPE, ...headers } });
}

/** A small XML body with a fixed status (LOCK results, PROPPATCH). */
export function xmlResponse(
  status: number,
  xml: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(`${PROLOG}${xml}\n`, {
    status,
    headers: { "content-type": XML_TYPE, ...headers },
  });
}

/**
 * Where WebDAV (RFC 4918) wants another status than the native contract
 * for the same failure. The rest keep their contract status (404, 409,
 * 412, 423, …), which RFC 4918 uses in the same sense.
 */
function davStatus(code: ErrorCode, method: string): number | undefined {
  switch (code) {
    case "EEXIST":
      // MKCOL on an existing resource is 405 (Overwrite: F is EPRECONDITION, 412).
      return method === "MKCOL" ? 405 : 409;
    case "ETOOLARGE":
      return method === "PROPPATCH" ? 507 : undefined;
    case "ENOTSUP":
      // Storage without rename (features.rename: a bucket mount), or a copy
      // across storage, is another repository: RFC 4918 §9.8.5 says 502.
      return method === "COPY" || method === "MOVE" ? 502 : undefined;
    default:
      return undefined;
  }
}

/** The URL of a path under `/dav/{env}/{share}`: segments percent-encoded, collections with "/". */
export function davHref(root: string, path: string, collection = false): string {
  if (path === "/") return `${root}/`;
  const encoded = path
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
  return `${root}${encoded}${collection ? "/" : ""}`;
}

/**
 * `/dav/{env}/{share}` of a request URL: the live share's, also for a
 * snapshot URL (`{share}@…`), since locks are always on the live share.
 */
const davRootOf = (url: string) =>
  new URL(url).pathname
    .split("/")
    .slice(0, 4)
    .join("/")
    .replace(/(@|%40).*$/i, "");

/** Preconditions of RFC 4918 §16 that a client can act on. */
function condition(err: FsError, url: string): string {
  if (err.code === "ELOCKED" && err.path !== undefined) {
    const href = escapeText(davHref(davRootOf(url), err.path));
    return `<D:lock-token-submitted><D:href>${href}</D:href></D:lock-token-submitted>`;
  }
  return "";
}

/**
 * The WebDAV rendering of an FsError: the status RFC 4918 expects and a
 * DAV:error body carrying the contract's code and message.
 */
export function davErrorResponse(err: FsError, request: Request): Response {
  const status = davStatus(err.code, request.method) ?? err.status;
  const headers: Record<string, string> = { ...err.headers };
  if (status === 401) headers["www-authenticate"] = 'Basic realm="edgefs", charset="UTF-8"';
  return xmlResponse(
    status,
    `<D:error xmlns:D="DAV:" xmlns:E="${EDGEFS_NS}">${condition(err, request.url)}<E:code>${err.code}</E:code><E:message>${escapeText(err.message)}</E:message></D:error>`,
    headers,
  );
}

/** A status with a reason and no error code of the contract (405 and 409 of RFC 4918). */
export function davStatusResponse(status: number, message: string): Response {
  return xmlResponse(
    status,
    `<D:error xmlns:D="DAV:" xmlns:E="${EDGEFS_NS}"><E:message>${escapeText(message)}</E:message></D:error>`,
  );
}

/** A change's headers with the share version it made (`Edgefs-Version`), on storage that keeps versions. */
export function versioned(
  headers: Record<string, string>,
  version: number | undefined,
): Record<string, string> {
  return version === undefined ? headers : { ...headers, "edgefs-version": String(version) };
}
