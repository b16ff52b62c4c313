import { Hono } from "hono";
import { configFrom } from "./config";
import { FsError } from "./core/errors";
import { requireRootToken } from "./http/auth";
import { errorResponse, onError } from "./http/errors";
import { dev } from "./routes/dev";
import { files } from "./routes/files";
import { leases } from "./routes/leases";
import { shares } from "./routes/shares";
import { tree } from "./routes/tree";
import { uploads } from "./routes/uploads";

export type AppEnv = { Bindings: Env };

/**
 * The Worker's HTTP surface. Order matters: health first (no auth), then
 * the root token on everything under /v1, then the resources. Routes are
 * thin: they parse the request, call a Backend or a Durable Object, and
 * shape the response; every failure ends in the one onError.
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/healthz", (c) => c.json({ ok: true }));

  app.use("/v1/*", requireRootToken());
  app.route("/v1/shares", files);
  app.route("/v1/shares", tree);
  app.route("/v1/shares", leases);
  app.route("/v1/shares", uploads);
  app.route("/v1/shares", shares);

  app.use("/_dev/*", async (c, next) => {
    if (!configFrom(c.env).devRoutes) throw new FsError("ENOENT", "no such route");
    await next();
  });
  app.use("/_dev/*", requireRootToken());
  app.route("/_dev", dev);

  app.notFound((c) =>
    errorResponse(
      new FsError("ENOENT", `no such route: ${c.req.method} ${new URL(c.req.url).pathname}`),
    ),
  );
  app.onError(onError);
  return app;
}
