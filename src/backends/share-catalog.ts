import type { FsError } from "../core/errors";
import type { ShareInfo } from "../core/types";
import { registryFor } from "../durable/registry";
import { SHARE_NOT_FOUND } from "../durable/share-client";

/**
 * The shares of an environment, for front-ends that list them as their own
 * top level (S3's ListBuckets, WebDAV's root) without reaching into the
 * durable layer themselves.
 */
export async function sharesOf(
  env: Env,
  environment: string,
  limit: number,
  after: string,
): Promise<{ shares: ShareInfo[]; last?: string }> {
  const page = await registryFor(env, environment).list(limit, after);
  return page.last === undefined
    ? { shares: page.entries }
    : { shares: page.entries, last: page.last };
}

/** Whether an ENOENT says the share itself is missing (not a path in it). */
export const isMissingShare = (e: FsError): boolean =>
  e.code === "ENOENT" && e.message.startsWith(SHARE_NOT_FOUND);
