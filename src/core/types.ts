/** A file or directory as every API returns it (docs/api.md "Listing"). */
export interface FileEntry {
  /**
   * Modal's form: relative to the listed directory in a directory listing
   * ("metrics.json", "42/metrics.json" when recursive); absolute otherwise
   * (a glob's matches, a file listed by its own path, stat, write results).
   */
  path: string;
  /** Always the entry's absolute path in the share, e.g. "/runs/42/metrics.json". */
  absolutePath: string;
  type: "file" | "directory";
  size: number;
  /** Milliseconds since the epoch. */
  mtime: number;
  /**
   * A strong entity tag, quoted as in HTTP: `"…"`. Files only. On share
   * storage a file written in one piece has the MD5 of its bytes in hex.
   */
  etag?: string;
  /** The Content-Type stored with a file (absent: none was; core/attributes.ts guesses one). */
  contentType?: string;
  /** User metadata of a file (S3's x-amz-meta-*); stat and reads carry it, listings may not. */
  metadata?: Record<string, string>;
}

export interface ShareInfo {
  name: string;
  env: string;
  /** Random per creation: delete + recreate of a name gives a new id. */
  id: string;
  kind: "nfs";
  ephemeral: boolean;
  createdAt: number;
  expiresAt?: number;
}

/** A named snapshot: it keeps `version` of the share readable until deleted. */
export interface SnapshotInfo {
  name: string;
  version: number;
  createdAt: number;
}

/** What a share holds: counts and logical bytes (a copy counts again, as with `du`). */
export interface ShareUsage {
  files: number;
  directories: number;
  bytes: number;
  /** Bytes of the files kept inline in the share's SQLite. */
  inlineBytes: number;
  /**
   * Bytes of file versions no longer live that the share keeps for reads of
   * older versions (the retention window, snapshots); the byte quota counts
   * them with `bytes`.
   */
  historyBytes: number;
  /**
   * The change feed's events and their bytes in the share's SQLite (they
   * count against its storage, not against the byte quota).
   */
  feedEvents: number;
  feedBytes: number;
}

/** A share's limits; an absent field is unlimited. */
export interface ShareQuota {
  bytes?: number;
  files?: number;
}

/** GET /v1/shares/{name}: the share, its version, usage, quota and storage. */
export interface ShareDetail extends ShareInfo {
  /** Grows with every committed change. */
  version: number;
  usage: ShareUsage;
  quota: ShareQuota;
  /** The share's Durable Object storage: what it uses of the configured limit. */
  storage: { bytes: number; limit: number };
}

export interface ListPage<T> {
  entries: T[];
  /** Present when more entries follow; pass back as `?cursor=`. */
  cursor?: string;
}

/** One version of what stood at a path (GET …/history/{path}). */
export interface PathVersion {
  /** The version it appeared at (or, with `deleted`, the version that removed it). */
  version: number;
  type: "file" | "directory";
  size: number;
  etag?: string;
  mtime: number;
  /** The path held nothing from this version on (until a later entry). */
  deleted?: true;
}

export interface HistoryPage {
  /** Newest first. */
  versions: PathVersion[];
  /** Present when older versions follow; pass back as `?cursor=`. */
  cursor?: string;
}
