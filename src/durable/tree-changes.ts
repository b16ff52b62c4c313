import type { Overwrite } from "../core/backend";
import type { FsPath } from "../core/paths";
import type { PropertyChange } from "../core/properties";
import type { FileEntry } from "../core/types";
import type { CopyOutcome } from "./file-tree";
import type { At, Live, ShareState } from "./share-state";
import type { CopyJob } from "./tree-copy";

/**
 * Changes of a share's namespace that move no bytes: directories, deletes,
 * moves, copies and dead properties. Each runs inside the ShareDO's change
 * guard, and each first refuses what share storage may not do: change what
 * a bucket mount shows, or what a lease the request does not hold protects.
 */
export class TreeChanges {
  constructor(private readonly s: ShareState) {}

  mkdir(
    { now }: Live,
    path: FsPath,
    held: readonly string[],
  ): { entry: FileEntry; created: boolean } {
    this.s.mounts.refuseChange(path, false);
    this.s.leases.checkWrite([{ path, subtree: false }], held, now);
    const created = this.s.tree.mkdir(path, now);
    if (created) this.s.feed.mkdir(path, now);
    return { entry: this.s.tree.entry(path), created };
  }

  /** `dropLeases`: the leases on what is removed go in the same transaction. */
  remove(
    { now }: Live,
    path: FsPath,
    recursive: boolean,
    held: readonly string[],
    dropLeases: boolean,
  ): void {
    this.s.mounts.refuseChange(path, true);
    this.s.leases.checkWrite([{ path, subtree: true }], held, now);
    const type = this.s.tree.get(path)?.type;
    this.s.tree.remove(path, recursive, this.s.graceUntil(now));
    if (type) this.s.feed.delete(path, type, recursive, now);
    if (dropLeases) this.s.leases.releaseWithin(path);
  }

  move(
    { now }: Live,
    from: FsPath,
    to: FsPath,
    overwrite: Overwrite,
    held: readonly string[],
    dropLeases: boolean,
  ): FileEntry {
    this.s.mounts.refuseChange(from, true);
    this.s.mounts.refuseChange(to, true);
    const targets = [
      { path: from, subtree: true },
      { path: to, subtree: true },
    ];
    this.s.leases.checkWrite(targets, held, now);
    const moved = this.s.tree.move(from, to, overwrite, now, this.s.graceUntil(now));
    if (from !== to) this.s.feed.relocated("move", from, moved, now);
    if (dropLeases && from !== to) this.s.leases.releaseWithin(from);
    return moved;
  }

  /** A small subtree is copied now; a bigger one becomes a job the caller waits for (tree-copy.ts). */
  copy(
    { now }: Live,
    from: FsPath,
    to: FsPath,
    opts: { recursive: boolean; overwrite: Overwrite; attrs?: string | null },
    held: readonly string[],
  ): CopyOutcome {
    this.s.mounts.refuseChange(to, true);
    this.s.leases.checkWrite([{ path: to, subtree: true }], held, now);
    return this.recorded(
      "copy",
      from,
      this.s.tree.copy(from, to, opts, held, now, this.s.graceUntil(now)),
      now,
    );
  }

  /**
   * Brings back `from` as it was at `version` (resolved readable) at `to`
   * (default: where it was), replacing what is there: a write of `to`.
   */
  restore(
    { now }: Live,
    from: FsPath,
    version: number,
    to: FsPath,
    held: readonly string[],
  ): CopyOutcome {
    this.s.mounts.refuseChange(to, true);
    this.s.leases.checkWrite([{ path: to, subtree: true }], held, now);
    return this.recorded(
      "restore",
      from,
      this.s.tree.restore(from, version, to, held, now, this.s.graceUntil(now)),
      now,
    );
  }

  /**
   * A copy or restore done now is an event now; one that became a job is
   * one when it links, and its job remembers where it came from for that.
   */
  private recorded(
    op: "copy" | "restore",
    from: FsPath,
    outcome: CopyOutcome,
    now: number,
  ): CopyOutcome {
    if (outcome.entry) this.s.feed.relocated(op, from, outcome.entry, now);
    if (outcome.job) this.s.copies.remember(outcome.job.id, from);
    return outcome;
  }

  /**
   * Links a copy job whose rows are all built, judging the destination's
   * mounts and leases again (they may have changed while it ran).
   */
  linkCopy({ now }: At, job: CopyJob): FileEntry {
    const to = job.to_path as FsPath;
    this.s.mounts.refuseChange(to, true);
    this.s.leases.checkWrite([{ path: to, subtree: true }], JSON.parse(job.held) as string[], now);
    const entry = this.s.tree.linkCopy(job, now, this.s.graceUntil(now));
    const op = job.restore ? "restore" : "copy";
    this.s.feed.relocated(op, (job.from_path ?? to) as FsPath, entry, now);
    return entry;
  }

  /** Sets and removes properties of an existing entry, all or none; a write for leases. */
  patchProperties(
    { now }: Live,
    path: FsPath,
    changes: PropertyChange[],
    held: readonly string[],
  ): void {
    this.s.mounts.refuseChange(path, false);
    const node = this.s.tree.require(path);
    this.s.leases.checkWrite([{ path, subtree: false }], held, now);
    this.s.props.apply(node.id, path, changes);
  }
}
