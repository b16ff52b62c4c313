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
export function shareClient(stub: DurableObjectStub<ShareDO>): ShareApi {
  const raw = stub as unknown as Record<string, RawMethod | undefined>;
  return new Proxy({} as ShareApi, {
    get(_target, name) {
      if (typeof name !== "string" || name === "then") return undefined;
      // Called on the stub itself: its methods are RPC proxies, so even
      // `apply` on one would be sent to the object as a method name.
      return (...args: unknown[]) => unwrap((raw[name] as RawMethod)(...args));
    },
  });
}
