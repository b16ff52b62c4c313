import { configFrom } from "../config";
import type { Backend, BackendFeatures } from "../core/backend";
import type { SubrequestBudget } from "../core/budget";
import { FsError } from "../core/errors";
import type { Mount } from "../core/mount";
import { type FsPath, isWithin } from "../core/paths";
import { type ShareApi, shareClient } from "../durable/share-client";
import { notingUploads } from "../r2/upload-ledger";
import { S3Client } from "../s3/client";
import { MOUNT_FEATURES, MountBackend } from "./mount-backend";
import { awsSecretOf, type Caller, guardMount, mountsOf } from "./mounts";
import { SHARE_FEATURES, ShareBackend, shareStub } from "./share-backend";

/**
 * What resolving a Backend needs of the request it serves, whatever the
 * front-end (Hono routes, WebDAV, and later S3 and RPC): the bindings, a way
 * to finish work after the answer, who is calling (for mount checks), and
 * the Cloudflare subrequests the request may still make (one budget per
 * incoming request, shared by every Backend it resolves).
 */
export interface Runtime {
  env: Env;
  waitUntil(promise: Promise<unknown>): void;
  caller: Caller;
  subrequests: SubrequestBudget;
}

/** aws4fetch retries 5xx and 429 ten times by default (~25 s); a gateway answers sooner. */
const S3_RETRIES = 2;

/**
 * The Backend for a path of a share: a bucket mount when the path lies at or
 * below one, the share's own storage otherwise (and for requests without a
 * path, such as those naming an upload id). `held` are the leases the caller
 * holds (native: Edgefs-Lease; WebDAV: lock tokens in the If header).
 */
export async function backendAt(
  rt: Runtime,
  target: ShareTarget,
  path: FsPath | undefined,
  held: string[],
): Promise<Backend> {
  if (path !== undefined) {
    const mount = await mountAt(target, path);
    if (mount) {
      guardMount(mount, rt.caller, configFrom(rt.env).mountAllowHosts);
      return mountBackend(rt, target.environment, target.share, mount);
    }
  }
  const config = configFrom(rt.env);
  return new ShareBackend(
    target.api,
    // Dev routes count the multipart uploads left open; they need each one noted.
    config.devRoutes ? notingUploads(rt.env.BLOBS) : rt.env.BLOBS,
    config,
    rt.waitUntil,
    rt.subrequests,
    held,
  );
}

/**
 * The share's own storage, for what only it can do (batch commits, staged
 * uploads): each of `paths` (labelled for the message) must lie outside
 * every bucket mount, else 501 ENOTSUP naming it and the mount.
 */
export async function shareStorageAt(
  rt: Runtime,
  target: ShareTarget,
  paths: { path: FsPath; label: string }[],
  held: string[],
): Promise<ShareBackend> {
  if (paths.length > 0) {
    const mounts = await mountsOf(target.environment, target.share, target.api);
    for (const { path, label } of paths) {
      const mount = mounts.find((m) => isWithin(path, m.path as FsPath));
      if (mount) {
        throw new FsError(
          "ENOTSUP",
          `${label}: ${path} is under the bucket mount at ${mount.path}; batch commits and staged uploads change share storage only`,
          path,
        );
      }
    }
  }
  const config = configFrom(rt.env);
  return new ShareBackend(
    target.api,
    config.devRoutes ? notingUploads(rt.env.BLOBS) : rt.env.BLOBS,
    config,
    rt.waitUntil,
    rt.subrequests,
    held,
  );
}

/**
 * The features of the Backend that serves a path, without opening it: no
 * credentials are fetched and no endpoint is judged, so a front-end can
 * ask about many paths (a listing's entries) at the cost of one cached
 * mount lookup, and answer "not here" before anything else.
 */
export async function featuresAt(
  target: ShareTarget,
  path: FsPath,
): Promise<Readonly<BackendFeatures>> {
  return (await mountAt(target, path)) ? MOUNT_FEATURES : SHARE_FEATURES;
}

/** The bucket mount a path lies at or below, if any. */
export async function mountAt(target: ShareTarget, path: FsPath): Promise<Mount | undefined> {
  return (await mountsOf(target.environment, target.share, target.api)).find((m) =>
    isWithin(path, m.path as FsPath),
  );
}

export interface ShareTarget {
  environment: string;
  share: string;
  /** Its ShareDO, RPC results unwrapped: answers values, throws FsErrors. */
  api: ShareApi;
}

/** A share of an environment, and its ShareDO. */
export function shareTarget(env: Env, environment: string, share: string): ShareTarget {
  return {
    environment,
    share,
    api: shareClient(shareStub(env, environment, share), { environment, share }),
  };
}

/** One Backend for two paths (move, copy), or ENOTSUP across a mount boundary. */
export async function backendForBothAt(
  rt: Runtime,
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
  return backendAt(rt, target, a, held);
}

async function mountBackend(
  { env, subrequests }: Runtime,
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
    {
      retries: S3_RETRIES,
      // A retry is a subrequest too: it is made only if the budget still has one spare.
      mayRetry: () => {
        if (!subrequests.affords(1)) return false;
        subrequests.take(1, "retrying a bucket call");
        return true;
      },
    },
  );
  return new MountBackend(mount, client, subrequests);
}
