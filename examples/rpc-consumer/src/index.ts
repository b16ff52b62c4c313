/**
 * An example consumer of edgefs's Workers RPC binding: an upload endpoint
 * that stores each report in the share "reports" and serves it back, and
 * one that waits for a file to land. Bytes stream through RPC both ways;
 * errors carry edgefs's codes, mapped here to HTTP statuses.
 */
import { type EdgefsBinding, errorCodeOf } from "edgefs/rpc";

interface Env {
  EDGEFS: EdgefsBinding;
  /** A token with read and write on the share (a Worker secret). */
  EDGEFS_TOKEN: string;
}

const SHARE = "reports";

const STATUS: Record<string, number> = {
  EINVAL: 400,
  EUNAUTHENTICATED: 401,
  EACCES: 403,
  ENOENT: 404,
  EEXIST: 409,
  EPRECONDITION: 412,
};

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const name = decodeURIComponent(url.pathname.replace(/^\/(reports|wait)\//, ""));
    using share = env.EDGEFS.share(SHARE, { token: env.EDGEFS_TOKEN });
    try {
      if (url.pathname.startsWith("/reports/") && request.method === "PUT") {
        const size = request.headers.get("content-length");
        const { entry, created } = await share.writeFile(`/${name}`, request.body ?? "", {
          ...(size === null ? {} : { size: Number(size) }),
          contentType: request.headers.get("content-type") ?? undefined,
        });
        return Response.json(entry, { status: created ? 201 : 200 });
      }
      if (url.pathname.startsWith("/reports/") && request.method === "GET") {
        const { entry, body } = await share.readFile(`/${name}`);
        return new Response(body, {
          headers: { "content-length": String(entry.size), etag: entry.etag ?? "" },
        });
      }
      if (url.pathname.startsWith("/wait/")) {
        const timeout = Number(url.searchParams.get("timeout") ?? "10");
        return Response.json(await share.waitFor(`/${name}`, { timeout }));
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      const code = errorCodeOf(e);
      if (code === undefined) throw e;
      return Response.json(
        { error: { code, message: (e as Error).message } },
        { status: STATUS[code] ?? 500 },
      );
    }
  },
} satisfies ExportedHandler<Env>;
