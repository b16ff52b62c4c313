import { invalid } from "../core/errors";
import type { Mount } from "../core/mount";
import type { StoredObject } from "../core/object-store";
import { type FsPath, isWithin, joinPath, parsePath, relativeTo } from "../core/paths";
import type { FileEntry } from "../core/types";

/**
 * How a bucket mount maps the share's paths onto object keys and back: the
 * one place that knows the key layout (the mount's key prefix, "/" as the
 * separator, "dir/" markers) and which keys name no valid path.
 */
export class MountKeys {
  constructor(private readonly mount: Mount) {}

  get root(): FsPath {
    return this.mount.path as FsPath;
  }

  /** The object key for a share path inside this mount ("" at the mount root). */
  key(path: FsPath): string {
    if (!isWithin(path, this.root))
      throw invalid(`${path} is not inside the mount at ${this.root}`);
    return this.mount.keyPrefix + (path === this.root ? "" : relativeTo(path, this.root));
  }

  /**
   * The share path of an object key, or null when the key names no valid
   * path: outside the key prefix, or with segments a path may not have
   * ("", ".", "..", a backslash, control characters, over-long — the rules
   * of core/paths). Buckets hold such keys (other writers put them there);
   * edgefs never shows them, so no listing or WebDAV href names a path
   * like /mnt/../../x.
   */
  pathOf(key: string): FsPath | null {
    if (!key.startsWith(this.mount.keyPrefix)) return null;
    const relative = key.slice(this.mount.keyPrefix.length).replace(/\/$/, "");
    return validBelow(this.root, relative);
  }

  /** A listing name: `key` relative to `prefix` (a directory's keys), if it is a valid path there. */
  nameOf(key: string, prefix: string): string | null {
    // Every prefix lies within the key prefix, so pathOf checks all of the name.
    if (!key.startsWith(prefix) || this.pathOf(key) === null) return null;
    return key.slice(prefix.length).replace(/\/$/, "");
  }

  /** The entry of an object at `absolutePath`, shown as `path` (a listing's relative name). */
  fileEntry(o: StoredObject, absolutePath: string, path = absolutePath): FileEntry {
    return {
      path,
      absolutePath,
      type: "file",
      size: o.size,
      mtime: o.lastModified,
      etag: o.etag,
    };
  }

  /** S3 keeps no times for implied directories: they show the mount's creation time. */
  dirEntry(absolutePath: string, path = absolutePath): FileEntry {
    return { path, absolutePath, type: "directory", size: 0, mtime: this.mount.createdAt };
  }
}

/** `dir`/`relative` when every segment of `relative` is a valid path segment, else null. */
function validBelow(dir: FsPath, relative: string): FsPath | null {
  if (relative === "") return dir;
  if (relative.split("/").includes("")) return null;
  try {
    // parsePath applies the segment and length rules (and throws EINVAL).
    return parsePath(joinPath(dir, relative));
  } catch {
    return null;
  }
}
