import type { BlobLedger } from "./blob-ledger";
import type { NodeRow } from "./node-store";
import type { PropertyTable } from "./property-table";
import type { TreeUsage } from "./tree-usage";
import { PINS, type VersionWindow } from "./version-window";

/** A row being freed, with the history bytes it counts (`nodes.history`: dead rows only). */
type ReclaimRow = Pick<
  NodeRow,
  "row" | "id" | "type" | "size" | "died" | "blob_id" | "inline_id"
> & {
  history: number;
};

const RECLAIM_COLUMNS = "row, id, type, size, died, blob_id, inline_id, history";

interface DoomedDir {
  id: number;
  died: number;
  born: number;
  blobs_due_at: number;
  /** 1: readers may still need the subtree, so its files count as history bytes. */
  kept: number;
  [key: string]: SqlStorageValue;
}

/**
 * The physical half of deleting: rows no reader can reach any more, freed
 * in batches of a fixed number of rows. A recursive delete (or a share
 * delete, or an ephemeral share's expiry) only unlinks the subtree's top
 * and queues it in `doomed`: readers stop seeing it in that transaction.
 * Then each batch takes rows below queued directories, queues the
 * directories among them, and deletes them with their references to
 * blobs and inline bytes — all in one transaction, so a crash between
 * batches loses nothing and frees nothing twice: every row is deleted
 * exactly once, together with the one reference it held.
 *
 * Dead rows that a reader of an older version might still need
 * (node-store.ts) are pruned here too, once no readable version or pin
 * needs them (version-window.ts).
 */
export class TreeReclaim {
  constructor(
    private readonly sql: SqlStorage,
    private readonly ledger: BlobLedger,
    private readonly usage: TreeUsage,
    private readonly props: PropertyTable,
    private readonly window: VersionWindow,
  ) {}

  /**
   * Queues a directory whose subtree left the tree in version `died`; its
   * blobs may be deleted from `blobsDueAt` on (readers that resolved one
   * before the delete finish first), however late the batch runs. Readers
   * of versions from the directory's first row on may still need it: then
   * the bytes of its files count as history bytes until they are freed.
   */
  doom(dirId: number, died: number, blobsDueAt: number, bornHint: number, unseen = false): void {
    const born = Math.min(this.oldestBelow(dirId) ?? bornHint, bornHint);
    // A tree no version ever showed (a copy's staging tree) is kept for no one.
    const kept = !unseen && this.window.keepsReplaced(born);
    const queued = this.sql.exec(
      "INSERT OR IGNORE INTO doomed (id, died, blobs_due_at, born, kept) VALUES (?, ?, ?, ?, ?)",
      dirId,
      died,
      blobsDueAt,
      born,
      kept ? 1 : 0,
    ).rowsWritten;
    if (kept && queued > 0) this.usage.history.add(this.usage.of(dirId).bytes);
  }

  /**
   * The oldest version a reader may need anything of directory `dirId`'s
   * subtree at: its own first row, or an older directory moved in below it
   * (`dir_usage.oldest`), whose rows keep the versions they were born at.
   */
  private oldestBelow(dirId: number): number | null {
    return this.sql
      .exec<{ b: number | null }>(
        `SELECT min(b) AS b FROM (SELECT min(born) AS b FROM nodes WHERE id = ?1
           UNION ALL SELECT oldest FROM dir_usage WHERE id = ?1)`,
        dirId,
      )
      .one().b;
  }

  /**
   * Directory `dir` moved below the directories `chain`: what they hold now
   * reaches back as far as it does, so a later `rm -r` of one of them keeps
   * its subtree for readers of those versions too. O(depth).
   */
  movedIn(chain: readonly number[], dir: number): void {
    const oldest = this.oldestBelow(dir);
    if (oldest === null || chain.length === 0) return;
    this.sql.exec(
      `UPDATE dir_usage SET oldest = min(coalesce(oldest, ?1), ?1)
       WHERE id IN (SELECT value FROM json_each(?2))`,
      oldest,
      JSON.stringify(chain),
    );
  }

  /** Whether a batch would find anything to do now. */
  pending(now: number): boolean {
    const floor = this.window.floor(now);
    return this.nextDoomed(floor) !== undefined || this.prunable(floor, 1).length > 0;
  }

  /** When background reclaim is next due: now, when the window lets more go, or never. */
  nextDue(now: number): number | null {
    if (this.pending(now)) return now;
    const floor = this.window.floor(now);
    const waiting =
      this.sql.exec("SELECT 1 FROM doomed WHERE died > ? LIMIT 1", floor).toArray().length > 0 ||
      this.sql
        .exec("SELECT 1 FROM nodes WHERE died IS NOT NULL AND died > ? LIMIT 1", floor)
        .toArray().length > 0;
    return waiting ? this.window.nextExpiry(now) : null;
  }

