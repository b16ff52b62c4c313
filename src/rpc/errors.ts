import { FsError } from "../core/errors";

/**
 * Errors across Workers RPC. A thrown error reaches the calling Worker as
 * a plain Error (its class stays behind; its name and own properties
 * travel), so the entrypoint throws one named "EdgefsError" with the
 * contract's `code` (and `path`) as properties and the code in front of its
 * message — "ENOENT: no such file or directory: /a" — which `errorCodeOf`
 * (types.ts) reads. The codes are the HTTP API's (docs/api.md "Errors").
 */
/** What a caller's catch sees: the code first, then the message HTTP would give. */
export function toRpcError(e: unknown): unknown {
  if (!(e instanceof FsError)) return e;
  const error = new Error(`${e.code}: ${e.message}`) as Error & { code?: string; path?: string };
  error.name = "EdgefsError";
  error.code = e.code;
  if (e.path !== undefined) error.path = e.path;
  return error;
}

/** Runs one call of the entrypoint, its FsErrors made into coded messages. */
export async function rpcCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toRpcError(e);
  }
}
