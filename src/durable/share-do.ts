import { DurableObject } from "cloudflare:workers";
import { type Config, configFrom } from "../config";
import type { ListQuery, Overwrite } from "../core/backend";
import { FsError } from "../core/errors";
import { randomId } from "../core/ids";
import type { Lease, LeaseRequest, Placement } from "../core/leases";
import { ancestorsOf, type FsPath, isWithin, parentOf, ROOT } from "../core/paths";
import { checkWriteConditions, type WriteConditions } from "../core/preconditions";
import type { DeadProperty, PropertyChange } from "../core/properties";
import type { FileEntry, ListPage, ShareInfo } from "../core/types";
import { deleteBlobs } from "../r2/blob-store";
import { BlobLedger } from "./blob-ledger";
import { FileTree } from "./file-tree";
import { LeaseTable, type LeaseTarget } from "./lease-table";
import { type Mount, type MountConfig, MountTable } from "./mount-table";
import { PropertyTable } from "./property-table";
import { registryFor } from "./registry";
import { guard, guardSync, type Result } from "./rpc";
import { migrate } from "./schema";
import { type UploadPart, type UploadStatus, UploadTable, type UploadTarget } from "./upload-table";

interface ShareRow {
  id: string;
  name: string;
  env: string;
  kind: string;
  created_at: number;
  /** Ephemeral shares only: the heartbeat ttl and the moment the share ends. */
  ttl_ms: number | null;
  expires_at: number | null;
  [key: string]: SqlStorageValue;
}

/** An ephemeral share's lifetime without heartbeats (../shared/DESIGN.md "Leases"). */
export interface Ephemeral {
  ttlMs: number;
}

/** Where a file's bytes are, for the Worker to stream them (never through here). */
export type ReadTarget =
  | { entry: FileEntry; key: string; data?: undefined }
  | { entry: FileEntry; key?: undefined; data: ArrayBuffer };

/** R2 deletes at most 1,000 keys per call; one GC batch is one such call. */
const GC_BATCH = 1000;

const newEtag = () => `"${randomId()}"`;

/**
 * One share: its identity, file tree, blob ledger and GC, in the object's
 * SQLite. The Durable Object serializes every metadata change of the share;
 * each change runs in one SQL transaction, so commits are atomic and
 * ordered. File bytes never pass through here: the Worker streams them to
 * and from R2 and only asks this object where they are.
 */