  /** The newest doomed directory no readable version or pin needs any more. */
  private nextDoomed(floor: number): DoomedDir | undefined {
    return this.sql
      .exec<DoomedDir>(
        `SELECT id, died, born, blobs_due_at, kept FROM doomed d WHERE died <= ?
         AND NOT EXISTS (SELECT 1 FROM ${PINS} p WHERE p.version >= d.born AND p.version < d.died)
         ORDER BY died DESC, id DESC LIMIT 1`,
        floor,
      )
      .toArray()[0];
  }

  /** Dead rows out of the window that no pin falls within. */
  private prunable(floor: number, limit: number): ReclaimRow[] {
    return this.sql
      .exec<ReclaimRow>(
        `SELECT ${RECLAIM_COLUMNS} FROM nodes n
         WHERE died IS NOT NULL AND died <= ?
         AND NOT EXISTS (SELECT 1 FROM ${PINS} p WHERE p.version >= n.born AND p.version < n.died)
         ORDER BY died LIMIT ?`,
        floor,
        limit,
      )
      .toArray();
  }

  /**
   * Frees up to `budget` rows (old versions pruned now have their blobs
   * due at `graceUntil`). Newest deletions first, so the subtree a
   * change just unlinked is the first to go (a small one finishes within
   * the change itself). Returns the rows spent; less than the budget means
   * nothing eligible is left.
   */
  step(budget: number, graceUntil: number, now = Date.now()): number {
    const floor = this.window.floor(now);
    let spent = 0;
    while (spent < budget) {
      const dir = this.nextDoomed(floor);
      if (!dir) break;
      const want = budget - spent;
      // Live rows and dead ones, each through its own partial index (no scan).
      const rows = this.sql
        .exec<ReclaimRow>(
          `SELECT ${RECLAIM_COLUMNS} FROM nodes WHERE parent = ? AND died IS NULL LIMIT ?`,
          dir.id,
          want,
        )
        .toArray();
      if (rows.length < want) {
        rows.push(
          ...this.sql
            .exec<ReclaimRow>(
              `SELECT ${RECLAIM_COLUMNS} FROM nodes WHERE parent = ? AND died IS NOT NULL LIMIT ?`,
              dir.id,
              want - rows.length,
            )
            .toArray(),
        );
      }
      // A live row below a doomed directory is orphaned with it; a dead one
      // is an old version whose node lives on elsewhere or has its own entry.
      const orphans = rows.filter((r) => r.died === null);
      const subdirs = orphans.filter((r) => r.type === "directory").map((r) => r.id);
      if (subdirs.length > 0) {
        this.sql.exec(
          `INSERT OR IGNORE INTO doomed (id, died, blobs_due_at, born, kept)
           SELECT value, ?, ?, ?, ? FROM json_each(?)`,
          dir.died,
          dir.blobs_due_at,
          dir.born,
          dir.kept,
          JSON.stringify(subdirs),
        );
      }
      this.props.dropNodes(orphans.filter((r) => r.type === "file").map((r) => r.id));
      this.free(rows, dir.blobs_due_at, dir.kept === 1);
      spent += rows.length;
      if (rows.length < want) {
        this.sql.exec("DELETE FROM doomed WHERE id = ?", dir.id);
        this.usage.forget(dir.id);
        this.props.dropNode(dir.id);
        spent++;
      }
    }
    if (spent < budget) {
      const rows = this.prunable(floor, budget - spent);
      this.free(rows, graceUntil, false);
      spent += rows.length;
    }
    if (spent < budget) this.window.forget(now);
    return spent;
  }

  /**
   * Deletes rows and the references they held, grouped per blob and inline
   * row, and the history bytes they counted: a dead row its own, a live
   * row of a kept doomed subtree (`orphansCounted`) its file's size.
   */
  private free(rows: readonly ReclaimRow[], graceUntil: number, orphansCounted: boolean): void {
    if (rows.length === 0) return;
    const blobs = new Map<string, number>();
    const inline = new Map<number, number>();
    for (const r of rows) {
      if (r.blob_id) blobs.set(r.blob_id, (blobs.get(r.blob_id) ?? 0) + 1);
      if (r.inline_id !== null) inline.set(r.inline_id, (inline.get(r.inline_id) ?? 0) + 1);
    }
    this.sql.exec(
      "DELETE FROM nodes WHERE row IN (SELECT value FROM json_each(?))",
      JSON.stringify(rows.map((r) => r.row)),
    );
    for (const [id, n] of blobs) this.ledger.release(id, graceUntil, n);
    for (const [id, n] of inline) this.ledger.releaseInline(id, n);
    let counted = 0;
    const heirsWanted: ReclaimRow[] = [];
    for (const r of rows) {
      if (r.type !== "file") continue;
      const own = r.died === null ? (orphansCounted ? r.size : 0) : r.history;
      counted += own;
      // A row that counted its version, or stood for it live, may leave an heir.
      if (own > 0 || r.died === null) heirsWanted.push(r);
    }
    this.usage.history.add(-counted);
    for (const r of heirsWanted) this.usage.history.handOff(r);
  }
}
