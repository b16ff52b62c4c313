import type { Context, MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { authenticate, principalOf } from "../http/auth";
import type { AppEnv } from "../http/env";

/**
 * WebDAV clients built into operating systems speak Basic: the password is
 * a token (root or scoped), the user name is ignored. Bearer works too, for
 * tools that can send it. A missing or wrong password is 401 with a Basic
 * challenge, which is what makes Finder and Explorer ask for one (the
 * sub-app's onError renders it, app.ts).
 */
export function authenticateDav(): MiddlewareHandler<AppEnv> {
  const basic = basicAuth({
    realm: "edgefs",
    verifyUser: async (_user, password, context) => {
      const c = context as unknown as Context<AppEnv>;
      c.set("principal", await principalOf(password, c));
      return true;
    },
    invalidUserMessage: "authentication required: any user name, an edgefs token as password\n",
  });
  const bearer = authenticate();
  return async (c, next) =>
    /^bearer /i.test(c.req.header("authorization") ?? "")
      ? bearer(c, next)
      : basic(c as unknown as Context, next);
}
