import { Hono } from "hono";
import { cors } from "hono/cors";
import { configFrom } from "./config";
import { FsError } from "./core/errors";
import { dav } from "./dav/app";
import { options } from "./dav/read";
import { authenticate, rootOnly } from "./http/auth";
import type { AppEnv } from "./http/env";
import { errorResponse, onError } from "./http/errors";
import { changes } from "./routes/changes";
import { commit } from "./routes/commit";
import { dev } from "./routes/dev";
import { files } from "./routes/files";
import { history } from "./routes/history";
import { hooks } from "./routes/hooks";
import { leases } from "./routes/leases";
import { mounts } from "./routes/mounts";
import { presigned } from "./routes/presign";
import { secrets } from "./routes/secrets";
import { shares } from "./routes/shares";
import { snapshots } from "./routes/snapshots";
import { tokens } from "./routes/tokens";
import { tree } from "./routes/tree";
import { uploads } from "./routes/uploads";
import { web } from "./routes/web";
import { whoami } from "./routes/whoami";
import { isS3Request, s3 } from "./s3api/app";

/**
 * The Worker's HTTP surface. Order matters: CORS first (preflights carry no
 * credentials), health (no auth), then authentication on everything under
 * /v1, then the resources, each route naming the permission it needs. The
 * WebDAV front-end (/dav, src/dav/app.ts) authenticates its own way (Basic
 * or Bearer), renders its own errors, and serves the same Backends.
 * The S3 front-end (src/s3api/app.ts) takes every SigV4-signed request
 * before any of this. Routes are thin: they parse the request, call a Backend or a Durable
 * Object, and shape the response; every failure ends in the one onError.
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // S3 first: a SigV4-signed request (or one for {bucket}.EDGEFS_S3_HOST) is
  // S3's whatever its path, since a bucket may be named like any route.
  app.use("*", async (c, next) => {
    if (!isS3Request(c.req.raw, c.env)) return next();
    return s3.fetch(c.req.raw, c.env, c.executionCtx);
  });

  // CORS on the native API only: Hono's cors answers every OPTIONS as a
  // preflight, and WebDAV's OPTIONS must reach its route.
  app.use(
    "/v1/*",
    cors({
      origin: (origin, c) => {
        const allowed = configFrom(c.env as Env).corsOrigins;
        return allowed.includes("*") || allowed.includes(origin) ? origin : null;
      },
      allowMethods: ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
      allowHeaders: [
        "Authorization",
        "Content-Type",
        "Range",
        "If-Match",
        "If-None-Match",
        "If-Range",
        "If-Modified-Since",
        "Edgefs-Lease",
      ],
      exposeHeaders: ["ETag", "Content-Range", "Content-Length", "Accept-Ranges", "Last-Modified"],
      maxAge: 600,
    }),
  );

  app.get("/healthz", (c) => c.json({ ok: true }));
  // The web file browser: GET / from a browser, and its assets (no auth: the
  // page asks for a token and sends it with each API call).
  app.route("/", web);

  app.use("/v1/*", authenticate());
  app.route("/v1/whoami", whoami);
  app.route("/v1/tokens", tokens);
  app.route("/v1/secrets", secrets);
  app.route("/v1/shares", files);
  app.route("/v1/shares", tree);
  app.route("/v1/shares", leases);
  app.route("/v1/shares", uploads);
  app.route("/v1/shares", commit);
  app.route("/v1/shares", presigned);
  app.route("/v1/shares", mounts);
  app.route("/v1/shares", snapshots);
  app.route("/v1/shares", history);
  app.route("/v1/shares", changes);
  app.route("/v1/shares", hooks);
  app.route("/v1/shares", shares);

  app.use("/_dev/*", async (c, next) => {
    if (!configFrom(c.env).devRoutes) throw new FsError("ENOENT", "no such route");
    await next();
  });
  app.use("/_dev/*", authenticate(), rootOnly());
  app.route("/_dev", dev);

  // Windows' WebDAV redirector probes the server root with OPTIONS, without
  // credentials, before it asks for any share.
  app.on("OPTIONS", ["/", "/dav", "/dav/"], () => options());
  // The WebDAV sub-app authenticates and renders its errors itself (src/dav/app.ts).
  app.route("/dav", dav);

  app.notFound((c) =>
    errorResponse(
      new FsError("ENOENT", `no such route: ${c.req.method} ${new URL(c.req.url).pathname}`),
    ),
  );
  app.onError(onError);
  return app;
}
