import type { Overwrite } from "../core/backend";
import type { NodeRow, NodeStore } from "./node-store";
import type { PropertyTable } from "./property-table";
import type { TreeUsage, Usage } from "./tree-usage";

/** A recursive copy in progress: its source as of `version`, built under `staging`. */
export interface CopyJob {
  id: number;
  version: number;
  /**
   * The version the copy's rows are born at: the one its start would have
   * made (no reader sees them before the link, which comes no earlier), so
   * no pin at or before `version` keeps them. Null in jobs from before
   * migration 13: born at `version`.
   */
  born: number | null;
  /**
   * A restore (reading an older version than the one it began in): it keeps
   * the old mtimes, reserves nothing up front (the old subtree's size is not
   * known without walking it) and is judged against quotas when it links.
   */
  restore: number;
  /** The node copied, and the new directory its copy is built in (not in the tree yet). */
  source: number;
  staging: number;
  to_path: string;
  overwrite: string;
  /** The lease ids the copy's request held, judged again when the copy is linked. */
  held: string;
  /** Where the copy comes from, for its event in the change feed (null in jobs from before the feed). */
  from_path: string | null;
  files: number;
  dirs: number;
  bytes: number;
  inline_bytes: number;
  created_at: number;
  [key: string]: SqlStorageValue;
}

interface QueueRow {
  job: number;
  source: number;
  target: number;
  chain: string;
  after: string;
  [key: string]: SqlStorageValue;
}

export const overwriteOf = (job: CopyJob): Overwrite =>
  job.overwrite === "any" ? "any" : job.overwrite === "1";

/**
 * Recursive copies in bounded batches. A copy job pins the version it
 * started at: it reads its source as it was then (rows later changes
 * replace stay, dead, until it ends: node-store.ts), so the copy is that
 * exact tree whatever writers do meanwhile. It builds the copy under a
 * staging directory no path reaches; the last step links that directory
 * at its destination in one row update, so every reader sees the whole
 * copy at once, or nothing. A directory's queue entry records how far its
 * listing got, so a batch resumes where the last one committed.
 */
export class TreeCopy {
  constructor(
    private readonly sql: SqlStorage,
    private readonly nodes: NodeStore,
    private readonly usage: TreeUsage,
    private readonly props: PropertyTable,
  ) {}

