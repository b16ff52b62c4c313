/**
 * The ShareDO's SQLite schema, as an append-only list of migrations: a
 * deployed object upgrades by running the steps it has not seen.
 *
 * nodes    the file tree (file-tree.ts): one row per version of a file or
 *          directory, found by (parent node id, name); live rows have no
 *          `died`. A file's bytes are either inline (`inline_id`) or in R2
 *          (`blob_id`); an empty file has neither. (Before migration 9:
 *          `entries`, keyed by path.)
 * dir_usage  the totals of each directory's subtree (tree-usage.ts).
 * nodes.history, doomed.kept, counters 'history_bytes'  the bytes history
 *          keeps (tree-usage.ts HistoryBytes).
 * doomed, copy_jobs, copy_queue  background tree work (tree-jobs.ts).
 * counters  the next node id and the share's version.
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
 * uploads, upload_parts  multipart uploads in progress; see upload-table.ts
 *          (part_size 0: the client picks part sizes, as S3 clients do).
 * mounts   buckets mounted at paths of the share; see mount-table.ts.
 * node_properties  WebDAV dead properties of nodes; see property-table.ts.
 * nodes.attrs, uploads.attrs  a file's Content-Type and user metadata (JSON).
 * share.expires_at  set for ephemeral shares: the moment they stop existing.
 * share.listed_until  ephemeral shares: the expiry the environment's registry
 *          holds (never earlier than expires_at); see share-lifecycle.ts.
 * feed, counters 'feed_*', copy_jobs.from_path  the change feed's events,
 *          its floor, and where a background copy's event says it came
 *          from; see change-feed.ts.
 * hooks    webhooks: each one's URL, filter, secret and delivered position;
 *          see hook-table.ts and hook-delivery.ts.
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
  // The tree moves from path-keyed rows to nodes: a stable integer id per
  // file or directory, found by (parent id, name). Renaming a directory
  // rewrites one row, whatever lies below it. Rows carry the versions they
  // are live in, [born, died): a background copy reads its source as of its
  // start while writers go on (tree-jobs.ts); snapshots build on the same.
  // Existing rows keep their order; ids are their new row numbers, the root
  // is node 1 (roots sit in directory 0, named by their id). Properties follow nodes instead of paths, and every directory
  // gets the totals of its subtree (tree-usage.ts), computed once here.
  `CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE nodes (
     row INTEGER PRIMARY KEY,
     id INTEGER NOT NULL,
     parent INTEGER NOT NULL,
     name TEXT NOT NULL,
     born INTEGER NOT NULL,
     died INTEGER,
     type TEXT NOT NULL CHECK (type IN ('file', 'directory')),
     size INTEGER NOT NULL DEFAULT 0,
     mtime INTEGER NOT NULL,
     etag TEXT,
     blob_id TEXT,
     inline_id INTEGER,
     old_path TEXT,
     old_parent TEXT
   );
   INSERT INTO nodes (row, id, parent, name, born, type, mtime, old_path)
     SELECT 1, 1, 0, '1', 0, 'directory', created_at, '/' FROM share;
   INSERT INTO nodes (id, parent, name, born, type, size, mtime, etag, blob_id, inline_id, old_path, old_parent)
     SELECT 0, 0, name, 0, type, size, mtime, etag, blob_id, inline_id, path, parent
     FROM entries ORDER BY path;
   UPDATE nodes SET id = row;
   CREATE INDEX nodes_old_path ON nodes (old_path);
   UPDATE nodes SET parent = (SELECT p.id FROM nodes p WHERE p.old_path = nodes.old_parent) WHERE row > 1;
   CREATE TABLE dir_usage (
     id INTEGER PRIMARY KEY, files INTEGER NOT NULL DEFAULT 0, dirs INTEGER NOT NULL DEFAULT 0,
     bytes INTEGER NOT NULL DEFAULT 0, inline_bytes INTEGER NOT NULL DEFAULT 0
   );
   INSERT INTO dir_usage (id, files, dirs, bytes, inline_bytes)
     SELECT d.id,
       count(c.row) FILTER (WHERE c.type = 'file'),
       count(c.row) FILTER (WHERE c.type = 'directory'),
       coalesce(sum(c.size) FILTER (WHERE c.type = 'file'), 0),
       coalesce(sum(c.size) FILTER (WHERE c.inline_id IS NOT NULL), 0)
     FROM nodes d LEFT JOIN nodes c
       ON c.row > 1 AND c.old_path > (CASE WHEN d.row = 1 THEN '' ELSE d.old_path END) || '/'
         AND c.old_path < (CASE WHEN d.row = 1 THEN '' ELSE d.old_path END) || '0'
     WHERE d.type = 'directory' GROUP BY d.id;
   CREATE TABLE node_properties (
     node INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, lang TEXT,
     PRIMARY KEY (node, ns, name)
   ) WITHOUT ROWID;
   INSERT INTO node_properties (node, ns, name, value, lang)
     SELECT n.id, p.ns, p.name, p.value, p.lang FROM properties p JOIN nodes n ON n.old_path = p.path;
   DROP TABLE properties;
   DROP INDEX nodes_old_path;
   ALTER TABLE nodes DROP COLUMN old_path;
   ALTER TABLE nodes DROP COLUMN old_parent;
   DROP TABLE entries;
   CREATE UNIQUE INDEX nodes_live ON nodes (parent, name) WHERE died IS NULL;
   CREATE INDEX nodes_live_by_id ON nodes (id) WHERE died IS NULL;
   CREATE INDEX nodes_retired ON nodes (parent, name, born) WHERE died IS NOT NULL;
   CREATE INDEX nodes_by_death ON nodes (died) WHERE died IS NOT NULL;
   INSERT INTO counters (name, value) VALUES ('node', (SELECT coalesce(max(id), 0) FROM nodes)), ('version', 0);
   ALTER TABLE share ADD COLUMN root_id INTEGER;
   UPDATE share SET root_id = 1;
   ALTER TABLE share ADD COLUMN quota_bytes INTEGER;
   ALTER TABLE share ADD COLUMN quota_files INTEGER;
   CREATE TABLE doomed (id INTEGER PRIMARY KEY, died INTEGER NOT NULL, blobs_due_at INTEGER NOT NULL);
   CREATE INDEX doomed_by_death ON doomed (died, id);
   CREATE TABLE copy_jobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, source INTEGER NOT NULL, staging INTEGER NOT NULL,
     to_path TEXT NOT NULL, overwrite TEXT NOT NULL, held TEXT NOT NULL,
     files INTEGER NOT NULL, dirs INTEGER NOT NULL, bytes INTEGER NOT NULL, inline_bytes INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE copy_queue (
     job INTEGER NOT NULL, source INTEGER NOT NULL, target INTEGER NOT NULL, chain TEXT NOT NULL,
     after TEXT NOT NULL, PRIMARY KEY (job, source)
   ) WITHOUT ROWID;`,
  // A multipart upload may declare its size: its parts are checked against it.
  "ALTER TABLE uploads ADD COLUMN size INTEGER;",
  // Versions: when each was committed (retention is by time), named
  // snapshots that keep a version readable, and the first version of the
  // share's current incarnation (older ones belong to a deleted share).
  `CREATE TABLE versions (version INTEGER PRIMARY KEY, at INTEGER NOT NULL);
   CREATE TABLE snapshots (
     name TEXT PRIMARY KEY, version INTEGER NOT NULL, created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX snapshots_by_version ON snapshots (version);
   ALTER TABLE share ADD COLUMN first_version INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE doomed ADD COLUMN born INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX nodes_dead_by_id ON nodes (id) WHERE died IS NOT NULL;`,
  // Staged uploads (batch commits): completed, not committed until a commit op names them.
  "CREATE TABLE staged_uploads (upload_id TEXT PRIMARY KEY, size INTEGER) WITHOUT ROWID;",
  // Restores are copy jobs that read an older version than they are born in.
  `ALTER TABLE copy_jobs ADD COLUMN born INTEGER;
   ALTER TABLE copy_jobs ADD COLUMN restore INTEGER NOT NULL DEFAULT 0;`,
  // History bytes (tree-usage.ts HistoryBytes): what each dead row counts,
  // whether a doomed subtree's files count, and the share's total. For rows
  // kept before this step: one dead row per version (node id and bytes)
  // that no live row still stands for counts its size (so a rename's
  // leftover does not), and every queued subtree counts the files still
  // below it (one recursive walk, here only). `dir_usage.oldest`: the
  // oldest version a directory moved in below a directory reaches back to
  // (tree-reclaim.ts); unknown for existing directories, so 0 (a later
  // `rm -r` of one keeps it while any snapshot exists: never too little).
  `ALTER TABLE nodes ADD COLUMN history INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE doomed ADD COLUMN kept INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE dir_usage ADD COLUMN oldest INTEGER;
   UPDATE dir_usage SET oldest = 0;
   UPDATE doomed SET kept = 1;
   UPDATE nodes SET history = size WHERE row IN (
     SELECT min(row) FROM nodes d
     WHERE died IS NOT NULL AND type = 'file' AND size > 0
       AND NOT EXISTS (SELECT 1 FROM nodes l WHERE l.id = d.id AND l.died IS NULL
         AND l.blob_id IS d.blob_id AND l.inline_id IS d.inline_id)
     GROUP BY id, blob_id, inline_id);
   INSERT OR REPLACE INTO counters (name, value) SELECT 'history_bytes',
     (SELECT coalesce(sum(history), 0) FROM nodes) +
     (WITH RECURSIVE below (id) AS (
        SELECT id FROM doomed
        UNION SELECT n.id FROM nodes n JOIN below b ON n.parent = b.id
          WHERE n.died IS NULL AND n.type = 'directory')
      SELECT coalesce(sum(n.size), 0) FROM nodes n JOIN below b ON n.parent = b.id
        WHERE n.died IS NULL AND n.type = 'file');`,
  // Key listings (key-listing.ts): live children of a directory in S3 key
  // order, sort key = name for files and name || '/' for directories, so
  // "children of D after X in key order" is one index range. The expression
  // must stay the one key-listing.ts queries with (SORT_KEY).
  `CREATE INDEX nodes_live_by_key
     ON nodes (parent, (CASE WHEN type = 'directory' THEN name || '/' ELSE name END))
     WHERE died IS NULL;`,
  // File attributes (core/attributes.ts): a file row's Content-Type and user
  // metadata as JSON, null when it has none, so they travel with the row
  // through renames, copies, history and restores; an upload keeps the ones
  // its file gets at completion. Existing files have none.
  `ALTER TABLE nodes ADD COLUMN attrs TEXT;
   ALTER TABLE uploads ADD COLUMN attrs TEXT;`,
  // S3 multipart (upload-table.ts): a part's MD5 (hex; its ETag to clients,
  // the makings of the file's multipart ETag) beside R2's own part ETag,
  // which R2's complete needs; null for parts stored before. Uploads whose
  // client picks part sizes have part_size 0. Open uploads list by path.
  `ALTER TABLE upload_parts ADD COLUMN md5 TEXT;
   CREATE INDEX uploads_by_path ON uploads (path, id);`,
  // The change feed (change-feed.ts): one row per event, keyed by its
  // position (version * 65536 + index in the version), with what path
  // filters look at beside the event's JSON, and what it costs. Shares that
  // existed before keep no events of their past: the floor is their latest
  // version, so a reader asking from before it gets EEXPIRED, not silence.
  `CREATE TABLE feed (
     seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, path TEXT NOT NULL, to_path TEXT,
     tree INTEGER NOT NULL, event TEXT NOT NULL, bytes INTEGER NOT NULL
   );
   INSERT OR REPLACE INTO counters (name, value)
     SELECT 'feed_floor', (value + 1) * 65536 - 1 FROM counters WHERE name = 'version';
   ALTER TABLE copy_jobs ADD COLUMN from_path TEXT;`,
  // Webhooks (hook-table.ts): where each delivers, its filter and signing
  // secret, the feed position its receiver acknowledged, and its retries.
  `CREATE TABLE hooks (
     id TEXT PRIMARY KEY, url TEXT NOT NULL, filter TEXT, secret TEXT NOT NULL,
     after INTEGER NOT NULL, created_at INTEGER NOT NULL,
     failures INTEGER NOT NULL DEFAULT 0, due_at INTEGER NOT NULL DEFAULT 0,
     last_error TEXT, lost_from INTEGER
   );`,
  // A failed delivery's batch (hook-delivery.ts), kept to be sent again as
  // it was: a retry carries exactly the changes of the attempt it repeats.
  `ALTER TABLE hooks ADD COLUMN pending_body TEXT;
   ALTER TABLE hooks ADD COLUMN pending_to INTEGER;`,
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
