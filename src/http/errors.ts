import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { type ErrorCode, FsError } from "../core/errors";

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
 * The one error handler's logic, whatever a front-end's rendering: FsErrors
 * become their contract response; Hono's own HTTPExceptions (malformed
 * JSON, body limits) are mapped onto the same codes; anything else is a
 * bug: logged, and answered 500 EINTERNAL without details. `render` draws
 * an FsError (JSON here; WebDAV's XML in src/dav/app.ts).
 */
export function handleError(err: Error, c: Context, render: (e: FsError) => Response): Response {
  if (err instanceof FsError) return render(err);
  if (err instanceof HTTPException) {
    // Middleware we configure (bearerAuth) already built a contract response.
    if (err.res) return err.getResponse();
    const code = CODE_FOR_STATUS[err.status];
    if (code) return render(new FsError(code, err.message || "bad request"));
  }
  console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed:`, err);
  return render(new FsError("EINTERNAL", "internal error"));
}

/** The app's onError: the contract's JSON. */
export function onError(err: Error, c: Context): Response {
  return handleError(err, c, (e) => errorResponse(e));
}
