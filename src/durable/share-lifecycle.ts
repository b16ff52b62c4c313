import { FsError } from "../core/errors";
import { randomId } from "../core/ids";
import { ROOT } from "../core/paths";
import type { ShareDetail, ShareInfo, ShareQuota } from "../core/types";
import { registryFor } from "./registry";
import type { Result } from "./rpc";
import { SHARE_NOT_FOUND } from "./share-client";
import type { At, Live, ShareRow, ShareState } from "./share-state";

/** An ephemeral share's lifetime without heartbeats (docs/api.md "Ephemeral shares"). */
export interface Ephemeral {
  ttlMs: number;
}

/**
 * A share's life: created, kept alive by heartbeats (ephemeral shares),
 * deleted or expired. The SQL steps run inside the ShareDO's change guard;
 * the environment's registry is told after they commit (`announce…`), so a
 * refused change never reaches it.
 */
export class ShareLifecycle {
  constructor(
    private readonly s: ShareState,
    private readonly storage: DurableObjectStorage,
    private readonly env: Env,
  ) {}

  row(): ShareRow | undefined {
    return this.s.sql.exec<ShareRow>("SELECT * FROM share").toArray()[0];
  }

  /**
   * The live share, or ENOENT. An ephemeral share is gone from the moment it
   * expires, even while the alarm has not reclaimed it yet.
   */
  require(now: number): ShareRow {
    const row = this.row();
    if (!row) throw new FsError("ENOENT", SHARE_NOT_FOUND);
    if (row.expires_at !== null && row.expires_at <= now) {
      throw new FsError("ENOENT", `${SHARE_NOT_FOUND}: the ephemeral share expired`);
    }
    return row;
  }

  static info(row: ShareRow): ShareInfo {
    const info: ShareInfo = {
      name: row.name,
      env: row.env,
      id: row.id,
      kind: "nfs",
      ephemeral: row.expires_at !== null,
      createdAt: row.created_at,
    };
    if (row.expires_at !== null) info.expiresAt = row.expires_at;
    return info;
  }

