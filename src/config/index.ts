import { type AllowedHost, parseAllowHosts } from "../core/endpoints";
import { FsError } from "../core/errors";
import descriptor from "./settings.json";

/** Tunables read from Worker vars (wrangler.jsonc "vars"). */
export interface Config {
  inlineMaxBytes: number;
  /** EDGEFS_BATCH_ROWS: the fixed budget of tree rows per transaction. */
  batchRows: number;
  /** EDGEFS_STORAGE_LIMIT_BYTES: the Durable Object storage a share may fill. */
  storageLimitBytes: number;
  /** EDGEFS_VERSION_RETENTION_SECONDS, in ms: how long replaced versions stay readable. */
  versionRetentionMs: number;
  /** EDGEFS_FEED_RETENTION_SECONDS, in ms: how long the change feed keeps events. */
  feedRetentionMs: number;
  /** EDGEFS_FEED_MAX_EVENTS: the most events a share's feed keeps. */
  feedMaxEvents: number;
  gcGraceMs: number;
  pendingTtlMs: number;
  uploadTtlMs: number;
  revocationTtlMs: number;
  corsOrigins: string[];
  /** EDGEFS_S3_HOST, lower-case, without a port: `{bucket}.{s3Host}` is virtual-hosted S3 ("" for none). */
  s3Host: string;
  devRoutes: boolean;
  /** EDGEFS_MOUNT_ALLOW_HOSTS: non-public bucket endpoints an operator permits. */
  mountAllowHosts: AllowedHost[];
  /** EDGEFS_SUBREQUEST_BUDGET: Cloudflare subrequests one request may make (core/budget.ts). */
  subrequestBudget: number;
}

/** One setting as settings.json describes it: the one list of every EDGEFS_* knob. */
export interface Setting {
  name: string;
  kind: "local" | "secret" | "rotation" | "var";
  default?: string;
  max?: number;
  shown: string;
  meaning: string;
}

export const SETTINGS = descriptor.settings as Setting[];

/** The integer vars, by name: defaults and bounds come from settings.json. */
type IntVar =
  | "EDGEFS_INLINE_MAX_BYTES"
  | "EDGEFS_BATCH_ROWS"
  | "EDGEFS_STORAGE_LIMIT_BYTES"
  | "EDGEFS_VERSION_RETENTION_SECONDS"
  | "EDGEFS_FEED_RETENTION_SECONDS"
  | "EDGEFS_FEED_MAX_EVENTS"
  | "EDGEFS_GC_GRACE_SECONDS"
  | "EDGEFS_PENDING_TTL_SECONDS"
  | "EDGEFS_UPLOAD_TTL_SECONDS"
  | "EDGEFS_REVOCATION_TTL_SECONDS"
  | "EDGEFS_SUBREQUEST_BUDGET";

function intVar(env: Env, name: IntVar): number {
  const setting = SETTINGS.find((s) => s.name === name);
  if (setting?.default === undefined || setting.max === undefined) {
    throw new FsError("EINTERNAL", `settings.json has no default and max for ${name}`);
  }
  const value = env[name];
  if (value === undefined || value === "") return Number(setting.default);
  const n = Number(value);
  // SQLite rows in a Durable Object are capped at 2 MB, which is why inline files stop at 1 MiB.
  if (!Number.isSafeInteger(n) || n < 0 || n > setting.max) {
    throw new FsError("EINTERNAL", `misconfigured ${name}: ${value} (0..${setting.max})`);
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
    inlineMaxBytes: intVar(env, "EDGEFS_INLINE_MAX_BYTES"),
    batchRows: Math.max(1, intVar(env, "EDGEFS_BATCH_ROWS")),
    storageLimitBytes: intVar(env, "EDGEFS_STORAGE_LIMIT_BYTES"),
    versionRetentionMs: 1000 * intVar(env, "EDGEFS_VERSION_RETENTION_SECONDS"),
    feedRetentionMs: 1000 * intVar(env, "EDGEFS_FEED_RETENTION_SECONDS"),
    feedMaxEvents: Math.max(1, intVar(env, "EDGEFS_FEED_MAX_EVENTS")),
    gcGraceMs: 1000 * intVar(env, "EDGEFS_GC_GRACE_SECONDS"),
    pendingTtlMs: 1000 * intVar(env, "EDGEFS_PENDING_TTL_SECONDS"),
    uploadTtlMs: 1000 * intVar(env, "EDGEFS_UPLOAD_TTL_SECONDS"),
    revocationTtlMs: 1000 * intVar(env, "EDGEFS_REVOCATION_TTL_SECONDS"),
    corsOrigins: (env.EDGEFS_CORS_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter((o) => o !== ""),
    s3Host: (env.EDGEFS_S3_HOST ?? "").trim().toLowerCase().replace(/:\d+$/, ""),
    devRoutes: env.EDGEFS_DEV_ROUTES === "1",
    mountAllowHosts: parseAllowHosts(env.EDGEFS_MOUNT_ALLOW_HOSTS),
    subrequestBudget: intVar(env, "EDGEFS_SUBREQUEST_BUDGET"),
  };
}
