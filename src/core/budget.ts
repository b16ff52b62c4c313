import { FsError } from "./errors";

/**
 * The Cloudflare subrequests one incoming request may still make
 * (EDGEFS_SUBREQUEST_BUDGET): every fetch to a bucket, every R2 binding
 * call and every Durable Object call counts, and past the plan's limit
 * the runtime throws in the middle of whatever was under way. Work whose
 * size depends on the data (a recursive copy on a bucket mount, the parts
 * of a chunked body) counts what it needs against `remaining` before it
 * changes anything, and refuses (413 ETOOLARGE) when it would not fit;
 * a streamed listing ends with a cursor instead.
 *
 * `reserved` subrequests are set aside for what a request spends outside
 * that work (the revoked-token list, the share's mount table, a mount's
 * credentials, WebDAV's stat and lock checks), which is small and fixed.
 */
export class SubrequestBudget {
  private used = 0;
  readonly limit: number;
  private readonly reserved: number;

  constructor(limit: number, reserved = 0) {
    this.limit = limit;
    this.reserved = reserved;
  }

  /** Subrequests still free for this request's own work. */
  get remaining(): number {
    return Math.max(0, this.limit - this.reserved - this.used);
  }

  /** Whether `n` more subrequests fit. */
  affords(n: number): boolean {
    return n <= this.remaining;
  }

  /**
   * Counts `n` subrequests about to be made for `what`, or throws 413
   * ETOOLARGE (counting nothing) when they do not fit.
   */
  take(n: number, what: string): void {
    if (!this.affords(n)) throw this.exceeded(`${what} needs ${n} more subrequests`);
    this.used += n;
  }

  /** The 413 for work that does not fit: `need` says what it would take, `advice` what to do. */
  exceeded(need: string, advice = "split the work into smaller requests", path?: string): FsError {
    return new FsError(
      "ETOOLARGE",
      `${need}, more than the ${this.remaining} of this request's budget of ${this.limit} ` +
        `subrequests (EDGEFS_SUBREQUEST_BUDGET) still free: ${advice}`,
      path,
    );
  }
}

/**
 * What a request sets aside for its fixed lookups (see SubrequestBudget):
 * revoked tokens, the mount table and a mount's credentials are one call
 * each when not cached, and WebDAV adds a stat and a lock check or two.
 */
export const RESERVED_SUBREQUESTS = 5;

/**
 * `target` with every method call counted as one subrequest, taken before
 * the call is made: for clients whose every method is one round trip and
 * returns a promise (a bucket's ObjectStore). A call the budget cannot pay
 * for is not made; its promise rejects with the 413.
 */
export function metered<T extends object>(target: T, budget: SubrequestBudget, what: string): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        try {
          budget.take(1, `${what} (${String(property)})`);
        } catch (e) {
          return Promise.reject(e);
        }
        return Reflect.apply(value, object, args);
      };
    },
  });
}
