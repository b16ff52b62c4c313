/** A file or directory as every API returns it (../shared/DESIGN.md "Files"). */
export interface FileEntry {
  /** Relative to the listed directory in a directory listing; absolute otherwise. */
  path: string;
  type: "file" | "directory";
  size: number;
  /** Milliseconds since the epoch. */
  mtime: number;
  /** A strong entity tag, quoted as in HTTP: `"…"`. Files only. */
  etag?: string;
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

export interface ListPage<T> {
  entries: T[];
  /** Present when more entries follow; pass back as `?cursor=`. */
  cursor?: string;
}
