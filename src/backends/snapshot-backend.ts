import type {
  Backend,
  BackendFeatures,
  ListQuery,
  ReadAt,
  ReadOptions,
  VersionView,
} from "../core/backend";
import { FsError } from "../core/errors";
import type { FsPath } from "../core/paths";
import { MOUNT_FEATURES } from "./mount-backend";
import { backendAt, mountAt, type Runtime, type ShareTarget } from "./resolve";

/*
 * A share's tree at one version as a read-only Backend, for front-ends
 * that serve a snapshot as a tree of its own (WebDAV's {share}@{snapshot}
 * URLs): reads go to the share's VersionView, changes are EACCES, and
 * paths under a bucket mount are ENOTSUP — this layer knows mounts, the
 * front-end does not.
 */

const describe = (at: ReadAt) =>
  "snapshot" in at ? `the snapshot ${at.snapshot}` : `version ${at.version}`;

/**
 * What a tree at a version can do: be read, and nothing else, like a bucket
 * mount (no locks, dead properties, quota or history of its own).
 */
export const SNAPSHOT_FEATURES: Readonly<BackendFeatures> = MOUNT_FEATURES;

/**
 * The share at one version, as a Backend for the read handlers: stat,
 * list and read go to the VersionView; every change is EACCES (403), the
 * way a read-only bucket mount refuses one. The dispatcher refuses changes
 * before they get here; this keeps a handler that slipped through honest.
 */
class SnapshotBackend implements Backend {
  readonly features = SNAPSHOT_FEATURES;

  constructor(
    private readonly view: VersionView,
    private readonly at: ReadAt,
  ) {}

  stat = (path: FsPath) => this.view.stat(path);
  list = (query: ListQuery) => this.view.list(query);
  read = (path: FsPath, options: ReadOptions) => this.view.read(path, options);
  /** Key order is indexed for live rows only: a version's rows would be a scan. */
  listKeys = async (): Promise<never> => {
    throw new FsError(
      "ENOTSUP",
      `key listings read the latest version only, not ${describe(this.at)}: list the live share`,
    );
  };

  private refuse(): never {
    throw readOnly(this.at);
  }
  write = () => this.refuse();
  mkdir = () => this.refuse();
  remove = () => this.refuse();
  deleteKeys = () => this.refuse();
  move = () => this.refuse();
  copy = () => this.refuse();
  createUpload = () => this.refuse();
  uploadPart = () => this.refuse();
  uploadStatus = () => this.refuse();
  completeUpload = () => this.refuse();
  abortUpload = () => this.refuse();
  listUploads = () => this.refuse();
}

export function readOnly(at: ReadAt): FsError {
  return new FsError(
    "EACCES",
    `${describe(at)} is read-only: change the live share, or COPY from here into it to restore`,
  );
}

/**
 * Where a snapshot request reads: the version is resolved once per
 * request (404 for an unknown snapshot, 410 for a version out of reach),
 * and paths under a bucket mount are 501, since mounts keep no versions.
 */
export class SnapshotSource {
  private version: Promise<number> | undefined;

  constructor(
    private readonly rt: () => Runtime,
    private readonly target: ShareTarget,
    readonly at: ReadAt,
  ) {}

  /** The version read: resolves the snapshot or checks the version number. */
  resolved(): Promise<number> {
    this.version ??= backendAt(this.rt(), this.target, undefined, []).then((share) => {
      if (!share.versions) throw new FsError("ENOTSUP", "this share keeps no versions");
      return share.versions.resolve(this.at);
    });
    return this.version;
  }

  async backendAt(path: FsPath): Promise<Backend> {
    const mount = await mountAt(this.target, path);
    if (mount) {
      throw new FsError(
        "ENOTSUP",
        `${mount.path} is a bucket mount, and bucket mounts keep no versions: browse it in the live share`,
        path,
      );
    }
    const [share, version] = await Promise.all([
      backendAt(this.rt(), this.target, undefined, []),
      this.resolved(),
    ]);
    if (!share.versions) throw new FsError("ENOTSUP", "this share keeps no versions");
    return new SnapshotBackend(share.versions.view(version), this.at);
  }
}
