import type { ListedUpload, UploadPart, UploadStatus } from "../core/backend";
import { FsError, invalid } from "../core/errors";
import type { FsPath } from "../core/paths";
import type { WriteConditions } from "../core/preconditions";
import {
  checkDeclaredSize,
  chooseParts,
  declaredPartSize,
  MAX_OBJECT_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  type NamedPart,
  partsFor,
} from "../core/uploads";

export type { ListedUpload, UploadPart, UploadStatus };

/**
 * A part as the table keeps it: `etag` is what clients see (the quoted MD5
 * of its bytes), `r2Etag` what R2's complete needs, and `md5` the hex digest
 * the file's multipart ETag is made of (null for parts stored before
 * edgefs kept it; their `etag` is R2's then).
 */
export interface StoredPart extends UploadPart {
  r2Etag: string;
  md5: string | null;
}

/** A part the Worker streamed to R2: its size, R2's ETag and its MD5 (hex). */
export interface ReceivedPart {
  partNumber: number;
  size: number;
  r2Etag: string;
  md5: string;
}

/** What the Worker needs to move bytes for an upload (never sent to clients). */
export interface UploadTarget {
  uploadId: string;
  path: FsPath;
  blobId: string;
  key: string;
  r2UploadId: string;
  /** Absent when the client picks part sizes. */
  partSize?: number;
  conditions: WriteConditions;
  /** The attributes the file gets at completion, encoded (core/attributes.ts), or null. */
  attrs: string | null;
}

interface UploadRow {
  id: string;
  path: string;
  blob_id: string;
  key: string;
  r2_upload_id: string | null;
  /** Every part's size but the last's; 0 when the client picks (S3). */
  part_size: number;
  /** The declared file size, or null. */
  size: number | null;
  conditions: string;
  attrs: string | null;
  completing: number;
  created_at: number;
  expires_at: number;
  [key: string]: SqlStorageValue;
}

/**
 * Staged uploads (batch commits, docs/api.md "Batch commits"): an upload
 * created with `stage: true` has a row here; its `complete` stitches the
 * parts and records the size, but commits nothing — the blob stays
 * reserved (pending) until a batch commit's put op names the upload, or the
 * upload expires and GC reclaims it like any unfinished upload (the table
 * is migration 12 of schema.ts).
 */

/** A staged upload whose parts are stitched: what a batch commit needs to put it. */
export interface StagedBlob {
  uploadId: string;
  blobId: string;
  size: number;
}

/**
 * Multipart uploads in progress, in the ShareDO's SQLite: which parts have
 * arrived, so a client can resume; and the part-size rules, checked when a
 * part is announced, when it is recorded, and when the upload completes.
 */
export class UploadTable {
  constructor(private readonly sql: SqlStorage) {}

  create(
    u: {
      id: string;
      path: FsPath;
      blobId: string;
      key: string;
      partSize?: number;
      size?: number;
      conditions: WriteConditions;
      attrs: string | null;
    },
    now: number,
    expiresAt: number,
  ): void {
    if (u.size !== undefined) checkDeclaredSize(u.size, u.partSize ?? MAX_PART_SIZE);
    this.sql.exec(
      `INSERT INTO uploads (id, path, blob_id, key, r2_upload_id, part_size, size, conditions, attrs, completing, created_at, expires_at)
       VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, 0, ?, ?)`,
      u.id,
      u.path,
      u.blobId,
      u.key,
      u.partSize ?? 0,
      u.size ?? null,
      JSON.stringify(u.conditions),
      u.attrs,
      now,
      expiresAt,
    );
  }

  attach(id: string, r2UploadId: string): UploadRow {
    const row = this.row(id, Date.now());
    this.sql.exec("UPDATE uploads SET r2_upload_id = ? WHERE id = ?", r2UploadId, id);
    return { ...row, r2_upload_id: r2UploadId };
  }

  /** The live upload, or ENOENT (unknown, finished, aborted or expired). */
  row(id: string, now: number): UploadRow {
    const row = this.sql
      .exec<UploadRow>("SELECT * FROM uploads WHERE id = ? AND expires_at > ?", id, now)
      .toArray()[0];
    if (!row) throw new FsError("ENOENT", "no such upload: it finished, was aborted or expired");
    return row;
  }

  target(row: UploadRow): UploadTarget {
    if (row.r2_upload_id === null) throw new FsError("ENOENT", "the upload was never started");
    const target: UploadTarget = {
      uploadId: row.id,
      path: row.path as FsPath,
      blobId: row.blob_id,
      key: row.key,
      r2UploadId: row.r2_upload_id,
      conditions: JSON.parse(row.conditions) as WriteConditions,
      attrs: row.attrs,
    };
    if (row.part_size > 0) target.partSize = row.part_size;
    return target;
  }

  /** The parts received, by number. */
  storedParts(id: string): StoredPart[] {
    return this.sql
      .exec<{ part_number: number; size: number; etag: string; md5: string | null }>(
        "SELECT part_number, size, etag, md5 FROM upload_parts WHERE upload_id = ? ORDER BY part_number",
        id,
      )
      .toArray()
      .map((p) => ({
        partNumber: p.part_number,
        size: p.size,
        etag: p.md5 === null ? p.etag : `"${p.md5}"`,
        r2Etag: p.etag,
        md5: p.md5,
      }));
  }

