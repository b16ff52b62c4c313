/**
 * Which versions of a share can still be read, and so which dead rows must
 * stay. A version V is readable while it was the share's state within the
 * retention window (the change after it committed less than
 * `retentionMs` ago), or while something pins it: a snapshot, or a copy
 * job reading its source as of V.
 *
 * The window's edge is the floor: the newest version committed before
 * `now - retentionMs` (with no retention, the latest version). Versions at
 * or above the floor are readable; a row dead since version d is needed
 * by some readable version exactly when d > floor, or when a pin falls in
 * the versions it was live in.
 */
export const PINS = "(SELECT version FROM copy_jobs UNION ALL SELECT version FROM snapshots)";

export class VersionWindow {
  constructor(
    private readonly sql: SqlStorage,
    readonly retentionMs: number,
  ) {}

  latest(): number {
    return this.sql
      .exec<{ value: number }>("SELECT value FROM counters WHERE name = 'version'")
      .one().value;
  }

  /** Records when a version committed (retention is by time). */
  committed(version: number, at: number): void {
    if (this.retentionMs === 0) return;
    this.sql.exec("INSERT OR REPLACE INTO versions (version, at) VALUES (?, ?)", version, at);
  }

  floor(now: number): number {
    if (this.retentionMs === 0) return this.latest();
    const inWindow =
      this.sql
        .exec<{ v: number | null }>(
          "SELECT max(version) AS v FROM versions WHERE at < ?",
          now - this.retentionMs,
        )
        .one().v ?? 0;
    return Math.max(inWindow, this.droppedAt());
  }

  /**
   * The share was deleted (or expired) at this version: no version up to it
   * is readable any more, whatever the window, so all of it may go.
   */
  dropped(version: number): void {
    this.sql.exec("INSERT OR REPLACE INTO counters (name, value) VALUES ('dropped', ?)", version);
    this.sql.exec("DELETE FROM versions WHERE version <= ?", version);
  }

  private droppedAt(): number {
    return (
      this.sql
        .exec<{ value: number }>("SELECT value FROM counters WHERE name = 'dropped'")
        .toArray()[0]?.value ?? 0
    );
  }

  /** Whether a row born at `born` may still be read by someone once a change replaces it. */
  keepsReplaced(born: number): boolean {
    // What a dropped share held (born before the drop) no reader reaches again.
    if (born < this.droppedAt()) return false;
    if (this.retentionMs > 0) return true;
    return (
      this.sql.exec(`SELECT 1 FROM ${PINS} WHERE version >= ? LIMIT 1`, born).toArray().length > 0
    );
  }

  /** Whether version `v` is readable now (it is a version of this incarnation of the share). */
  readable(v: number, firstVersion: number, now: number): boolean {
    if (v < firstVersion || v > this.latest()) return false;
    if (v >= this.floor(now)) return true;
    return this.sql.exec(`SELECT 1 FROM ${PINS} WHERE version = ? LIMIT 1`, v).toArray().length > 0;
  }

  /** When the next version leaves the window (the floor moves up), or null. */
  nextExpiry(now: number): number | null {
    if (this.retentionMs === 0) return null;
    const row = this.sql
      .exec<{ at: number | null }>(
        "SELECT min(at) AS at FROM versions WHERE at >= ?",
        now - this.retentionMs,
      )
      .one();
    return row.at === null ? null : row.at + this.retentionMs;
  }

  /** Forgets commit times below the floor that nothing pins: they can no longer matter. */
  forget(now: number): void {
    if (this.retentionMs === 0) return;
    const floor = this.floor(now);
    this.sql.exec(`DELETE FROM versions WHERE version < ? AND version NOT IN ${PINS}`, floor);
  }
}
