import { FsError } from "../core/errors";
import { type Result, unwrap } from "./rpc";
import type { ShareDO } from "./share-do";

/** The ShareDO methods that answer with a Result: its RPC surface. */
type ResultMethods = {
  [K in keyof ShareDO]-?: ShareDO[K] extends (...args: never[]) => Promise<Result<unknown>>
    ? K
    : never;
}[keyof ShareDO];

type Unwrapped<R> = R extends Promise<Result<infer T>> ? T : never;

/**
 * A share's RPC as the Worker uses it: each ShareDO method, answering with
 * its value or throwing the FsError it returned (rpc.ts: RPC would keep only
 * an Error's message, so the object returns a Result and this unwraps it).
 */
export type ShareApi = {
  [K in ResultMethods]: ShareDO[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Unwrapped<R>>
    : never;
};

type RawMethod = (...args: unknown[]) => Promise<Result<unknown>>;

/**
 * Wraps a ShareDO stub once, so no caller unwraps. A Proxy, so every RPC
 * method the type names is there without a list to keep in step. It is not
 * a thenable (`then` is absent), so it can be returned from async code.
 */
export function shareClient(
  stub: DurableObjectStub<ShareDO>,
  names?: { environment: string; share: string },
): ShareApi {
  const raw = stub as unknown as Record<string, RawMethod | undefined>;
  const named = names ? nameTheShare(names.environment, names.share) : (e: unknown) => e;
  return new Proxy({} as ShareApi, {
    get(_target, name) {
      if (typeof name !== "string" || name === "then") return undefined;
      // Called on the stub itself: its methods are RPC proxies, so even
      // `apply` on one would be sent to the object as a method name.
      return (...args: unknown[]) =>
        unwrap((raw[name] as RawMethod)(...args)).catch((e: unknown) => {
          throw named(e);
        });
    },
  });
}

/** The ShareDO's "share not found" (it cannot know a name it never stored). */
export const SHARE_NOT_FOUND = "share not found";

/**
 * "share not found" said with the share and its environment, which the
 * caller knows and the object of a share that does not exist does not:
 * "share not found: results (env main)", and the object's reason after it.
 */
function nameTheShare(environment: string, share: string) {
  return (e: unknown): unknown => {
    if (!(e instanceof FsError) || e.code !== "ENOENT" || !e.message.startsWith(SHARE_NOT_FOUND)) {
      return e;
    }
    const reason = e.message.slice(SHARE_NOT_FOUND.length).replace(/^: /, "");
    const message = `${SHARE_NOT_FOUND}: ${share} (env ${environment})${reason ? `: ${reason}` : ""}`;
    return new FsError("ENOENT", message, e.path);
  };
}