  /**
   * Creates the share unless it exists; `strict` makes an existing one
   * EEXIST. An expired ephemeral share not yet reclaimed counts as absent:
   * it is reclaimed first, so the new share starts empty.
   */
  create(
    { now }: At,
    env: string,
    name: string,
    strict: boolean,
    ephemeral?: Ephemeral,
  ): { info: ShareInfo; created: boolean } {
    const existing = this.row();
    if (existing && (existing.expires_at === null || existing.expires_at > now)) {
      if (strict) throw new FsError("EEXIST", `share already exists: ${name}`);
      return { info: ShareLifecycle.info(existing), created: false };
    }
    if (existing) this.drop(now);
    const row: ShareRow = {
      id: randomId(),
      name,
      env,
      kind: "nfs",
      created_at: now,
      ttl_ms: ephemeral?.ttlMs ?? null,
      expires_at: ephemeral ? now + ephemeral.ttlMs : null,
      // Set once the registry has the share (announceCreated).
      listed_until: null,
      root_id: null,
      quota_bytes: null,
      quota_files: null,
      first_version: 0,
    };
    this.s.sql.exec(
      `INSERT INTO share (singleton, id, name, env, kind, created_at, ttl_ms, expires_at)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      row.name,
      row.env,
      row.kind,
      row.created_at,
      row.ttl_ms,
      row.expires_at,
    );
    this.s.tree.plant(now);
    // The feed tells a watcher from before a delete that the share began again.
    this.s.feed.mkdir(ROOT, now);
    return { info: ShareLifecycle.info(row), created: true };
  }

  async announceCreated(
    result: Result<{ info: ShareInfo; created: boolean }>,
  ): Promise<Result<{ info: ShareInfo; created: boolean }>> {
    if (result.ok && result.value.created) {
      const { info } = result.value;
      await registryFor(this.env, info.env).add(info);
      if (info.expiresAt !== undefined) this.confirmListed(info.id, info.expiresAt);
    }
    return result;
  }

  /**
   * Extends an ephemeral share by its ttl from now, and says whether the
   * registry must hear of it.
   *
   * The registry is off the heartbeat path: it holds an expiry that is never
   * earlier than the share's real one (`listed_until`), so GET /v1/shares,
   * which hides entries past their stored expiry, never hides a live share.
   * A heartbeat tells it only when the new expiry would pass what it holds,
   * and then announces half a ttl beyond the new expiry: the heartbeats of
   * the next ttl/2 stay within it, so a share costs at most one registry
   * write per ttl/2, not one per heartbeat. The list's expiresAt is thus at
   * most ttl/2 later than the real one (the heartbeat's answer and GET
   * /v1/shares/{name} are exact), and a share reclaimed earlier does not
   * linger there: the alarm removes it from the registry at expiry.
   */
  heartbeat({ now, share }: Live): { info: ShareInfo; announce: ShareInfo | null } {
    if (share.ttl_ms === null) {
      throw new FsError("EINVAL", `share ${share.name} is not ephemeral: it needs no heartbeat`);
    }
    const expiresAt = now + share.ttl_ms;
    this.s.sql.exec("UPDATE share SET expires_at = ?", expiresAt);
    const info = ShareLifecycle.info({ ...share, expires_at: expiresAt });
    if (share.listed_until !== null && expiresAt <= share.listed_until)
      return { info, announce: null };
    const listedUntil = expiresAt + Math.ceil(share.ttl_ms / 2);
    return { info, announce: { ...info, expiresAt: listedUntil } };
  }

  async announceHeartbeat(
    result: Result<{ info: ShareInfo; announce: ShareInfo | null }>,
  ): Promise<Result<{ expiresAt: number }>> {
    if (!result.ok) return result;
    const { info, announce } = result.value;
    if (announce) {
      await registryFor(this.env, announce.env).add(announce);
      this.confirmListed(announce.id, announce.expiresAt as number);
    }
    return { ok: true, value: { expiresAt: info.expiresAt as number } };
  }

  /**
   * Records what the registry holds, only once it has confirmed it: a
   * failed announcement leaves the old value, so the next heartbeat tries
   * again. Concurrent announcements keep the latest; the id check skips a
   * share deleted or replaced meanwhile.
   */
  private confirmListed(id: string, listedUntil: number): void {
    this.s.sql.exec(
      "UPDATE share SET listed_until = max(coalesce(listed_until, 0), ?) WHERE id = ?",
      listedUntil,
      id,
    );
  }

  /**
   * Deletes the share: the tree goes now, every blob after the grace period.
   * The share's id goes too, so a share created later under the same name
   * starts empty and can never see these blobs.
   */
  delete({ now, share }: Live): ShareRow {
    this.drop(this.s.graceUntil(now));
    return share;
  }

  async announceDeleted(result: Result<ShareRow>): Promise<Result<void>> {
    if (!result.ok) return result;
    await registryFor(this.env, result.value.env).remove(result.value.name, result.value.id);
    return { ok: true, value: undefined };
  }

  /**
   * An ephemeral share past its expiry is dropped whole; its blobs are due
   * at once (no reader can reach them: the share answers 404 since expiry)
   * and go in GC batches over the following alarm runs. The registry is told
   * first, so a retried alarm finds the share still there and repeats both.
   */
  async reclaimIfExpired(now: number): Promise<void> {
    const share = this.row();
    if (!share || share.expires_at === null || share.expires_at > now) return;
    await registryFor(this.env, share.env).remove(share.name, share.id);
    this.storage.transactionSync(() => {
      this.s.nodes.beginChange();
      this.drop(now);
    });
  }

  /**
   * Forgets the share: identity, leases, uploads and mounts now; the tree
   * leaves at once and its rows, blobs and inline bytes are reclaimed in
   * bounded batches (tree-reclaim.ts), blobs no sooner than `blobsDueAt`.
   * Synchronous SQL, for use inside a change.
   */
  private drop(blobsDueAt: number): void {
    // Its history and snapshots go with it: nothing of it is readable again,
    // so the retention window no longer holds any of it back.
    this.s.snapshots.clear();
    this.s.window.dropped(this.s.nodes.stamp());
    this.s.feed.delete(ROOT, "directory", true, Date.now());
    this.s.tree.drop(blobsDueAt);
    // Writes in flight can no longer commit; their blobs go with the rest.
    this.s.ledger.abandonAll(blobsDueAt);
    this.s.leases.clear();
    this.s.uploads.clear();
    this.s.mounts.clear();
    this.s.hooks.clear();
    this.s.sql.exec("DELETE FROM share");
  }

  /** GET /v1/shares/{name}: the share with its version, usage and quota. */
  detail(share: ShareRow): ShareDetail {
    const u = this.s.usage.of(this.s.tree.rootId());
    const feed = this.s.feed.stats();
    const quota: ShareQuota = {};
    if (share.quota_bytes !== null) quota.bytes = share.quota_bytes;
    if (share.quota_files !== null) quota.files = share.quota_files;
    return {
      ...ShareLifecycle.info(share),
      version: this.s.nodes.version(),
      usage: {
        files: u.files,
        directories: u.dirs,
        bytes: u.bytes,
        inlineBytes: u.inlineBytes,
        historyBytes: this.s.usage.history.total(),
        feedEvents: feed.events,
        feedBytes: feed.bytes,
      },
      quota,
      storage: { bytes: this.s.sql.databaseSize, limit: this.s.config.storageLimitBytes },
    };
  }

  /** Sets (a number) or clears (null) each limit given; absent fields stay. */
  setQuota(at: Live, quota: { bytes?: number | null; files?: number | null }): ShareDetail {
    if (quota.bytes !== undefined) this.s.sql.exec("UPDATE share SET quota_bytes = ?", quota.bytes);
    if (quota.files !== undefined) this.s.sql.exec("UPDATE share SET quota_files = ?", quota.files);
    return this.detail(this.require(at.now));
  }
}
