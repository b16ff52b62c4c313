import { Hono } from "hono";
import { z } from "zod";
import { namesWithin, scopeOf } from "../auth/scope";
import { seal, secretContext } from "../auth/sealed";
import { forgetCredentials } from "../backends/mounts";
import { FsError, invalid } from "../core/errors";
import { type SecretInfo, secretStore } from "../durable/secret-store";
import { can } from "../http/auth";
import type { AppEnv } from "../http/env";
import { checkName, environmentOf, jsonBody, NAME } from "../http/params";

/**
 * Secrets of an environment: credentials that bucket mounts sign with.
 * Values go in sealed and never come back out through the API.
 *
 * A secret belongs to the shares it is stored for (`shares`, default: the
 * shares of the admin who stores it; ["*"] for an environment-wide admin).
 * An admin sees, replaces and deletes only secrets whose shares its token
 * covers, and only those shares' mounts may sign with it — so an admin of
 * one share can neither read the names of, overwrite, delete nor borrow
 * another team's credentials.
 */
export const secrets = new Hono<AppEnv>();

const nameOrAll = z.string().refine((v) => v === "*" || NAME.test(v), 'a share name or "*"');

/** Environment-variable-like keys, e.g. AWS_ACCESS_KEY_ID; `shares` is not a value. */
const secretBody = z
  .object({ shares: z.array(nameOrAll).min(1).max(256).optional() })
  .catchall(z.string().min(1).max(4096))
  .refine(
    (v) => Object.keys(v).every((k) => k === "shares" || /^[A-Z][A-Z0-9_]{0,63}$/.test(k)),
    "keys look like AWS_ACCESS_KEY_ID",
  )
  .refine((v) => {
    const n = Object.keys(v).filter((k) => k !== "shares").length;
    return n >= 1 && n <= 32;
  }, "1 to 32 keys")
  .refine(
    (v) => (v.AWS_ACCESS_KEY_ID === undefined) === (v.AWS_SECRET_ACCESS_KEY === undefined),
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together",
  );

/** 403 unless the caller's token covers every share the secret is for. */
function requireOwner(principal: AppEnv["Variables"]["principal"], info: SecretInfo): void {
  if (!namesWithin(info.shares, scopeOf(principal).shares)) {
    throw new FsError(
      "EACCES",
      `secret ${info.name} belongs to shares outside this token's scope (${info.shares.join(", ")})`,
    );
  }
}

secrets.put("/:name", can("admin", null), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "secret");
  const { shares: asked, ...values } = await jsonBody(c.req.raw, secretBody);
  const mine = scopeOf(c.var.principal).shares;
  const shares = asked ? [...new Set(asked)] : mine;
  if (shares.includes("*") && shares.length > 1) throw invalid('shares: "*" stands alone');
  if (!namesWithin(shares, mine)) {
    throw new FsError("EACCES", "a token can only store secrets for shares within its scope");
  }
  const store = secretStore(c.env, environment);
  const existing = await store.info(name);
  if (existing) requireOwner(c.var.principal, existing);
  const sealed = await seal(c.env.EDGEFS_SECRETS_KEY, secretContext(environment, name), values);
  const { created, info } = await store.put(name, sealed, shares);
  forgetCredentials(environment, name);
  return c.json({ ...info, env: environment }, created ? 201 : 200);
});

secrets.get("/", can("admin", null), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const mine = scopeOf(c.var.principal).shares;
  const all = await secretStore(c.env, environment).list();
  return c.json({ secrets: all.filter((s) => namesWithin(s.shares, mine)) });
});

secrets.delete("/:name", can("admin", null), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "secret");
  const store = secretStore(c.env, environment);
  const existing = await store.info(name);
  if (!existing) throw new FsError("ENOENT", `no such secret: ${name}`);
  requireOwner(c.var.principal, existing);
  await store.delete(name);
  forgetCredentials(environment, name);
  return c.body(null, 204);
});
