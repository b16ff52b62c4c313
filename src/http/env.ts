import type { Principal } from "../auth/scope";

/**
 * What every Hono handler of the Worker sees: the Worker's bindings and vars,
 * and who is asking (set by the authentication middleware in http/auth.ts).
 */
export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };
