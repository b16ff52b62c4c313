import type { Context } from "hono";
import type { AppEnv } from "../app";
import { configFrom } from "../config";
import type { Backend } from "../core/backend";
import { FsError } from "../core/errors";
import { type FsPath, isWithin } from "../core/paths";
import type { Mount } from "../durable/mount-table";
import type { ShareDO } from "../durable/share-do";
import { checkName, environmentOf, heldLeases } from "../http/params";
import { notingUploads } from "../r2/upload-ledger";
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
  return backendAt(c, shareOf(c), path, heldLeases(c.req.header("edgefs-lease")));
}

/**
 * The Backend for a path of a given share, for front-ends that name the
 * share their own way (WebDAV: in the URL) and carry held leases their own
 * way (WebDAV: lock tokens in the If header).
 */
export async function backendAt(
  c: Context<AppEnv>,
  target: ShareTarget,
  path: FsPath | undefined,
  held: string[],
): Promise<Backend> {
  if (path !== undefined) {
    const mount = await mountAt(target, path);
    if (mount) return mountBackend(c.env, target.environment, target.share, mount);
  }
  const config = configFrom(c.env);
  return new ShareBackend(
    target.stub,
    // Dev routes count the multipart uploads left open; they need each one noted.
    config.devRoutes ? notingUploads(c.env.BLOBS) : c.env.BLOBS,
    config,
    (p) => c.executionCtx.waitUntil(p),
    held,
  );
}

/** The bucket mount a path lies at or below, if any. */
export async function mountAt(target: ShareTarget, path: FsPath): Promise<Mount | undefined> {
  return (await mountsOf(target.environment, target.share, target.stub)).find((m) =>
    isWithin(path, m.path as FsPath),
  );
}

export interface ShareTarget {
  environment: string;
  share: string;
  stub: DurableObjectStub<ShareDO>;
}

/** The share a `/v1/shares/{share}/…` request names, in its environment, and its ShareDO. */
export function shareOf(c: Context<AppEnv>): ShareTarget {
  const environment = environmentOf((k) => c.req.query(k));
  const share = checkName(c.req.param("share"), "share");
  return { environment, share, stub: shareStub(c.env, environment, share) };
}

/** One Backend for two paths (move, copy), or ENOTSUP across a mount boundary. */
export async function backendForBoth(c: Context<AppEnv>, a: FsPath, b: FsPath): Promise<Backend> {
  return backendForBothAt(c, shareOf(c), a, b, heldLeases(c.req.header("edgefs-lease")));
}

export async function backendForBothAt(
  c: Context<AppEnv>,
  target: ShareTarget,
  a: FsPath,
  b: FsPath,
  held: string[],
): Promise<Backend> {
  const [first, second] = await Promise.all([mountAt(target, a), mountAt(target, b)]);
  if (first?.path !== second?.path) {
    throw new FsError(
      "ENOTSUP",
      `${a} and ${b} are on different storage (a bucket mount and the share, or two mounts)`,
    );
  }
  return backendAt(c, target, a, held);
}

async function mountBackend(
  env: Env,
  environment: string,
  share: string,
  mount: Mount,
): Promise<MountBackend> {
  const credentials =
    mount.secret === null
      ? undefined
      : (await awsSecretOf(env, environment, mount.secret, share)).credentials;
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
