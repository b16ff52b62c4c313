import { Hono } from "hono";
import { z } from "zod";
import { namesWithin, scopeOf } from "../auth/scope";
import { awsSecretOf, forgetMounts } from "../backends/mounts";
import { configFrom } from "../config";
import { endpointRefusal } from "../core/endpoints";
import { FsError, invalid } from "../core/errors";
import type { MountConfig } from "../core/mount";
import { secretStore } from "../durable/secret-store";
import { can } from "../http/auth";
import { shareOf } from "../http/backend";
import type { AppEnv } from "../http/env";
import { checkName, jsonBody, sharePathOf } from "../http/params";

/**
 * Bucket mounts: an S3-compatible bucket (AWS S3, R2, GCS with HMAC keys,
 * MinIO …) shown at a path of a share. `/v1/shares/{share}/mounts/{path}`.
 */
export const mounts = new Hono<AppEnv>();

// S3 bucket naming rules: 3–63 of lowercase letters, digits, dots and hyphens.
const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "bucket names are 3-63 lowercase letters, digits, dots and hyphens",
  );

const mountBody = z
  .strictObject({
    bucket: bucketName,
    endpoint: z
      .url({ protocol: /^https?$/, error: "endpoint must be an http(s) URL" })
      .refine((u) => !new URL(u).search && !new URL(u).hash, "endpoint takes no query or fragment")
      .optional(),
    region: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/, "region looks like us-east-1 (or auto)")
      .optional(),
    keyPrefix: z
      .string()
      .max(1024)
      .refine(
        (p) => p === "" || (p.endsWith("/") && !p.startsWith("/")),
        "keyPrefix must end with / and not start with /",
      )
      .optional(),
    secret: z.string().optional(),
    readOnly: z.boolean().optional(),
    requesterPays: z.boolean().optional(),
    forcePathStyle: z.boolean().optional(),
  })
  .refine(
    (b) => !b.requesterPays || b.secret !== undefined,
    "requesterPays needs a secret: AWS bills the requester",
  );

mounts.get("/:share/mounts", can("read"), async (c) => {
  return c.json({ mounts: await shareOf(c).api.listMounts() });
});

mounts.get("/:share/mounts/*", can("read"), async (c) => {
  const { path } = sharePathOf(c.req.url);
  const mount = (await shareOf(c).api.listMounts()).find((m) => m.path === path);
  if (!mount) throw new FsError("ENOENT", `no bucket is mounted at ${path}`, path);
  return c.json(mount);
});

mounts.put("/:share/mounts/*", can("admin"), async (c) => {
  const { path } = sharePathOf(c.req.url);
  const { environment, share, api } = shareOf(c);
  const body = await jsonBody(c.req.raw, mountBody);
  if (body.endpoint !== undefined) {
    // Also checked on every use (resolve.ts): the allow-list may change.
    const refused = endpointRefusal(body.endpoint, {
      allow: configFrom(c.env).mountAllowHosts,
      gatewayHost: new URL(c.req.url).host,
      virtualHost: body.forcePathStyle ? undefined : body.bucket,
    });
    if (refused) throw invalid(refused);
  }
  let region = body.region;
  if (body.secret !== undefined) {
    const name = checkName(body.secret, "secret");
    // Only a secret whose shares the caller's token covers, and that is for
    // this share: a share's admin must not borrow another team's keys.
    const info = await secretStore(c.env, environment).info(name);
    if (info && !namesWithin(info.shares, scopeOf(c.var.principal).shares)) {
      throw new FsError("EACCES", `secret ${name} belongs to shares outside this token's scope`);
    }
    // The secret must exist and hold AWS keys now, not at the first request.
    const secret = await awsSecretOf(c.env, environment, name, share).catch((e: unknown) => {
      if (e instanceof FsError && e.code === "EACCES") throw e;
      throw invalid(`secret ${name}: ${e instanceof Error ? e.message : String(e)}`);
    });
    region ??= secret.region;
  }
  region ??= "us-east-1";
  const config: MountConfig = {
    bucket: body.bucket,
    endpoint: body.endpoint ?? `https://s3.${region}.amazonaws.com`,
    region,
    keyPrefix: body.keyPrefix ?? "",
    secret: body.secret ?? null,
    readOnly: body.readOnly ?? false,
    requesterPays: body.requesterPays ?? false,
    forcePathStyle: body.forcePathStyle ?? false,
  };
  const { mount, created } = await api.putMount(path, config);
  forgetMounts(environment, share);
  return c.json(mount, created ? 201 : 200);
});

mounts.delete("/:share/mounts/*", can("admin"), async (c) => {
  const { path } = sharePathOf(c.req.url);
  const { environment, share, api } = shareOf(c);
  await api.deleteMount(path);
  forgetMounts(environment, share);
  return c.body(null, 204);
});