export class ShareDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly ledger: BlobLedger;
  private readonly tree: FileTree;
  private readonly leases: LeaseTable;
  private readonly uploads: UploadTable;
  private readonly mounts: MountTable;
  private readonly props: PropertyTable;
  /** Worker vars are fixed for the object's lifetime: parsed once. */
  private readonly config: Config;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // All steps or none: a step that fails leaves the previous schema, not half of one.
    ctx.storage.transactionSync(() => migrate(this.sql));
    this.ledger = new BlobLedger(this.sql);
    this.props = new PropertyTable(this.sql);
    this.tree = new FileTree(this.sql, this.ledger, this.props);
    this.leases = new LeaseTable(this.sql);
    this.uploads = new UploadTable(this.sql);
    this.mounts = new MountTable(this.sql);
    this.config = configFrom(env);
  }

  private shareRow(): ShareRow | undefined {
    return this.sql.exec<ShareRow>("SELECT * FROM share").toArray()[0];
  }

  /**
   * The live share, or ENOENT. An ephemeral share is gone from the moment it
   * expires, even while the alarm has not reclaimed it yet.
   */
  private requireShare(now = Date.now()): ShareRow {
    const row = this.shareRow();
    if (!row) throw new FsError("ENOENT", "share not found");
    if (row.expires_at !== null && row.expires_at <= now) {
      throw new FsError("ENOENT", "share not found: the ephemeral share expired");
    }
    return row;
  }

  private static info(row: ShareRow): ShareInfo {
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

  /** Refuses a change that a lease protects, unless the request holds it. */
  private checkLeases(held: readonly string[], now: number, ...targets: LeaseTarget[]): void {
    this.leases.checkWrite(targets, held, now);
  }

  /** Runs a metadata change as one transaction, then re-aims the alarm. */
  private async change<T>(fn: (now: number) => T): Promise<Result<T>> {
    const result = await guard(() => this.ctx.storage.transactionSync(() => fn(Date.now())));
    await this.scheduleAlarm();
    return result;
  }

  private graceUntil(now: number): number {
    return now + this.config.gcGraceMs;
  }

  // ── Share lifecycle ──────────────────────────────────────────────────

  /**
   * Creates the share unless it exists; `strict` makes an existing one
   * EEXIST. An expired ephemeral share not yet reclaimed counts as absent:
   * it is reclaimed first, so the new share starts empty.
   */
  async createShare(
    env: string,
    name: string,
    strict: boolean,
    ephemeral?: Ephemeral,
  ): Promise<Result<{ info: ShareInfo; created: boolean }>> {
    const result = await this.change((now) => {
      const existing = this.shareRow();
      if (existing && (existing.expires_at === null || existing.expires_at > now)) {
        if (strict) throw new FsError("EEXIST", `share already exists: ${name}`);
        return { info: ShareDO.info(existing), created: false };
      }
      if (existing) this.dropShare(now);
      const row: ShareRow = {
        id: randomId(),
        name,
        env,
        kind: "nfs",
        created_at: now,
        ttl_ms: ephemeral?.ttlMs ?? null,
        expires_at: ephemeral ? now + ephemeral.ttlMs : null,
      };
      this.sql.exec(
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
      return { info: ShareDO.info(row), created: true };
    });
    if (result.ok && result.value.created) await registryFor(this.env, env).add(result.value.info);
    return result;
  }

  /** Extends an ephemeral share by its ttl from now. */
  async heartbeat(): Promise<Result<{ expiresAt: number }>> {
    const result = await this.change((now) => {
      const share = this.requireShare(now);
      if (share.ttl_ms === null) {
        throw new FsError("EINVAL", `share ${share.name} is not ephemeral: it needs no heartbeat`);
      }
      const expiresAt = now + share.ttl_ms;
      this.sql.exec("UPDATE share SET expires_at = ?", expiresAt);
      return ShareDO.info({ ...share, expires_at: expiresAt });
    });
    if (!result.ok) return result;
    await registryFor(this.env, result.value.env).add(result.value);
    return { ok: true, value: { expiresAt: result.value.expiresAt as number } };
  }

  /**
   * Forgets the share: tree, leases and identity now; every blob is queued
   * for GC at `blobsDueAt`. Synchronous SQL, for use inside a change.
   */
  private dropShare(blobsDueAt: number): void {
    this.ledger.releaseAll(blobsDueAt);
    // Writes in flight can no longer commit; their blobs go with the rest.
    this.ledger.abandonAll(blobsDueAt);
    this.tree.clear();
    this.leases.clear();
    this.uploads.clear();
    this.mounts.clear();
    this.sql.exec("DELETE FROM share");
  }

  async info(): Promise<Result<ShareInfo>> {
    return guard(() => ShareDO.info(this.requireShare()));
  }

  /**
   * Deletes the share: the tree goes now, every blob after the grace period.
   * The share's id goes too, so a share created later under the same name
   * starts empty and can never see these blobs.
   */
  async deleteShare(): Promise<Result<void>> {
    const result = await this.change((now) => {
      const share = this.requireShare(now);
      this.dropShare(this.graceUntil(now));
      return share;
    });
    if (!result.ok) return result;
    await registryFor(this.env, result.value.env).remove(result.value.name, result.value.id);
    return { ok: true, value: undefined };
  }

  // ── Reads ────────────────────────────────────────────────────────────

  async stat(path: FsPath): Promise<Result<FileEntry>> {
    return guard(() => {
      const share = this.requireShare();
      const entry = this.tree.entry(path);
      // The root has no row of its own: it dates from the share's creation.
      return path === ROOT ? { ...entry, mtime: share.created_at } : entry;
    });
  }

  async openRead(path: FsPath): Promise<Result<ReadTarget>> {
    return guard((): ReadTarget => {
      this.requireShare();
      const row = this.tree.require(path);
      if (row.type === "directory") throw new FsError("EISDIR", `is a directory: ${path}`, path);
      const entry = this.tree.entry(path);
      if (row.blob_id) {
        const key = this.sql
          .exec<{ key: string }>("SELECT key FROM blobs WHERE id = ?", row.blob_id)
          .one().key;
        return { entry, key };
      }
      return { entry, data: this.tree.inlineData(path) ?? new ArrayBuffer(0) };
    });
  }

  async list(query: ListQuery): Promise<Result<ListPage<FileEntry>>> {
    return guard(() => {
      this.requireShare();
      return query.kind === "glob"
        ? this.tree.listGlob(query.pattern, query.limit, query.cursor)
        : this.tree.listPath(query.path, query.recursive, query.limit, query.cursor);
    });
  }

  // ── Writes ───────────────────────────────────────────────────────────

  /** A small file: bytes and metadata commit together, no R2 involved. */
  async writeInline(
    path: FsPath,
    data: ArrayBuffer,
    conditions: WriteConditions,
    held: string[] = [],
  ): Promise<Result<{ entry: FileEntry; created: boolean }>> {
    return this.change((now) => {
      this.requireShare(now);
      this.mounts.refuseChange(path, false);
      this.checkLeases(held, now, { path, subtree: false });
      this.checkConditions(path, conditions);
      const version = { size: data.byteLength, etag: newEtag(), blobId: null, data };
      const created = this.tree.putFile(path, version, now, this.graceUntil(now));
      return { entry: this.tree.entry(path), created };
    });
  }

  private checkConditions(path: FsPath, conditions: WriteConditions): void {
    const current = this.tree.get(path);
    checkWriteConditions(
      conditions,
      current?.type === "file" ? (current.etag ?? undefined) : undefined,
      path,
    );
  }

  /**
   * Step 1 of a large write: fail fast on what would fail at commit, then
   * reserve a fresh blob key. The reservation expires (and its blob is
   * reclaimed) if the Worker never commits or abandons it.
   */
  async reserveWrite(
    path: FsPath,
    conditions: WriteConditions,
    held: string[] = [],
  ): Promise<Result<{ blobId: string; key: string }>> {
    return this.change((now) => {
      const share = this.precheckWrite(path, conditions, held, now);
      return this.reserveBlob(share, now + this.config.pendingTtlMs);
    });
  }

  /** Fails fast on what would fail at commit: no share, a lease, a type conflict, a condition. */
  private precheckWrite(
    path: FsPath,
    conditions: WriteConditions,
    held: readonly string[],
    now: number,
  ): ShareRow {
    const share = this.requireShare(now);
    this.mounts.refuseChange(path, false);
    this.checkLeases(held, now, { path, subtree: false });
    if (path === ROOT || this.tree.get(path)?.type === "directory") {
      throw new FsError("EISDIR", `is a directory: ${path}`, path);
    }
    for (const dir of ancestorsOf(path)) {
      if (this.tree.get(dir)?.type === "file") {
        throw new FsError("ENOTDIR", `not a directory: ${dir}`, dir);
      }
    }
    this.checkConditions(path, conditions);
    return share;
  }

  private reserveBlob(share: ShareRow, expiresAt: number): { blobId: string; key: string } {
    const blobId = randomId();
    const key = `blobs/${share.id}/${blobId}`;
    this.ledger.reserve(blobId, share.id, key, expiresAt);
    return { blobId, key };
  }

  /**
   * Step 2: the blob is durable in R2; swap the path's pointer to it in one
   * transaction, checking the write's conditions against the state now.
   */
  async commitWrite(
    path: FsPath,
    blobId: string,
    size: number,
    conditions: WriteConditions,
    held: string[] = [],
  ): Promise<Result<{ entry: FileEntry; created: boolean }>> {
    return this.change((now) => this.commitVersion(path, blobId, size, conditions, held, now));
  }

  /** Points `path` at a blob now durable in R2: conditions and leases as of this moment. */
  private commitVersion(
    path: FsPath,
    blobId: string,
    size: number,
    conditions: WriteConditions,
    held: readonly string[],
    now: number,
  ): { entry: FileEntry; created: boolean } {
    const share = this.requireShare(now);
    this.mounts.refuseChange(path, false);
    this.checkLeases(held, now, { path, subtree: false });
    this.checkConditions(path, conditions);
    if (!this.ledger.claim(blobId, share.id)) {
      throw new FsError("ENOENT", "the write's reservation expired or its share was deleted", path);
    }
    const version = { size, etag: newEtag(), blobId, data: null };
    const created = this.tree.putFile(path, version, now, this.graceUntil(now));
    return { entry: this.tree.entry(path), created };
  }

  /** The Worker gave up on a write: its blob is reclaimed at once. */
  async abortWrite(blobId: string): Promise<Result<void>> {
    return this.change((now) => this.ledger.abandon(blobId, now));
  }

  async mkdir(
    path: FsPath,
    held: string[] = [],
  ): Promise<Result<{ entry: FileEntry; created: boolean }>> {
    return this.change((now) => {
      this.requireShare(now);
      this.mounts.refuseChange(path, false);
      this.checkLeases(held, now, { path, subtree: false });
      const created = this.tree.mkdir(path, now);
      return { entry: this.tree.entry(path), created };
    });
  }

  /** `dropLeases`: the leases on what is removed go in the same transaction. */
  async remove(
    path: FsPath,
    recursive: boolean,
    held: string[] = [],
    dropLeases = false,
  ): Promise<Result<void>> {
    return this.change((now) => {
      this.requireShare(now);
      this.mounts.refuseChange(path, true);
      this.checkLeases(held, now, { path, subtree: true });
      if (path === ROOT) {
        if (!recursive && this.tree.hasChildren(ROOT)) {
          throw new FsError("ENOTEMPTY", "directory not empty: /", path);
        }
        if (recursive) this.tree.remove(ROOT, true, this.graceUntil(now));
      } else {
        this.tree.remove(path, recursive, this.graceUntil(now));
      }
      if (dropLeases) this.leases.releaseWithin(path);
    });
  }

  async move(
    from: FsPath,
    to: FsPath,
    overwrite: Overwrite,
    held: string[] = [],
    dropLeases = false,
  ): Promise<Result<FileEntry>> {
    return this.change((now) => {
      this.requireShare(now);
      this.mounts.refuseChange(from, true);
      this.mounts.refuseChange(to, true);
      this.checkLeases(held, now, { path: from, subtree: true }, { path: to, subtree: true });
      const moved = this.tree.move(from, to, overwrite, now, this.graceUntil(now));
      if (dropLeases && from !== to) this.leases.releaseWithin(from);
      return moved;
    });
  }

  async copy(
    from: FsPath,
    to: FsPath,
    opts: { recursive: boolean; overwrite: Overwrite },
    held: string[] = [],
  ): Promise<Result<FileEntry>> {
    return this.change((now) => {
      this.requireShare(now);
      this.mounts.refuseChange(to, true);
      this.checkLeases(held, now, { path: to, subtree: true });
      return this.tree.copy(from, to, opts, now, this.graceUntil(now));
    });
  }

  // ── Multipart uploads ────────────────────────────────────────────────
  // One protocol for the uploads API and for PUTs of unknown length: create
  // (reserve a blob), parts (each announced, streamed to R2 by the Worker,
  // recorded), complete (R2 stitches the parts, then the usual commit).

  async createUpload(
    path: FsPath,
    partSize: number,
    conditions: WriteConditions,
    held: string[],
    ttlMs: number,
  ): Promise<Result<{ uploadId: string; key: string; partSize: number; expiresAt: number }>> {
    return this.change((now) => {
      const share = this.precheckWrite(path, conditions, held, now);
      const expiresAt = now + ttlMs;
      const { blobId, key } = this.reserveBlob(share, expiresAt);
      const uploadId = randomId();
      this.uploads.create(
        { id: uploadId, path, blobId, key, partSize, conditions },
        now,
        expiresAt,
      );
      return { uploadId, key, partSize, expiresAt };
    });
  }

  /** Records R2's id for the upload, so parts can go to it and GC can abort it. */
  async startedUpload(uploadId: string, r2UploadId: string): Promise<Result<void>> {
    return this.change(() => {
      const row = this.uploads.attach(uploadId, r2UploadId);
      this.ledger.attachUpload(row.blob_id, r2UploadId);
    });
  }

  /** Where part `n` of `size` bytes goes, if it may be sent. */
  async partTarget(uploadId: string, n: number, size: number): Promise<Result<UploadTarget>> {
    return guard(() => {
      const now = Date.now();
      this.requireShare(now);
      const row = this.uploads.row(uploadId, now);
      this.uploads.checkPart(row, n, size);
      return this.uploads.target(row);
    });
  }

  async recordPart(uploadId: string, part: UploadPart): Promise<Result<void>> {
    return this.change((now) => {
      this.requireShare(now);
      this.uploads.recordPart(this.uploads.row(uploadId, now), part);
    });
  }

  async uploadStatus(uploadId: string): Promise<Result<UploadStatus>> {
    return guard(() => {
      const now = Date.now();
      this.requireShare(now);
      return this.uploads.status(uploadId, now);
    });
  }

  /**
   * Step 1 of completing: the parts must tile the file, and the write must
   * still be allowed. Marks the upload as completing, so no part can change
   * while R2 stitches them. A failed condition ends the upload, as a failed
   * conditional PUT discards its body; a lease (temporary) leaves it open.
   */
  async beginComplete(
    uploadId: string,
    held: string[],
  ): Promise<Result<{ target: UploadTarget; parts: UploadPart[]; size: number }>> {
    const outcome = await this.change((now) => {
      const row = this.uploads.row(uploadId, now);
      if (row.completing) throw new FsError("EINVAL", "the upload is already being completed");
      const target = this.uploads.target(row);
      const checked = guardSync(() =>
        this.precheckWrite(target.path, target.conditions, held, now),
      );
      if (!checked.ok) {
        if (checked.error.code === "EPRECONDITION") {
          this.uploads.remove(uploadId);
          this.ledger.abandon(row.blob_id, now);
        }
        return checked;
      }
      const { parts, size } = this.uploads.tiling(row);
      if (parts.length === 0) throw new FsError("EINVAL", "the upload has no parts");
      this.uploads.setCompleting(uploadId, true);
      return { ok: true as const, value: { target, parts, size } };
    });
    return outcome.ok ? outcome.value : outcome;
  }

  /** R2 could not stitch the parts: the client may try completing again. */
  async failComplete(uploadId: string): Promise<Result<void>> {
    return this.change((now) =>
      this.uploads.setCompleting(this.uploads.row(uploadId, now).id, false),
    );
  }

  /**
   * Step 2: R2 holds the whole object; commit it like a PUT. If the commit
   * is refused (a condition or lease, judged now), the upload is over and
   * its object is reclaimed; the refusal is returned all the same.
   */
  async finishUpload(
    uploadId: string,
    size: number,
    held: string[],
  ): Promise<Result<{ entry: FileEntry; created: boolean }>> {
    const outcome = await this.change((now) => {
      const target = this.uploads.target(this.uploads.row(uploadId, now));
      this.uploads.remove(uploadId);
      const committed = guardSync(() =>
        this.commitVersion(target.path, target.blobId, size, target.conditions, held, now),
      );
      if (!committed.ok) this.ledger.abandon(target.blobId, now);
      return committed;
    });
    return outcome.ok ? outcome.value : outcome;
  }

  async abortUpload(uploadId: string): Promise<Result<void>> {
    return this.change((now) => {
      const row = this.uploads.row(uploadId, now);
      this.uploads.remove(uploadId);
      this.ledger.abandon(row.blob_id, now);
    });
  }

  // ── Bucket mounts ────────────────────────────────────────────────────

  /**
   * Mounts a bucket at `path`, which must be free: no file there, no
   * non-empty directory, no overlap with another mount. The mount point
   * becomes a directory of the share, so listings show it.
   */
  async putMount(
    path: FsPath,
    config: MountConfig,
  ): Promise<Result<{ mount: Mount; created: boolean }>> {
    return this.change((now) => {
      this.requireShare(now);
      if (path === ROOT)
        throw new FsError("EINVAL", "a bucket cannot be mounted at the root of a share", path);
      const other = this.mounts
        .list()
        .find(
          (m) =>
            m.path !== path &&
            (isWithin(path, m.path as FsPath) || isWithin(m.path as FsPath, path)),
        );
      if (other) throw new FsError("EEXIST", `overlaps the bucket mount at ${other.path}`, path);
      if (!this.mounts.get(path)) {
        const existing = this.tree.get(path);
        if (existing?.type === "file")
          throw new FsError("EEXIST", `a file exists at ${path}`, path);
        if (existing && this.tree.hasChildren(path)) {
          throw new FsError(
            "EEXIST",
            `${path} holds share files: mount on an empty or new directory`,
            path,
          );
        }
      }
      const created = this.mounts.put(path, config, now);
      this.tree.mkdir(path, now);
      return { mount: this.mounts.get(path) as Mount, created };
    });
  }

  async deleteMount(path: FsPath): Promise<Result<void>> {
    return this.change((now) => {
      this.requireShare(now);
      if (!this.mounts.delete(path))
        throw new FsError("ENOENT", `no bucket is mounted at ${path}`, path);
      this.tree.remove(path, false, this.graceUntil(now));
    });
  }

  async listMounts(): Promise<Result<Mount[]>> {
    return guard(() => {
      this.requireShare();
      return this.mounts.list();
    });
  }

  // ── Path leases ──────────────────────────────────────────────────────

  async acquireLease(request: LeaseRequest): Promise<Result<Lease>> {
    return this.change((now) => {
      this.requireShare(now);
      if (
        this.mounts.containing(request.path) ||
        (request.depth === "infinity" && this.mounts.within(request.path))
      ) {
        throw new FsError(
          "ENOTSUP",
          "leases do not cover bucket mounts: writes there never pass through this share",
        );
      }
      return this.leases.acquire(request, now);
    });
  }

  async renewLease(id: string, ttlMs?: number): Promise<Result<Lease>> {
    return this.change((now) => {
      this.requireShare(now);
      return this.leases.renew(id, ttlMs, now);
    });
  }

  async releaseLease(id: string): Promise<Result<void>> {
    return this.change((now) => {
      this.requireShare(now);
      this.leases.release(id, now);
    });
  }

  async listLeases(under?: FsPath): Promise<Result<Lease[]>> {
    return guard(() => {
      const now = Date.now();
      this.requireShare(now);
      return this.leases.list(now, under);
    });
  }

  /** Leases by id, live ones only: the holders' claims, to check against paths. */
  async leasesById(ids: string[]): Promise<Result<Lease[]>> {
    return guard(() => {
      const now = Date.now();
      this.requireShare(now);
      return this.leases.byIds(ids, now);
    });
  }

  /** Where a path stands before a create or delete (Placement, core/leases.ts). */
  async placement(path: FsPath): Promise<Result<Placement>> {
    return guard(() => {
      const now = Date.now();
      const share = this.requireShare(now);
      const here = this.tree.get(path) ? this.tree.entry(path) : null;
      const entry = here && path === ROOT ? { ...here, mtime: share.created_at } : here;
      if (path === ROOT) return { entry, parentIsCollection: false, guards: [] };
      const parent = parentOf(path);
      return {
        entry,
        parentIsCollection: this.tree.get(parent)?.type === "directory",
        guards: this.leases.guarding(parent, now),
      };
    });
  }

  /** Live leases that cover `path` (on it, or depth infinity above it) or lie below it. */
  async leasesAround(path: FsPath): Promise<Result<Lease[]>> {
    return guard(() => {
      const now = Date.now();
      this.requireShare(now);
      return this.leases.around(path, now);
    });
  }

  // ── Dead properties (WebDAV PROPPATCH) ───────────────────────────────

  async properties(paths: FsPath[]): Promise<Result<Record<string, DeadProperty[]>>> {
    return guard(() => {
      this.requireShare();
      return Object.fromEntries(this.props.of(paths));
    });
  }

  /** Sets and removes properties of an existing entry, all or none; a write for leases. */
  async patchProperties(
    path: FsPath,
    changes: PropertyChange[],
    held: string[] = [],
  ): Promise<Result<void>> {
    return this.change((now) => {
      this.requireShare(now);
      this.mounts.refuseChange(path, false);
      this.tree.require(path);
      this.checkLeases(held, now, { path, subtree: false });
      this.props.apply(path, changes);
    });
  }

  /** Counts for operators and tests: what the share holds and owes to GC. */
  async usage(): Promise<{ entries: number; blobs: number; pending: number; gc: number }> {
    const entries = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM entries").one().n;
    return { entries, ...this.ledger.counts() };
  }

  // ── Alarm ────────────────────────────────────────────────────────────

  /**
   * The one scheduling rule: after every change, the alarm points at the
   * earliest due item — a GC batch, an expiring write reservation, a lease's
   * expiry, the ephemeral share's expiry. Setting it to the minimum means a
   * later item can never postpone an earlier one, and nothing due clears it.
   */
  private nextDue(): number | null {
    const candidates = [
      this.ledger.nextDue(),
      this.leases.nextExpiry(),
      this.shareRow()?.expires_at ?? null,
    ].filter((t): t is number => t !== null);
    return candidates.length === 0 ? null : Math.min(...candidates);
  }

  private async scheduleAlarm(): Promise<void> {
    const next = this.nextDue();
    const current = await this.ctx.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
    } else if (current !== next) {
      await this.ctx.storage.setAlarm(next);
    }
  }

  /**
   * Reclaims what is due, one R2 batch at a time. Alarms run at least once
   * and are retried on failure: a GC row is deleted only after R2 confirmed
   * the delete, and deleting an absent key is a no-op, so a retry never
   * double-frees (reference counts were settled when the row was queued).
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.reclaimIfExpired(now);
    this.ctx.storage.transactionSync(() => {
      this.ledger.expirePending(now);
      this.uploads.expire(now);
      this.leases.expire(now);
    });
    const due = this.ledger.due(now, GC_BATCH);
    if (due.length > 0) {
      await deleteBlobs(this.env.BLOBS, due);
      this.ledger.done(due.map((d) => d.key));
    }
    if (due.length === GC_BATCH) {
      // More is due: come back at once rather than waiting for the next item.
      await this.ctx.storage.setAlarm(Date.now());
      return;
    }
    await this.scheduleAlarm();
  }

  /**
   * An ephemeral share past its expiry is dropped whole; its blobs are due
   * at once (no reader can reach them: the share answers 404 since expiry)
   * and go in GC batches over the following alarm runs. The registry is told
   * first, so a retried alarm finds the share still there and repeats both.
   */
  private async reclaimIfExpired(now: number): Promise<void> {
    const share = this.shareRow();
    if (!share || share.expires_at === null || share.expires_at > now) return;
    await registryFor(this.env, share.env).remove(share.name, share.id);
    this.ctx.storage.transactionSync(() => this.dropShare(now));
  }
}
