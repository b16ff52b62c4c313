import { type ErrorBody, FsError } from "../core/errors";

/**
 * Durable Object RPC keeps only an Error's message across the boundary, so
 * ShareDO methods return a Result and the caller turns it back into the
 * FsError it was. Errors that are not FsErrors stay thrown: they are bugs.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/**
 * The runtime's own "storage full" (SQLite out of room in the object's
 * storage limit) is the share's storage limit: 507 ENOSPC, and the
 * transaction it broke has rolled back, so nothing is lost.
 */
function storageFull(e: unknown): FsError | undefined {
  const message = e instanceof Error ? e.message : String(e);
  if (!/SQLITE_FULL|database or disk is full|exceeded .*storage|storage limit/i.test(message)) {
    return undefined;
  }
  return new FsError(
    "ENOSPC",
    "the share's storage is full: delete files or snapshots to make room (what a change replaced is kept for the retention window, EDGEFS_VERSION_RETENTION_SECONDS)",
  );
}

export async function guard<T>(fn: () => T | Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (e instanceof FsError) return { ok: false, error: e.toJSON() };
    const full = storageFull(e);
    if (full) return { ok: false, error: full.toJSON() };
    throw e;
  }
}

/** guard for synchronous code, e.g. inside a transaction that must still commit. */
export function guardSync<T>(fn: () => T): Result<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof FsError) return { ok: false, error: e.toJSON() };
    const full = storageFull(e);
    if (full) return { ok: false, error: full.toJSON() };
    throw e;
  }
}

export async function unwrap<T>(result: Promise<Result<T>>): Promise<T> {
  const r = await result;
  if (!r.ok) throw FsError.fromBody(r.error);
  return r.value;
}
