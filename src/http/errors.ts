import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { type ErrorCode, FsError } from "../core/errors";
import { davErrorResponse } from "../dav/responses";

/** Renders an FsError as the contract's JSON body with the code's status. */
export function errorResponse(err: FsError, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify({ error: err.toJSON() }), {
    status: err.status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers, ...err.headers },
  });
}

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: "EINVAL",
  401: "EUNAUTHENTICATED",
  403: "EACCES",
  404: "ENOENT",
  413: "ETOOLARGE",
};

/**
 * The one error handler. FsErrors become their contract response; Hono's
 * own HTTPExceptions (malformed JSON, body limits) are mapped onto the same
 * codes; anything else is a bug: logged, and answered 500 EINTERNAL without
 * details.
 */
export function onError(err: Error, c: Context): Response {
  // WebDAV clients get the same codes, with RFC 4918's statuses and an XML body.
  const dav = new URL(c.req.url).pathname.startsWith("/dav/");
  const render = dav
    ? (e: FsError) => davErrorResponse(e, c.req.raw)
    : (e: FsError) => errorResponse(e);
  if (err instanceof FsError) return render(err);
  if (err instanceof HTTPException) {
    // basicAuth's ready-made 401 is plain text; WebDAV clients get XML with the challenge.
    if (dav && err.status === 401) {
      return render(new FsError("EUNAUTHENTICATED", "any user name, an edgefs token as password"));
    }
    // Middleware we configure (bearerAuth) already built a contract response.
    if (err.res) return err.getResponse();
    const code = CODE_FOR_STATUS[err.status];
    if (code) return render(new FsError(code, err.message || "bad request"));
  }
  console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed:`, err);
  return render(new FsError("EINTERNAL", "internal error"));
}