  /**
   * Starts copying directory `source` as it is now, whose subtree holds
   * `totals`; they stay reserved against the quota until the copy links.
   * With `from`, a restore: `source` is the directory as it was at that
   * older version, which the job reads and pins.
   */
  start(
    source: NodeRow,
    toPath: string,
    overwrite: Overwrite,
    held: readonly string[],
    totals: Usage,
    now: number,
    from?: number,
  ): CopyJob {
    // Starting makes no version: nothing any reader sees changes until the link.
    const born = this.nodes.next();
    const staging = this.nodes.allocate();
    const job = this.sql
      .exec<CopyJob>(
        `INSERT INTO copy_jobs (version, born, restore, source, staging, to_path, overwrite, held,
           files, dirs, bytes, inline_bytes, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        from ?? this.nodes.current(),
        born,
        from === undefined ? 0 : 1,
        source.id,
        staging,
        toPath,
        overwrite === "any" ? "any" : overwrite ? "1" : "0",
        JSON.stringify(held),
        totals.files,
        totals.dirs,
        totals.bytes,
        totals.inlineBytes,
        now,
      )
      .one();
    this.nodes.insert(
      staging,
      -job.id,
      source.name,
      {
        type: "directory",
        size: 0,
        mtime: now,
        etag: null,
        blob_id: null,
        inline_id: null,
        attrs: null,
      },
      born,
    );
    this.usage.open(staging);
    this.props.copyNode(source.id, staging);
    this.sql.exec(
      "INSERT INTO copy_queue (job, source, target, chain, after) VALUES (?, ?, ?, ?, '')",
      job.id,
      source.id,
      staging,
      JSON.stringify([staging]),
    );
    return job;
  }

  /** What copies in progress will add when they link: counted against quotas already. */
  reserved(): Usage {
    const r = this.sql
      .exec<{ files: number; dirs: number; bytes: number; inline_bytes: number }>(
        `SELECT coalesce(sum(files), 0) AS files, coalesce(sum(dirs), 0) AS dirs,
           coalesce(sum(bytes), 0) AS bytes, coalesce(sum(inline_bytes), 0) AS inline_bytes
         FROM copy_jobs`,
      )
      .one();
    return { files: r.files, dirs: r.dirs, bytes: r.bytes, inlineBytes: r.inline_bytes };
  }

  job(id: number): CopyJob | undefined {
    return this.sql.exec<CopyJob>("SELECT * FROM copy_jobs WHERE id = ?", id).toArray()[0];
  }

  /** Where job `id` copies from: its change-feed event names it when the job links. */
  remember(id: number, from: string): void {
    this.sql.exec("UPDATE copy_jobs SET from_path = ? WHERE id = ?", from, id);
  }

  pending(): boolean {
    return this.sql.exec("SELECT 1 FROM copy_jobs LIMIT 1").toArray().length > 0;
  }

  /**
   * Copies up to `budget` rows (of job `only`, or of any job). Returns the
   * rows spent and the jobs whose copy is complete, ready to link.
   */
  step(budget: number, only?: number): { spent: number; complete: CopyJob[] } {
    let spent = 0;
    while (spent < budget) {
      const q = this.sql
        .exec<QueueRow>(
          `SELECT job, source, target, chain, after FROM copy_queue
           WHERE ? IS NULL OR job = ? ORDER BY job, source LIMIT 1`,
          only ?? null,
          only ?? null,
        )
        .toArray()[0];
      if (!q) break;
      const job = this.job(q.job) as CopyJob;
      const want = budget - spent;
      const rows = this.nodes.childrenAt(q.source, job.version, q.after, want);
      const chain = JSON.parse(q.chain) as number[];
      this.copyRows(job, q.target, chain, rows);
      spent += rows.length + 1;
      const last = rows[rows.length - 1];
      if (rows.length < want || !last) {
        this.sql.exec("DELETE FROM copy_queue WHERE job = ? AND source = ?", q.job, q.source);
      } else {
        this.sql.exec(
          "UPDATE copy_queue SET after = ? WHERE job = ? AND source = ?",
          last.name,
          q.job,
          q.source,
        );
      }
    }
    // Every job with nothing left to copy, not only those this step touched:
    // a link that failed with a bug is retried by the next run, never stuck.
    const complete = this.sql
      .exec<CopyJob>(
        `SELECT * FROM copy_jobs j WHERE (? IS NULL OR j.id = ?)
         AND NOT EXISTS (SELECT 1 FROM copy_queue q WHERE q.job = j.id) ORDER BY j.id`,
        only ?? null,
        only ?? null,
      )
      .toArray();
    return { spent, complete };
  }

  /**
   * Copies rows into directory `target` (whose ancestors in the staging
   * tree are `chain`): a few set-wise statements per batch, not a few per row.
   * A copy's rows are modified when it started; a restore's keep their mtimes.
   */
  private copyRows(job: CopyJob, target: number, chain: number[], rows: readonly NodeRow[]): void {
    if (rows.length === 0) return;
    const first = this.nodes.allocate(rows.length);
    const plan = rows.map((r, i) => ({ ...r, src: r.id, id: first + i }));
    this.sql.exec(
      `INSERT INTO nodes (id, parent, name, born, type, size, mtime, etag, blob_id, inline_id, attrs)
       SELECT value->>'id', ?, value->>'name', ?, value->>'type', value->>'size',
         coalesce(?, value->>'mtime'), value->>'etag', value->>'blob_id', value->>'inline_id',
         value->>'attrs'
       FROM json_each(?)`,
      target,
      job.born ?? job.version,
      job.restore ? null : job.created_at,
      JSON.stringify(plan),
    );
    const blobs = new Map<string, number>();
    const inline = new Map<number, number>();
    for (const r of rows) {
      if (r.blob_id) blobs.set(r.blob_id, (blobs.get(r.blob_id) ?? 0) + 1);
      if (r.inline_id !== null) inline.set(r.inline_id, (inline.get(r.inline_id) ?? 0) + 1);
    }
    for (const [id, n] of blobs) this.nodes.addRefs({ blob_id: id, inline_id: null }, n);
    for (const [id, n] of inline) this.nodes.addRefs({ blob_id: null, inline_id: id }, n);
    this.props.copyNodes(plan.map((p) => [p.src, p.id]));
    const dirs = plan.filter((p) => p.type === "directory");
    if (dirs.length > 0) {
      const ids = JSON.stringify(dirs.map((d) => d.id));
      this.sql.exec("INSERT OR IGNORE INTO dir_usage (id) SELECT value FROM json_each(?)", ids);
      this.sql.exec(
        `INSERT INTO copy_queue (job, source, target, chain, after)
         SELECT ?, value->>'src', value->>'id', json_insert(?, '$[#]', value->>'id'), ''
         FROM json_each(?)`,
        job.id,
        JSON.stringify(chain),
        JSON.stringify(dirs.map((d) => ({ src: d.src, id: d.id }))),
      );
    }
    const files = rows.filter((r) => r.type === "file");
    this.usage.add(chain, {
      files: files.length,
      dirs: dirs.length,
      bytes: files.reduce((n, r) => n + r.size, 0),
      inlineBytes: files.reduce((n, r) => n + (r.inline_id !== null ? r.size : 0), 0),
    });
  }

  /** The job is over (linked or given up): its pin and reservation go. */
  end(job: CopyJob): void {
    this.sql.exec("DELETE FROM copy_queue WHERE job = ?", job.id);
    this.sql.exec("DELETE FROM copy_jobs WHERE id = ?", job.id);
  }
}
