import type { Context } from "hono";
import type { AppEnv } from "../app";
import { configFrom } from "../config";
import type { Backend } from "../core/backend";
import { FsError } from "../core/errors";
import { type FsPath, isWithin } from "../core/paths";
import type { Mount } from "../durable/mount-table";
import { checkName, environmentOf, heldLeases } from "../http/params";
import { S3Client } from "../s3/client";
import { MountBackend } from "../s3/mount-backend";
import { awsSecretOf, mountsOf } from "./mounts";
import { ShareBackend, shareStub } from "./share-backend";

/** aws4fetch retries 5xx and 429 ten times by default (~25 s); a gateway answers sooner. */
const S3_RETRIES = 2;

/**
 * The Backend behind `/v1/shares/{share}/…` for a path in the request's
 * environment: a bucket mount when the path lies at or below one, the
 * share's own storage otherwise (and for requests without a path, such as
 * those naming an upload id).
 */
export async function backendFor(c: Context<AppEnv>, path?: FsPath): Promise<Backend> {
  const { environment, share, stub } = shareOf(c);
  if (path !== undefined) {
    const mount = (await mountsOf(environment, share, stub)).find((m) =>
      isWithin(path, m.path as FsPath),
    );
    if (mount) return mountBackend(c.env, environment, mount);
  }
  return new ShareBackend(
    stub,
    c.env.BLOBS,
    configFrom(c.env),
    (p) => c.executionCtx.waitUntil(p),
    heldLeases(c.req.header("edgefs-lease")),
  );
}

/** The share a `/v1/shares/{share}/…` request names, in its environment, and its ShareDO. */
export function shareOf(c: Context<AppEnv>) {
  const environment = environmentOf((k) => c.req.query(k));
  const share = checkName(c.req.param("share"), "share");
  return { environment, share, stub: shareStub(c.env, environment, share) };
}

/** One Backend for two paths (move, copy), or ENOTSUP across a mount boundary. */
export async function backendForBoth(c: Context<AppEnv>, a: FsPath, b: FsPath): Promise<Backend> {
  const [first, second] = await Promise.all([backendFor(c, a), backendFor(c, b)]);
  const same =
    (first instanceof ShareBackend && second instanceof ShareBackend) ||
    (first instanceof MountBackend &&
      second instanceof MountBackend &&
      first.mountPath === second.mountPath);
  if (!same) {
    throw new FsError(
      "ENOTSUP",
      `${a} and ${b} are on different storage (a bucket mount and the share, or two mounts)`,
    );
  }
  return first;
}

async function mountBackend(env: Env, environment: string, mount: Mount): Promise<MountBackend> {
  const credentials =
    mount.secret === null
      ? undefined
      : (await awsSecretOf(env, environment, mount.secret)).credentials;
  const client = new S3Client(
    {
      endpoint: mount.endpoint,
      region: mount.region,
      bucket: mount.bucket,
      forcePathStyle: mount.forcePathStyle,
      credentials,
      requesterPays: mount.requesterPays,
    },
    { retries: S3_RETRIES },
  );
  return new MountBackend(mount, client);
}
