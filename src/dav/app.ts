import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Permission } from "../auth/scope";
import { requireAllowed } from "../auth/scope";
import { FsError } from "../core/errors";
import type { AppEnv } from "../http/env";
import { handleError } from "../http/errors";
import { authenticateDav } from "./auth";
import { DavRequest } from "./context";
import { copyOrMove } from "./copy-move";
import { lock, unlock } from "./lock";
import { DAV_METHODS, getOrHead, options, propfind } from "./read";
import { davErrorResponse, davStatusResponse } from "./responses";
import { snapshotRequest } from "./snapshot";
import { mkcol, proppatch, put, remove } from "./write";

type Handler = (dav: DavRequest) => Promise<Response> | Response;

/** Each WebDAV method, the permission it needs on the share, and its handler (src/dav). */
const METHODS: Record<string, [Permission, Handler]> = {
  OPTIONS: ["read", options],
  GET: ["read", getOrHead],
  HEAD: ["read", getOrHead],
  PROPFIND: ["read", propfind],
  PUT: ["write", put],
  DELETE: ["write", remove],
  MKCOL: ["write", mkcol],
  PROPPATCH: ["write", proppatch],
  COPY: ["write", copyOrMove],
  MOVE: ["write", copyOrMove],
  LOCK: ["write", lock],
  UNLOCK: ["write", unlock],
};

/**
 * `/dav/{env}/{share}/{path}`: the share (and its bucket mounts) as a
 * WebDAV class 1 and 2 server (RFC 4918), for OS drives and tools such as
 * rclone, davfs2, Finder and Explorer. Mounted with app.route("/dav"), it
 * owns its authentication (Basic with a token as password, or Bearer) and
 * its error rendering: Hono wraps each of a sub-app's handlers, its
 * middleware included, in the sub-app's onError, so every failure of a
 * WebDAV request, an auth failure too, renders as DAV XML.
 */
export const dav = new Hono<AppEnv>();

dav.use("*", authenticateDav());
dav.onError((err, c) => {
  // basicAuth's ready-made 401 is plain text; WebDAV clients get XML with the challenge.
  const e =
    err instanceof HTTPException && err.status === 401
      ? new FsError("EUNAUTHENTICATED", "any user name, an edgefs token as password")
      : err;
  return handleError(e, c, (fs) => davErrorResponse(fs, c.req.raw));
});

dav.all("/:env/:share/*", dispatch);
dav.all("/:env/:share", dispatch);

async function dispatch(c: import("hono").Context<AppEnv>): Promise<Response> {
  const method = METHODS[c.req.method];
  const request = new DavRequest(c);
  if (request.snapshot) return snapshotRequest(request, request.snapshot, method !== undefined);
  if (!method) {
    const refused = davStatusResponse(
      405,
      `${c.req.method} is not a WebDAV method this server has`,
    );
    refused.headers.set("allow", DAV_METHODS);
    return refused;
  }
  const [permission, handle] = method;
  requireAllowed(c.var.principal, permission, request.target.environment, request.target.share);
  return handle(request);
}
