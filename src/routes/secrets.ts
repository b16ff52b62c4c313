import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { seal, secretContext } from "../auth/sealed";
import { forgetCredentials } from "../backends/mounts";
import { FsError } from "../core/errors";
import { secretStore } from "../durable/secret-store";
import { can } from "../http/auth";
import { checkName, environmentOf, jsonBody } from "../http/params";

/**
 * Secrets of an environment: credentials that bucket mounts sign with.
 * Values go in sealed and never come back out through the API.
 */
export const secrets = new Hono<AppEnv>();

/** Environment-variable-like keys, e.g. AWS_ACCESS_KEY_ID. */
const secretBody = z
  .record(
    z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "keys look like AWS_ACCESS_KEY_ID"),
    z.string().min(1).max(4096),
  )
  .refine((v) => Object.keys(v).length >= 1 && Object.keys(v).length <= 32, "1 to 32 keys")
  .refine(
    (v) => (v.AWS_ACCESS_KEY_ID === undefined) === (v.AWS_SECRET_ACCESS_KEY === undefined),
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together",
  );

secrets.put("/:name", can("admin", null), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "secret");
  const values = await jsonBody(c.req.raw, secretBody);
  const sealed = await seal(c.env.EDGEFS_SECRETS_KEY, secretContext(environment, name), values);
  const { created, info } = await secretStore(c.env, environment).put(name, sealed);
  forgetCredentials(environment, name);
  return c.json({ ...info, env: environment }, created ? 201 : 200);
});

secrets.get("/", can("admin", null), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  return c.json({ secrets: await secretStore(c.env, environment).list() });
});

secrets.delete("/:name", can("admin", null), async (c) => {
  const environment = environmentOf((k) => c.req.query(k));
  const name = checkName(c.req.param("name"), "secret");
  if (!(await secretStore(c.env, environment).delete(name)))
    throw new FsError("ENOENT", `no such secret: ${name}`);
  forgetCredentials(environment, name);
  return c.body(null, 204);
});
