import { WorkerEntrypoint } from "cloudflare:workers";
import { principalOfToken } from "../auth/principal";
import { requireAllowed, seesShare } from "../auth/scope";
import { shareTarget } from "../backends/resolve";
import { sharesOf } from "../backends/share-catalog";
import { invalid } from "../core/errors";
import { randomId } from "../core/ids";
import type { ShareInfo } from "../core/types";
import { checkName } from "../http/params";
import { rpcCall, toRpcError as toRpc } from "./errors";
import { ShareHandle } from "./share-handle";
import type { CallerOptions, EdgefsMethods } from "./types";

/** Ephemeral shares' ttl bounds (seconds), as over HTTP. */
const EPHEMERAL_TTL = { default: 600, min: 5, max: 86_400 };

/**
 * The Workers RPC entrypoint (docs/rpc.md): another Worker binds it as a
 * service — `"services": [{"binding": "EDGEFS", "service": "edgefs",
 * "entrypoint": "Edgefs"}]` — and calls `env.EDGEFS.share(name, {token})`
 * for a handle with the SDK's methods (share-handle.ts). No HTTP, no JSON:
 * arguments and results are structured-cloned, bytes are streams. Every
 * call checks its token as the HTTP API does.
 */
export class Edgefs extends WorkerEntrypoint<Env> implements EdgefsMethods<ShareHandle> {
  /** A handle on share `name`; nothing is checked until its first call. */
  share(name: string, options: CallerOptions): ShareHandle {
    const { token, environment } = caller(options);
    return new ShareHandle({
      env: this.env,
      ctx: this.ctx,
      environment,
      share: checkNameForRpc(name, "share"),
      token,
    });
  }

  /** Creates the share if missing (admin) and returns its handle. */
  async fromName(
    name: string,
    options: CallerOptions & { createIfMissing?: boolean },
  ): Promise<ShareHandle> {
    return rpcCall(async () => {
      const handle = this.share(name, options);
      if (options.createIfMissing) await this.createShare(name, options);
      return handle;
    });
  }

  /** A new ephemeral share (a generated name; it lives while heartbeats come) and its handle. */
  async ephemeral(
    options: CallerOptions & { ttlSeconds?: number },
  ): Promise<{ name: string; expiresAt: number; share: ShareHandle }> {
    return rpcCall(async () => {
      const { token, environment } = caller(options);
      const ttl = options.ttlSeconds ?? EPHEMERAL_TTL.default;
      if (!Number.isInteger(ttl) || ttl < EPHEMERAL_TTL.min || ttl > EPHEMERAL_TTL.max) {
        throw invalid(`ttlSeconds must be ${EPHEMERAL_TTL.min}..${EPHEMERAL_TTL.max}`);
      }
      const principal = await principalOfToken(this.env, token);
      requireAllowed(principal, "admin", environment);
      const name = `ephemeral-${randomId()}`;
      requireAllowed(principal, "admin", environment, name);
      const { info } = await shareTarget(this.env, environment, name).api.createShare(
        environment,
        name,
        true,
        { ttlMs: ttl * 1000 },
      );
      return { name, expiresAt: info.expiresAt ?? 0, share: this.share(name, options) };
    });
  }

  /** Creates a share if it is missing (admin); true if this call created it. */
  async createShare(name: string, options: CallerOptions): Promise<boolean> {
    return rpcCall(async () => {
      const { token, environment } = caller(options);
      const share = checkNameForRpc(name, "share");
      requireAllowed(await principalOfToken(this.env, token), "admin", environment, share);
      const { created } = await shareTarget(this.env, environment, share).api.createShare(
        environment,
        share,
        false,
      );
      return created;
    });
  }

  /** Deletes a share with all its data (admin). */
  async deleteShare(name: string, options: CallerOptions): Promise<void> {
    return rpcCall(async () => {
      const { token, environment } = caller(options);
      const share = checkNameForRpc(name, "share");
      requireAllowed(await principalOfToken(this.env, token), "admin", environment, share);
      await shareTarget(this.env, environment, share).api.deleteShare();
    });
  }

  /** The environment's shares the token may read, a page at a time (`after`: the last name seen). */
  async listShares(
    options: CallerOptions & { limit?: number; after?: string },
  ): Promise<{ shares: ShareInfo[]; last?: string }> {
    return rpcCall(async () => {
      const { token, environment } = caller(options);
      const principal = await principalOfToken(this.env, token);
      requireAllowed(principal, "read", environment);
      const limit = options.limit ?? 1000;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw invalid("limit must be 1..1000");
      const page = await sharesOf(this.env, environment, limit, options.after ?? "");
      // A token limited to some shares sees only those, as over HTTP.
      const visible = page.shares.filter((s) => seesShare(principal, environment, s.name));
      return page.last === undefined ? { shares: visible } : { shares: visible, last: page.last };
    });
  }
}

function caller(options: CallerOptions): { token: string; environment: string } {
  if (options === null || typeof options !== "object" || typeof options.token !== "string") {
    throw invalid("pass {token} (and optionally {env}): every call is authorized by a token");
  }
  return {
    token: options.token,
    environment: checkNameForRpc(options.env ?? "main", "environment"),
  };
}

/** checkName, its EINVAL as a coded RPC error (share() is synchronous: no rpcCall around it). */
function checkNameForRpc(value: string, what: string): string {
  try {
    return checkName(value, what);
  } catch (e) {
    throw toRpc(e);
  }
}