  /** The parts received, as clients see them. */
  parts(id: string): UploadPart[] {
    return this.storedParts(id).map(({ partNumber, size, etag }) => ({ partNumber, size, etag }));
  }

  status(id: string, now: number): UploadStatus {
    const row = this.row(id, now);
    const parts = this.parts(id);
    return {
      ...listed(row),
      received: parts.reduce((n, p) => n + p.size, 0),
      parts,
    };
  }

  /**
   * Open uploads whose key (path without its leading "/") starts with
   * `prefix`, by key then id, after `after`; staged uploads and ones never
   * started in R2 are not listed. One row more than `limit` is read, to
   * know whether a next page exists.
   */
  list(
    query: { prefix: string; after?: { path: string; uploadId?: string }; limit: number },
    now: number,
  ): { uploads: ListedUpload[]; next?: { path: string; uploadId: string } } {
    const prefix = `/${query.prefix}`;
    const afterPath = query.after ? `/${query.after.path}` : "";
    // Without an upload id, every upload of the key is passed: ids are hex, so none sorts after "~".
    const afterId = query.after?.uploadId ?? "~";
    const rows = this.sql
      .exec<UploadRow>(
        `SELECT * FROM uploads
         WHERE path >= ? AND substr(path, 1, length(?)) = ? AND (path > ? OR (path = ? AND id > ?))
           AND expires_at > ? AND r2_upload_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM staged_uploads s WHERE s.upload_id = uploads.id)
         ORDER BY path, id LIMIT ?`,
        prefix,
        prefix,
        prefix,
        afterPath,
        afterPath,
        afterId,
        now,
        query.limit + 1,
      )
      .toArray();
    const page = rows.slice(0, query.limit).map(listed);
    const last = page[page.length - 1];
    if (rows.length <= query.limit || !last) return { uploads: page };
    return { uploads: page, next: { path: last.path.slice(1), uploadId: last.uploadId } };
  }

