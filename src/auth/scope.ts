import { FsError } from "../core/errors";

/**
 * What a request may do (docs/api.md "Access: tokens, presigned URLs, CORS"):
 *   read   GET, HEAD, stat, list, upload status, lease list
 *   write  PUT, DELETE, move, copy, uploads, leases, heartbeat
 *   admin  create and delete shares and mounts, mint, list and revoke tokens;
 *          secrets, for the shares the token covers (routes/secrets.ts)
 * Permissions do not imply each other: a token lists each one it grants.
 */
export type Permission = "read" | "write" | "admin";
export const PERMISSIONS: readonly Permission[] = ["read", "write", "admin"];

export interface Scope {
  /** Environment names, or ["*"]. */
  envs: string[];
  /** Share names, or ["*"]. */
  shares: string[];
  permissions: Permission[];
}

/** Who is asking: the root token, or a scoped token (its id for revocation). */
export type Principal =
  | { kind: "root" }
  | { kind: "token"; tokenId: string; scope: Scope; expiresAt: number };

const covers = (list: string[], name: string) => list.includes("*") || list.includes(name);

/** Whether `p` may do `permission` on a share (or, without one, in the environment). */
export function allows(p: Principal, permission: Permission, env: string, share?: string): boolean {
  if (p.kind === "root") return true;
  const s = p.scope;
  return (
    s.permissions.includes(permission) &&
    covers(s.envs, env) &&
    (share === undefined || covers(s.shares, share))
  );
}

/** 403 EACCES unless allowed: the caller is known but not allowed. */
export function requireAllowed(
  p: Principal,
  permission: Permission,
  env: string,
  share?: string,
): void {
  if (!allows(p, permission, env, share)) {
    const what =
      share === undefined ? `environment ${env}` : `share ${share} in environment ${env}`;
    throw new FsError("EACCES", `this token lacks ${permission} permission on ${what}`);
  }
}

/** Whether a share is visible in listings to `p` (any permission on it). */
export function seesShare(p: Principal, env: string, share: string): boolean {
  return p.kind === "root" || (covers(p.scope.envs, env) && covers(p.scope.shares, share));
}

/** Whether the names `inner` stands for (a list, or ["*"]) are all among `outer`'s. */
export function namesWithin(inner: string[], outer: string[]): boolean {
  return outer.includes("*") || (!inner.includes("*") && inner.every((x) => outer.includes(x)));
}

/** A token may only mint tokens within its own scope (no escalation). */
export function isWithin(inner: Scope, outer: Scope): boolean {
  return (
    namesWithin(inner.envs, outer.envs) &&
    namesWithin(inner.shares, outer.shares) &&
    inner.permissions.every((x) => outer.permissions.includes(x))
  );
}

/** The scope a principal holds: everything for root. */
export function scopeOf(p: Principal): Scope {
  return p.kind === "root"
    ? { envs: ["*"], shares: ["*"], permissions: [...PERMISSIONS] }
    : p.scope;
}

/** Whether a list of share names (or ["*"]) covers `share`. */
export function coversShare(shares: string[], share: string): boolean {
  return covers(shares, share);
}
