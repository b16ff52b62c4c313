/**
 * Bookkeeping of stored bytes inside a ShareDO: R2 blobs (reference counts,
 * writes in flight, the GC queue) and inline data (reference-counted rows in
 * SQLite). Every method is synchronous SQL, so callers can compose them
 * inside one transaction with the tree change they belong to.
 */
export interface DueGc {
  key: string;
  uploadId: string | null;
}

export class BlobLedger {
  constructor(private readonly sql: SqlStorage) {}

  /** Records a reserved blob; reclaimed at `expiresAt` unless committed. */
  reserve(blobId: string, shareId: string, key: string, expiresAt: number): void {
    this.sql.exec(
      "INSERT INTO pending (blob_id, share_id, key, expires_at) VALUES (?, ?, ?, ?)",
      blobId,
      shareId,
      key,
      expiresAt,
    );
  }

  /** Remembers the multipart upload behind a pending blob, so GC can abort it. */
  attachUpload(blobId: string, uploadId: string): boolean {
    return (
      this.sql.exec("UPDATE pending SET upload_id = ? WHERE blob_id = ?", uploadId, blobId)
        .rowsWritten > 0
    );
  }

  /** Turns a pending blob into a committed one with one reference. */
  claim(blobId: string, shareId: string): { key: string } | undefined {
    const row = this.sql
      .exec<{ key: string }>(
        "DELETE FROM pending WHERE blob_id = ? AND share_id = ? RETURNING key",
        blobId,
        shareId,
      )
      .toArray()[0];
    if (!row) return undefined;
    this.sql.exec("INSERT INTO blobs (id, key, refs) VALUES (?, ?, 1)", blobId, row.key);
    return row;
  }

  /** A write that will not commit: its blob can go at once (no reader ever saw it). */
  abandon(blobId: string, now: number): void {
    const row = this.sql
      .exec<{ key: string; upload_id: string | null }>(
        "DELETE FROM pending WHERE blob_id = ? RETURNING key, upload_id",
        blobId,
      )
      .toArray()[0];
    if (row) this.enqueue(row.key, row.upload_id, now);
  }

  addRef(blobId: string, count = 1): void {
    this.sql.exec("UPDATE blobs SET refs = refs + ? WHERE id = ?", count, blobId);
  }

  /**
   * Drops `count` references; the last one queues the blob for deletion
   * after the grace period, so a reader that already resolved it can finish.
   */
  release(blobId: string, dueAt: number, count = 1): void {
    this.sql.exec("UPDATE blobs SET refs = refs - ? WHERE id = ?", count, blobId);
    this.sql.exec(
      "INSERT OR REPLACE INTO gc (key, upload_id, due_at) SELECT key, NULL, ? FROM blobs WHERE id = ? AND refs <= 0",
      dueAt,
      blobId,
    );
    this.sql.exec("DELETE FROM blobs WHERE id = ? AND refs <= 0", blobId);
  }

  /** Stores a small file's bytes with one reference; returns the row to point at. */
  keepInline(data: ArrayBuffer): number {
    return this.sql
      .exec<{ id: number }>("INSERT INTO inline_data (refs, data) VALUES (1, ?) RETURNING id", data)
      .one().id;
  }

  addInlineRef(id: number, count = 1): void {
    this.sql.exec("UPDATE inline_data SET refs = refs + ? WHERE id = ?", count, id);
  }

  /**
   * Drops one reference to inline bytes; the last one frees them at once (a
   * read returns inline bytes within its object call, so none can be in flight).
   */
  releaseInline(id: number, count = 1): void {
    this.sql.exec("UPDATE inline_data SET refs = refs - ? WHERE id = ?", count, id);
    this.sql.exec("DELETE FROM inline_data WHERE id = ? AND refs <= 0", id);
  }

  /** Every write in flight is abandoned (share deletion): blobs due at `dueAt`. */
  abandonAll(dueAt: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO gc (key, upload_id, due_at) SELECT key, upload_id, ? FROM pending",
      dueAt,
    );
    this.sql.exec("DELETE FROM pending");
  }

  enqueue(key: string, uploadId: string | null, dueAt: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO gc (key, upload_id, due_at) VALUES (?, ?, ?)",
      key,
      uploadId,
      dueAt,
    );
  }

  /** Moves writes whose reservation expired into the GC queue, due now. */
  expirePending(now: number): number {
    const expired = this.sql
      .exec<{ key: string; upload_id: string | null }>(
        "DELETE FROM pending WHERE expires_at <= ? RETURNING key, upload_id",
        now,
      )
      .toArray();
    for (const row of expired) this.enqueue(row.key, row.upload_id, now);
    return expired.length;
  }

  /** Up to `limit` GC items that are due. */
  due(now: number, limit: number): DueGc[] {
    return this.sql
      .exec<{ key: string; upload_id: string | null }>(
        "SELECT key, upload_id FROM gc WHERE due_at <= ? ORDER BY due_at LIMIT ?",
        now,
        limit,
      )
      .toArray()
      .map((r) => ({ key: r.key, uploadId: r.upload_id }));
  }

  /** GC items R2 could not free yet: due again at `dueAt`. */
  postpone(keys: string[], dueAt: number): void {
    for (const key of keys) this.sql.exec("UPDATE gc SET due_at = ? WHERE key = ?", dueAt, key);
  }

  /** Forgets GC items once R2 confirmed their deletion. */
  done(keys: string[]): void {
    for (const key of keys) this.sql.exec("DELETE FROM gc WHERE key = ?", key);
  }

  /** The earliest moment anything here needs the alarm, or null. */
  nextDue(): number | null {
    const row = this.sql
      .exec<{ t: number | null }>(
        "SELECT MIN(t) AS t FROM (SELECT MIN(due_at) AS t FROM gc UNION ALL SELECT MIN(expires_at) FROM pending)",
      )
      .toArray()[0];
    return row?.t ?? null;
  }

  counts(): { blobs: number; pending: number; gc: number } {
    const one = (q: string) => this.sql.exec<{ n: number }>(q).one().n;
    return {
      blobs: one("SELECT COUNT(*) AS n FROM blobs"),
      pending: one("SELECT COUNT(*) AS n FROM pending"),
      gc: one("SELECT COUNT(*) AS n FROM gc"),
    };
  }
}