  /**
   * Checks that part `n` of `size` bytes can belong to the upload: full
   * parts are exactly partSize; a shorter one can only be the last, so no
   * part may follow it. Re-sending a part number replaces that part.
   */
  checkPart(row: UploadRow, n: number, size: number): void {
    if (row.completing) throw invalid("the upload is being completed: no more parts");
    if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
      throw invalid(`part numbers run from 1 to ${MAX_PARTS}`);
    }
    if (row.part_size === 0) {
      // The client picks sizes: any part is taken now, completion judges the ones it uses.
      if (size > MAX_PART_SIZE) {
        throw new FsError(
          "ETOOLARGE",
          `part ${n} is ${size} bytes, over R2's part limit of ${MAX_PART_SIZE} bytes`,
        );
      }
      return;
    }
    if (row.size !== null) {
      const expected = declaredPartSize(row.size, row.part_size, n);
      const count = partsFor(row.size, row.part_size);
      const layout = `the declared size of ${row.size} bytes is ${count} part${count === 1 ? "" : "s"} of ${row.part_size} bytes (the last holds the rest)`;
      if (expected === null) throw invalid(`there is no part ${n}: ${layout}`);
      if (size > expected) {
        throw invalid(
          `part ${n} is ${size} bytes, which would pass the declared size: ${layout}, so part ${n} is ${expected} bytes`,
        );
      }
      if (size !== expected) {
        throw invalid(`part ${n} is ${size} bytes, not ${expected}: ${layout}`);
      }
    }
    if (size > row.part_size || (size === 0 && n > 1)) {
      throw invalid(
        `part ${n} is ${size} bytes: every part is ${row.part_size} bytes, except the last, which may be shorter`,
      );
    }
    if ((n - 1) * row.part_size + size > MAX_OBJECT_SIZE) {
      throw new FsError(
        "ETOOLARGE",
        `part ${n} would take the file past R2's object limit of ${MAX_OBJECT_SIZE} bytes`,
      );
    }
    const others = this.parts(row.id).filter((p) => p.partNumber !== n);
    if (size < row.part_size && others.some((p) => p.partNumber > n)) {
      throw invalid(
        `part ${n} is ${size} bytes, but parts after it exist: it must be ${row.part_size} bytes`,
      );
    }
    const short = others.find((p) => p.size < row.part_size && p.partNumber < n);
    if (short) {
      throw invalid(
        `part ${short.partNumber} is shorter than ${row.part_size} bytes, so it is the last: no part ${n} can follow`,
      );
    }
  }

  recordPart(row: UploadRow, part: ReceivedPart): void {
    this.checkPart(row, part.partNumber, part.size);
    this.sql.exec(
      "INSERT OR REPLACE INTO upload_parts (upload_id, part_number, size, etag, md5) VALUES (?, ?, ?, ?, ?)",
      row.id,
      part.partNumber,
      part.size,
      part.r2Etag,
      part.md5,
    );
  }

  /**
   * The parts a completion stitches, and the file's size: the native
   * completion of an upload with a partSize tiles all its parts
   * (`tiling`); a completion that names parts, or of an upload whose
   * client picked the sizes, goes by S3's rules (core/uploads.ts
   * chooseParts), whose errors carry S3's names in `reason`.
   */
  completion(
    row: UploadRow,
    named: readonly NamedPart[] | undefined,
  ): { parts: StoredPart[]; size: number } {
    if (named === undefined && row.part_size > 0) {
      const { size } = this.tiling(row);
      return { parts: this.storedParts(row.id), size };
    }
    const sizing: { partSize?: number; size?: number } = {};
    if (row.part_size > 0) sizing.partSize = row.part_size;
    if (row.size !== null) sizing.size = row.size;
    return chooseParts(this.storedParts(row.id), named, sizing);
  }

  /**
   * The parts, if they tile the file: 1..N with none missing, all full but
   * the last. Throws EINVAL naming what is wrong.
   */
  tiling(row: UploadRow): { parts: UploadPart[]; size: number } {
    const parts = this.parts(row.id);
    parts.forEach((p, i) => {
      if (p.partNumber !== i + 1) throw invalid(`part ${i + 1} is missing`);
      if (i < parts.length - 1 && p.size !== row.part_size) {
        throw invalid(
          `part ${p.partNumber} is ${p.size} bytes but is not the last: parts do not tile the file`,
        );
      }
    });
    const size = parts.reduce((n, p) => n + p.size, 0);
    if (row.size !== null && size !== row.size) {
      const count = partsFor(row.size, row.part_size);
      const first = parts.length + 1;
      const missing =
        first === count ? `part ${count} is missing` : `parts ${first} to ${count} are missing`;
      throw invalid(
        `the parts add up to ${size} bytes, not the declared ${row.size}: ${missing}; nothing was committed, the upload stays open`,
      );
    }
    return { parts, size };
  }

  setCompleting(id: string, completing: boolean): void {
    this.sql.exec("UPDATE uploads SET completing = ? WHERE id = ?", completing ? 1 : 0, id);
  }

  /** Marks a new upload as staged: its complete will commit nothing. */
  stage(id: string): void {
    this.sql.exec("INSERT INTO staged_uploads (upload_id, size) VALUES (?, NULL)", id);
  }

  /** Whether the upload is staged, and its size once its parts are stitched (null before). */
  staging(id: string): { size: number | null } | undefined {
    return this.sql
      .exec<{ size: number | null }>("SELECT size FROM staged_uploads WHERE upload_id = ?", id)
      .toArray()[0];
  }

  /** A staged upload's parts are one object in R2 now: it waits for a batch commit. */
  staged(id: string, size: number): void {
    this.sql.exec("UPDATE staged_uploads SET size = ? WHERE upload_id = ?", size, id);
  }

  /**
   * The stitched staged upload `id`, for a batch commit to put: ENOENT if it
   * is unknown, already committed, aborted or expired; EINVAL if it is not a
   * staged upload or not completed yet.
   */
  stagedBlob(id: string, now: number): StagedBlob {
    const row = this.sql
      .exec<UploadRow>("SELECT * FROM uploads WHERE id = ? AND expires_at > ?", id, now)
      .toArray()[0];
    if (!row) {
      throw new FsError(
        "ENOENT",
        `no such staged upload: ${id} (already committed, aborted or expired)`,
      );
    }
    const staging = this.staging(id);
    if (!staging) {
      throw invalid(`upload ${id} is not staged: create it with "stage": true to join a batch`);
    }
    if (staging.size === null) {
      throw invalid(`staged upload ${id} is not completed: POST …/uploads/${id}/complete first`);
    }
    return { uploadId: id, blobId: row.blob_id, size: staging.size };
  }

  remove(id: string): void {
    this.sql.exec("DELETE FROM staged_uploads WHERE upload_id = ?", id);
    this.sql.exec("DELETE FROM upload_parts WHERE upload_id = ?", id);
    this.sql.exec("DELETE FROM uploads WHERE id = ?", id);
  }

  /** Forgets expired uploads; their blobs expire in the ledger at the same moment. */
  expire(now: number): void {
    this.sql.exec(
      "DELETE FROM upload_parts WHERE upload_id IN (SELECT id FROM uploads WHERE expires_at <= ?)",
      now,
    );
    this.sql.exec(
      "DELETE FROM staged_uploads WHERE upload_id IN (SELECT id FROM uploads WHERE expires_at <= ?)",
      now,
    );
    this.sql.exec("DELETE FROM uploads WHERE expires_at <= ?", now);
  }

  clear(): void {
    this.sql.exec("DELETE FROM staged_uploads");
    this.sql.exec("DELETE FROM upload_parts");
    this.sql.exec("DELETE FROM uploads");
  }
}

/** An upload as listings and status show it: a partSize only when the server fixed one. */
function listed(row: UploadRow): ListedUpload {
  return {
    uploadId: row.id,
    path: row.path,
    ...(row.part_size > 0 ? { partSize: row.part_size } : {}),
    ...(row.size !== null ? { size: row.size } : {}),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
