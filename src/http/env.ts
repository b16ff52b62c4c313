import type { Principal } from "../auth/scope";
import type { SubrequestBudget } from "../core/budget";

/**
 * What every Hono handler of the Worker sees: the Worker's bindings and vars,
 * who is asking (set by the authentication middleware in http/auth.ts), and
 * the request's subrequest budget (made when first needed: http/backend.ts).
 */
export type AppEnv = {
  Bindings: Env;
  Variables: { principal: Principal; subrequests: SubrequestBudget };
};
