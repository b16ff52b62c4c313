import { coversShare } from "../auth/scope";
import { secretContext, unseal } from "../auth/sealed";
import { type AllowedHost, endpointRefusal } from "../core/endpoints";
import { FsError } from "../core/errors";
import type { Mount } from "../core/mount";
import { secretStore } from "../durable/secret-store";
import type { ShareApi } from "../durable/share-client";
import type { S3Credentials } from "../s3/client";

/**
 * Mounts and their credentials, cached per isolate for MOUNT_CACHE_MS so a
 * file request does not pay a Durable Object round trip to learn whether
 * its path is mounted. A change made here is seen at once; elsewhere within
 * that time. Share storage refuses changes under a mount in the meantime
 * (ShareDO), so a stale isolate can never write where a bucket now is.
 */
export const MOUNT_CACHE_MS = 10_000;

const mountCache = new Map<string, { mounts: Mount[]; at: number }>();
/** What a secret holds for S3: the keys, and the region it names, if any. */
export interface AwsSecret {
  credentials: S3Credentials;
  region?: string;
  /** The shares whose mounts may use it. */
  shares: string[];
}

const credentialCache = new Map<string, { secret: AwsSecret; at: number }>();

export async function mountsOf(
  environment: string,
  share: string,
  api: ShareApi,
): Promise<Mount[]> {
  const key = `${environment}/${share}`;
  const hit = mountCache.get(key);
  if (hit && Date.now() - hit.at < MOUNT_CACHE_MS) return hit.mounts;
  const mounts = await api.listMounts();
  mountCache.set(key, { mounts, at: Date.now() });
  return mounts;
}

export function forgetMounts(environment: string, share: string): void {
  mountCache.delete(`${environment}/${share}`);
}

/**
 * The AWS credentials stored in a secret for a mount of `share`: ENOENT or
 * EINVAL saying what is missing, EACCES if the secret is not for that share
 * (routes/secrets.ts: secrets belong to the shares they were stored for).
 */
export async function awsSecretOf(
  env: Env,
  environment: string,
  name: string,
  share: string,
): Promise<AwsSecret> {
  const key = `${environment}/${name}`;
  const hit = credentialCache.get(key);
  if (hit && Date.now() - hit.at < MOUNT_CACHE_MS) return usableBy(hit.secret, name, share);
  const stored = await secretStore(env, environment).get(name);
  if (!stored) throw new FsError("ENOENT", `no such secret: ${name}`);
  const { sealed, info } = stored;
  const values = await unseal<Record<string, string>>(
    env.EDGEFS_SECRETS_KEY,
    secretContext(environment, name),
    sealed,
  );
  if (!values.AWS_ACCESS_KEY_ID || !values.AWS_SECRET_ACCESS_KEY) {
    throw new FsError(
      "EINVAL",
      `secret ${name} has no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    );
  }
  const credentials: S3Credentials = {
    accessKeyId: values.AWS_ACCESS_KEY_ID,
    secretAccessKey: values.AWS_SECRET_ACCESS_KEY,
  };
  if (values.AWS_SESSION_TOKEN) credentials.sessionToken = values.AWS_SESSION_TOKEN;
  const secret: AwsSecret = values.AWS_REGION
    ? { credentials, region: values.AWS_REGION, shares: info.shares }
    : { credentials, shares: info.shares };
  credentialCache.set(key, { secret, at: Date.now() });
  return usableBy(secret, name, share);
}

function usableBy(secret: AwsSecret, name: string, share: string): AwsSecret {
  if (!coversShare(secret.shares, share)) {
    throw new FsError("EACCES", `secret ${name} is not for share ${share}`);
  }
  return secret;
}

export function forgetCredentials(environment: string, name: string): void {
  credentialCache.delete(`${environment}/${name}`);
}

/**
 * Checked before a request is served from a mount's bucket. A request that
 * edgefs itself sent to a bucket (it carries the hop header) is refused:
 * its endpoint is this gateway or another edgefs, and serving it from a
 * mount again would loop. And the endpoint must still pass the rules with
 * today's allow-list: a mount stored before them, or allowed by an entry
 * since removed, stops working (403 EACCES) rather than reaching a
 * private address.
 */
export function guardMount(mount: Mount, caller: Caller, allow: AllowedHost[]): void {
  if (caller.viaMount) {
    throw new FsError(
      "EUPSTREAM",
      `mount loop: this request came from an edgefs bucket mount and reached the mount at ${mount.path}`,
      mount.path,
    );
  }
  const refused = endpointRefusal(mount.endpoint, {
    allow,
    gatewayHost: caller.host,
    virtualHost: mount.forcePathStyle ? undefined : mount.bucket,
  });
  if (refused) throw new FsError("EACCES", `bucket mount ${mount.path}: ${refused}`, mount.path);
}

/** Who a request came from, as far as mounts care: see Runtime in resolve.ts. */
export interface Caller {
  /** The gateway's own host as the caller addressed it: no mount may point there. */
  host: string;
  /** The request carries the mark edgefs puts on its own requests to buckets. */
  viaMount: boolean;
}
