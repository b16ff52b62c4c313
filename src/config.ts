import { FsError } from "./core/errors";
import { type AllowedHost, parseAllowHosts } from "./s3/endpoint";

/** Tunables read from Worker vars (wrangler.jsonc "vars"). */
export interface Config {
  inlineMaxBytes: number;
  gcGraceMs: number;
  pendingTtlMs: number;
  uploadTtlMs: number;
  revocationTtlMs: number;
  corsOrigins: string[];
  devRoutes: boolean;
  /** EDGEFS_MOUNT_ALLOW_HOSTS: non-public bucket endpoints an operator permits. */
  mountAllowHosts: AllowedHost[];
}

/** SQLite rows in a Durable Object are capped at 2 MB; keep inline files well below. */
const INLINE_CEILING = 1024 * 1024;

function intVar(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new FsError("EINTERNAL", `misconfigured ${name}: ${value} (0..${max})`);
  }
  return n;
}

/** Vars are fixed for an isolate's lifetime: parse them once per env object, not per request. */
const parsed = new WeakMap<Env, Config>();

export function configFrom(env: Env): Config {
  const known = parsed.get(env);
  if (known) return known;
  const config = parse(env);
  parsed.set(env, config);
  return config;
}

function parse(env: Env): Config {
  return {
    inlineMaxBytes: intVar(
      env.EDGEFS_INLINE_MAX_BYTES,
      "EDGEFS_INLINE_MAX_BYTES",
      65536,
      INLINE_CEILING,
    ),
    gcGraceMs:
      1000 * intVar(env.EDGEFS_GC_GRACE_SECONDS, "EDGEFS_GC_GRACE_SECONDS", 300, 86400 * 7),
    pendingTtlMs:
      1000 * intVar(env.EDGEFS_PENDING_TTL_SECONDS, "EDGEFS_PENDING_TTL_SECONDS", 21600, 86400 * 7),
    uploadTtlMs:
      1000 * intVar(env.EDGEFS_UPLOAD_TTL_SECONDS, "EDGEFS_UPLOAD_TTL_SECONDS", 86400, 86400 * 30),
    revocationTtlMs:
      1000 * intVar(env.EDGEFS_REVOCATION_TTL_SECONDS, "EDGEFS_REVOCATION_TTL_SECONDS", 30, 3600),
    corsOrigins: (env.EDGEFS_CORS_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter((o) => o !== ""),
    devRoutes: env.EDGEFS_DEV_ROUTES === "1",
    mountAllowHosts: parseAllowHosts(env.EDGEFS_MOUNT_ALLOW_HOSTS),
  };
}
