import type { Config } from "../config";
import { BlobLedger } from "./blob-ledger";
import { ChangeFeed } from "./change-feed";
import { FileTree } from "./file-tree";
import { HookTable } from "./hook-table";
import { LeaseTable } from "./lease-table";
import { MountTable } from "./mount-table";
import { NodeStore } from "./node-store";
import { PropertyTable } from "./property-table";
import { SnapshotTable } from "./snapshot-table";
import { TreeCopy } from "./tree-copy";
import { TreeHistory } from "./tree-history";
import { TreeListing } from "./tree-listing";
import { TreeReclaim } from "./tree-reclaim";
import { TreeUsage } from "./tree-usage";
import { UploadTable } from "./upload-table";
import { VersionWindow } from "./version-window";

/** The `share` table's one row: who the share is, and when an ephemeral one ends. */
export interface ShareRow {
  id: string;
  name: string;
  env: string;
  kind: string;
  created_at: number;
  /** Ephemeral shares only: the heartbeat ttl and the moment the share ends. */
  ttl_ms: number | null;
  expires_at: number | null;
  /** The root node of the share's tree (file-tree.ts). */
  root_id: number | null;
  /** Limits an admin set (null: none). */
  quota_bytes: number | null;
  quota_files: number | null;
  /** The first version of this share (older ones belong to a deleted share of the same name). */
  first_version: number;
  /** Ephemeral shares: the expiry the registry lists, once it confirmed it. */
  listed_until: number | null;
  [key: string]: SqlStorageValue;
}

/** When a step of the ShareDO runs: one clock reading for all of it. */
export interface At {
  now: number;
  share?: ShareRow;
}

/** A step on a live share: the row the ShareDO's guard found (absent or expired is ENOENT). */
export interface Live extends At {
  share: ShareRow;
}

/**
 * The tables of one share's SQLite, built once per object, and the Worker
 * vars they follow (fixed for the object's lifetime: parsed once). Every
 * method on them is synchronous SQL; the ShareDO decides what runs in one
 * transaction.
 */
export class ShareState {
  readonly ledger: BlobLedger;
  readonly props: PropertyTable;
  readonly window: VersionWindow;
  readonly snapshots: SnapshotTable;
  readonly nodes: NodeStore;
  readonly usage: TreeUsage;
  readonly reclaim: TreeReclaim;
  readonly copies: TreeCopy;
  readonly tree: FileTree;
  readonly listing: TreeListing;
  readonly history: TreeHistory;
  readonly leases: LeaseTable;
  readonly uploads: UploadTable;
  readonly mounts: MountTable;
  readonly feed: ChangeFeed;
  readonly hooks: HookTable;

  /** `onEvent`: called for each change-feed event recorded (the ShareDO wakes its watchers). */
  constructor(
    readonly sql: SqlStorage,
    readonly config: Config,
    onEvent: () => void = () => {},
  ) {
    this.ledger = new BlobLedger(sql);
    this.props = new PropertyTable(sql);
    this.window = new VersionWindow(sql, config.versionRetentionMs);
    this.snapshots = new SnapshotTable(sql, this.window);
    const limit = config.storageLimitBytes;
    this.usage = new TreeUsage(sql, () => ({ refuseAt: limit * 0.95, inlineUntil: limit * 0.8 }));
    this.nodes = new NodeStore(sql, this.ledger, this.window, this.usage.history);
    this.reclaim = new TreeReclaim(sql, this.ledger, this.usage, this.props, this.window);
    this.copies = new TreeCopy(sql, this.nodes, this.usage, this.props);
    this.tree = new FileTree(
      sql,
      this.nodes,
      this.ledger,
      this.props,
      this.usage,
      this.reclaim,
      this.copies,
      config.batchRows,
    );
    this.listing = new TreeListing(this.nodes, this.tree);
    this.history = new TreeHistory(sql);
    this.leases = new LeaseTable(sql);
    this.uploads = new UploadTable(sql);
    this.mounts = new MountTable(sql);
    this.hooks = new HookTable(sql);
    this.feed = new ChangeFeed(
      sql,
      this.nodes,
      config.feedRetentionMs,
      config.feedMaxEvents,
      onEvent,
    );
  }

  /** When bytes a change stops referencing may be deleted: readers in flight finish first. */
  graceUntil(now: number): number {
    return now + this.config.gcGraceMs;
  }
}
