import type { KeyTarget } from "../core/backend";
import { type ErrorBody, FsError } from "../core/errors";
import { type FsPath, parentOf, ROOT } from "../core/paths";
import type { Live, ShareState } from "./share-state";

/** What became of one key: removed, not there (no error in S3), or refused. */
export type KeyRemoval = { removed: boolean } | { error: ErrorBody };

/**
 * S3's deletes on share storage, many keys in one change (one version for
 * the lot, one Durable Object call for up to 1,000 keys):
 * - a file's key removes that file; a directory of that name is not it;
 * - a directory's key removes the directory only when it is empty (its
 *   files still imply it otherwise) and never a bucket mount point;
 * - a missing key is no error (S3 deletes are idempotent);
 * - directories left empty above a removed entry go too, as prefixes
 *   vanish in S3 with their last object — up to the first that still holds
 *   something, is a mount point, or is leased;
 * - a key refused (a lease, a mount) is reported and the others go on.
 * Each check comes before its key changes anything, so a refusal leaves
 * that key as it was.
 */
export function removeKeys(
  s: ShareState,
  { now }: Live,
  keys: readonly KeyTarget[],
  held: readonly string[],
): KeyRemoval[] {
  const grace = s.graceUntil(now);
  const removable = (path: FsPath): boolean => {
    if (path === ROOT || s.mounts.get(path)) return false;
    const row = s.tree.get(path);
    return row !== undefined && !(row.type === "directory" && s.tree.hasChildren(path));
  };
  return keys.map(({ path, directory }) => {
    try {
      const row = s.tree.get(path);
      if (!row || (row.type === "directory") !== directory || !removable(path)) {
        return { removed: false };
      }
      s.mounts.refuseChange(path, true);
      s.leases.checkWrite([{ path, subtree: true }], held, now);
      s.tree.remove(path, false, grace);
      s.feed.delete(path, row.type, false, now);
      for (let dir = parentOf(path); removable(dir); dir = parentOf(dir)) {
        try {
          s.leases.checkWrite([{ path: dir, subtree: true }], held, now);
        } catch {
          break;
        }
        s.tree.remove(dir, false, grace);
        s.feed.delete(dir, "directory", false, now);
      }
      return { removed: true };
    } catch (e) {
      if (e instanceof FsError) return { error: e.toJSON() };
      throw e;
    }
  });
}
