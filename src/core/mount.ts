/**
 * A bucket mounted at a path of a share (docs/mounts.md).
 * Domain data, not storage: ShareDO's mount table stores it, the routes
 * validate it, MountBackend serves files by it.
 */
export interface MountConfig {
  bucket: string;
  endpoint: string;
  region: string;
  /** "" or a prefix ending in "/": the mount shows only keys below it. */
  keyPrefix: string;
  /** Name of a secret of the share's environment; null signs nothing (public buckets). */
  secret: string | null;
  readOnly: boolean;
  requesterPays: boolean;
  forcePathStyle: boolean;
}

export interface Mount extends MountConfig {
  path: string;
  createdAt: number;
}
