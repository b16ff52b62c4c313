import { Hono } from "hono";
import type { Permission } from "../auth/scope";
import { requireAllowed } from "../auth/scope";
import { DavRequest } from "../dav/context";
import { copyOrMove } from "../dav/copy-move";
import { lock, unlock } from "../dav/lock";
import { DAV_METHODS, getOrHead, options, propfind } from "../dav/read";
import { davStatusResponse } from "../dav/responses";
import { mkcol, proppatch, put, remove } from "../dav/write";
import type { AppEnv } from "../http/env";

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
 * rclone, davfs2, Finder and Explorer. Authentication happens before this
 * (Basic with a token as password, or Bearer).
 */
export const dav = new Hono<AppEnv>();

dav.all("/:env/:share/*", dispatch);
dav.all("/:env/:share", dispatch);

async function dispatch(c: import("hono").Context<AppEnv>): Promise<Response> {
  const method = METHODS[c.req.method];
  if (!method) {
    const refused = davStatusResponse(
      405,
      `${c.req.method} is not a WebDAV method this server has`,
    );
    refused.headers.set("allow", DAV_METHODS);
    return refused;
  }
  const [permission, handle] = method;
  const request = new DavRequest(c);
  requireAllowed(c.var.principal, permission, request.target.environment, request.target.share);
  return handle(request);
}
