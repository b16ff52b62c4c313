/**
 * The ShareDO's SQLite schema, as an append-only list of migrations: a
 * deployed object upgrades by running the steps it has not seen.
 *
 * entries  the file tree. `path` is the canonical absolute path; `parent`
 *          and `name` are indexed so a directory listing is one index range.
 *          A file's bytes are either inline (`inline_id`) or in R2 (`blob_id`);
 *          an empty file has neither.
 * inline_data  the bytes of small files, stored in SQLite with a reference
 *          count: copies share a row, as they share a blob (a copy costs a
 *          row in `entries`, never its bytes again). Freed at zero at once:
 *          a read returns inline bytes within the same object call, so no
 *          reader can still need them.
 * blobs    R2 objects with a reference count: copies share a blob.
 * pending  blobs reserved by writes that have not committed yet; expired
 *          rows are reclaimed (the client vanished mid-upload).
 * gc       R2 keys (and unfinished multipart uploads) to delete once due.
 * leases   path leases (advisory locks); see lease-table.ts.
 * uploads, upload_parts  multipart uploads in progress; see upload-table.ts.
 * mounts   buckets mounted at paths of the share; see mount-table.ts.
 * properties  WebDAV dead properties of entries; see property-table.ts.
 * share.expires_at  set for ephemeral shares: the moment they stop existing.
 * share.listed_until  ephemeral shares: the expiry the environment's registry
 *          holds (never earlier than expires_at); see share-lifecycle.ts.
 */
export const MIGRATIONS: string[] = [
  `CREATE TABLE share (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     id TEXT NOT NULL, name TEXT NOT NULL, env TEXT NOT NULL, kind TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE entries (
     path TEXT PRIMARY KEY,
     parent TEXT NOT NULL,
     name TEXT NOT NULL,
     type TEXT NOT NULL CHECK (type IN ('file', 'directory')),
     size INTEGER NOT NULL DEFAULT 0,
     mtime INTEGER NOT NULL,
     etag TEXT,
     blob_id TEXT,
     data BLOB
   ) WITHOUT ROWID;
   CREATE INDEX entries_by_parent ON entries (parent, name);
   CREATE INDEX entries_by_blob ON entries (blob_id) WHERE blob_id IS NOT NULL;
   CREATE TABLE blobs (id TEXT PRIMARY KEY, key TEXT NOT NULL, refs INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE pending (
     blob_id TEXT PRIMARY KEY, share_id TEXT NOT NULL, key TEXT NOT NULL,
     upload_id TEXT, expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX pending_by_expiry ON pending (expires_at);
   CREATE TABLE gc (key TEXT PRIMARY KEY, upload_id TEXT, due_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX gc_by_due ON gc (due_at);`,
  `ALTER TABLE share ADD COLUMN ttl_ms INTEGER;
   ALTER TABLE share ADD COLUMN expires_at INTEGER;
   CREATE TABLE leases (
     id TEXT PRIMARY KEY, path TEXT NOT NULL,
     exclusive INTEGER NOT NULL, depth TEXT NOT NULL CHECK (depth IN ('0', 'infinity')),
     owner TEXT, ttl_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX leases_by_path ON leases (path);
   CREATE INDEX leases_by_expiry ON leases (expires_at);`,
  `CREATE TABLE uploads (
     id TEXT PRIMARY KEY, path TEXT NOT NULL, blob_id TEXT NOT NULL, key TEXT NOT NULL,
     r2_upload_id TEXT, part_size INTEGER NOT NULL, conditions TEXT NOT NULL,
     completing INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE upload_parts (
     upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
     PRIMARY KEY (upload_id, part_number)
   ) WITHOUT ROWID;`,
  `CREATE TABLE mounts (path TEXT PRIMARY KEY, config TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;`,
  `CREATE TABLE properties (
     path TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
     PRIMARY KEY (path, ns, name)
   ) WITHOUT ROWID;`,
  `ALTER TABLE properties ADD COLUMN lang TEXT;`,
  // Inline bytes move from each entry into shared rows. Entries of one version
  // (same ETag, same bytes: a file and its copies) end up sharing one row, so
  // a share that copies already multiplied shrinks; nothing else is merged.
  // The rowid table suits rows of up to 64 KiB; \`origin\` only links rows
  // back during this step.
  `CREATE TABLE inline_data (id INTEGER PRIMARY KEY, refs INTEGER NOT NULL, data BLOB NOT NULL, origin TEXT);
   ALTER TABLE entries ADD COLUMN inline_id INTEGER;
   INSERT INTO inline_data (refs, data, origin)
     SELECT COUNT(*), data, etag FROM entries WHERE length(data) > 0 GROUP BY etag, data;
   CREATE INDEX inline_data_by_origin ON inline_data (origin);
   UPDATE entries SET inline_id =
       (SELECT id FROM inline_data i WHERE i.origin IS entries.etag AND i.data = entries.data)
     WHERE length(data) > 0;
   DROP INDEX inline_data_by_origin;
   ALTER TABLE inline_data DROP COLUMN origin;
   ALTER TABLE entries DROP COLUMN data;`,
  // Unknown for shares created before: their next heartbeat announces.
  "ALTER TABLE share ADD COLUMN listed_until INTEGER;",
];

export function migrate(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
  const current = row?.version ?? 0;
  for (let v = current; v < MIGRATIONS.length; v++) {
    sql.exec(MIGRATIONS[v] as string);
  }
  if (current !== MIGRATIONS.length) {
    sql.exec("DELETE FROM schema_version");
    sql.exec("INSERT INTO schema_version (version) VALUES (?)", MIGRATIONS.length);
  }
}
