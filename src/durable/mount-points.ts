import { FsError } from "../core/errors";
import type { Lease, LeaseRequest } from "../core/leases";
import { type FsPath, isWithin, ROOT } from "../core/paths";
import type { Mount, MountConfig } from "./mount-table";
import type { Live, ShareState } from "./share-state";

/**
 * Where bucket mounts meet share storage: a mount point is a directory of
 * the share (so listings show it) that no share file may occupy, and
 * leases stop at it, since writes there never pass through this share.
 */
export class MountPoints {
  constructor(private readonly s: ShareState) {}

  /**
   * Mounts a bucket at `path`, which must be free: no file there, no
   * non-empty directory, no overlap with another mount.
   */
  mount({ now }: Live, path: FsPath, config: MountConfig): { mount: Mount; created: boolean } {
    if (path === ROOT)
      throw new FsError("EINVAL", "a bucket cannot be mounted at the root of a share", path);
    const other = this.s.mounts
      .list()
      .find(
        (m) =>
          m.path !== path && (isWithin(path, m.path as FsPath) || isWithin(m.path as FsPath, path)),
      );
    if (other) throw new FsError("EEXIST", `overlaps the bucket mount at ${other.path}`, path);
    if (!this.s.mounts.get(path)) {
      const existing = this.s.tree.get(path);
      if (existing?.type === "file") throw new FsError("EEXIST", `a file exists at ${path}`, path);
      if (existing && this.s.tree.hasChildren(path)) {
        throw new FsError(
          "EEXIST",
          `${path} holds share files: mount on an empty or new directory`,
          path,
        );
      }
    }
    const created = this.s.mounts.put(path, config, now);
    this.s.tree.mkdir(path, now);
    return { mount: this.s.mounts.get(path) as Mount, created };
  }

  unmount({ now }: Live, path: FsPath): void {
    if (!this.s.mounts.delete(path))
      throw new FsError("ENOENT", `no bucket is mounted at ${path}`, path);
    this.s.tree.remove(path, false, this.s.graceUntil(now));
  }

  acquireLease({ now }: Live, request: LeaseRequest): Lease {
    if (
      this.s.mounts.containing(request.path) ||
      (request.depth === "infinity" && this.s.mounts.within(request.path))
    ) {
      throw new FsError(
        "ENOTSUP",
        "leases do not cover bucket mounts: writes there never pass through this share",
      );
    }
    return this.s.leases.acquire(request, now);
  }
}
