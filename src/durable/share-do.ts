import { DurableObject } from "cloudflare:workers";
import { configFrom } from "../config";
import type { KeyQuery, KeyTarget, ListQuery, Overwrite, ReadAt } from "../core/backend";
import { afterVersion, type FeedPage, type FeedPosition } from "../core/changes";
import { ERROR_STATUS } from "../core/errors";
import type { LeaseRequest } from "../core/leases";
import type { FsPath } from "../core/paths";
import type { WriteConditions } from "../core/preconditions";
import type { PropertyChange } from "../core/properties";
import type { NamedPart } from "../core/uploads";
import { AlarmSchedule } from "./alarm";
import { BatchCommit, type BatchOp, type BatchOptions } from "./batch-commit";
import { FeedWatchers, type Watch } from "./feed-watchers";
import type { CopyOutcome } from "./file-tree";
import { HookDelivery } from "./hook-delivery";
import { removeKeys } from "./key-removal";
import { MountPoints } from "./mount-points";
import type { MountConfig } from "./mount-table";
import { guard, guardSync, type Result } from "./rpc";
import { migrate } from "./schema";
import { type Ephemeral, ShareLifecycle } from "./share-lifecycle";
import { ShareReads } from "./share-reads";
import { type At, type Live, ShareState } from "./share-state";
import { TreeChanges } from "./tree-changes";
import { type Linked, TreeJobs } from "./tree-jobs";
import { type SeedRequest, seedFiles } from "./tree-seed";
import type { ReceivedPart } from "./upload-table";
import { WriteProtocol } from "./write-protocol";

export type { Ephemeral } from "./share-lifecycle";
export type { Placement, ReadTarget } from "./share-reads";

/** A refusal that must still commit what the change did before it (see WriteProtocol). */
const settled = <T>(r: Result<Result<T>>): Result<T> => (r.ok ? r.value : r);

/**
 * One share: its identity, file tree, blob ledger and GC, in the object's
 * SQLite. The Durable Object serializes every metadata change of the share;
 * each change runs in one SQL transaction, so commits are atomic and
 * ordered. File bytes never pass through here: the Worker streams them to
 * and from R2 and only asks this object where they are.
 *
 * This class is the RPC surface only: each method hands its step to the
 * object for its concern, through `read` or the one change guard `change`.
 * Methods return a Result (rpc.ts); Workers call them through shareClient.
 */
export class ShareDO extends DurableObject<Env> {
  private readonly state: ShareState;
  private readonly lifecycle: ShareLifecycle;
  private readonly reads: ShareReads;
  private readonly writes: WriteProtocol;
  private readonly changes: TreeChanges;
  private readonly mountPoints: MountPoints;
  private readonly alarms: AlarmSchedule;
  private readonly jobs: TreeJobs;
  private readonly batch: BatchCommit;
  private readonly watchers: FeedWatchers;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // All steps or none: a step that fails leaves the previous schema, not half of one.
    ctx.storage.transactionSync(() => migrate(ctx.storage.sql));
    this.state = new ShareState(ctx.storage.sql, configFrom(env), () => this.watchers.wake());
    this.lifecycle = new ShareLifecycle(this.state, ctx.storage, env);
    this.reads = new ShareReads(this.state);
    this.writes = new WriteProtocol(this.state, this.lifecycle);
    this.changes = new TreeChanges(this.state);
    this.mountPoints = new MountPoints(this.state);
    this.jobs = new TreeJobs(this.state, this.changes, ctx.storage);
    this.batch = new BatchCommit(this.state, this.changes);
    this.watchers = new FeedWatchers(
      ctx,
      () => this.state.feed,
      () => this.lifecycle.require(Date.now()),
    );
    const hooks = new HookDelivery(this.state, (filter) => this.watchers.matcher(filter));
    this.alarms = new AlarmSchedule(
      this.state,
      this.lifecycle,
      this.jobs,
      hooks,
      ctx.storage,
      env.BLOBS,
    );
    // A watcher's keep-alive is answered without waking a hibernating object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** A read of the live share (ENOENT if absent or expired), FsErrors as Results. */
  private read<T>(fn: (at: Live) => T): Promise<Result<T>> {
    return guard(() => {
      const now = Date.now();
      return fn({ now, share: this.lifecycle.require(now) });
    });
  }

  /**
   * The change guard: every change runs here as one SQL transaction, on the
   * live share (ENOENT if absent or expired) unless it says "any" (creating
   * a share; upload and write steps that settle what a share left behind);
   * an FsError comes back as a Result and rolls the transaction back; and
   * the alarm is re-aimed afterwards at the earliest item now due.
   */
  private change<T>(fn: (at: Live) => T): Promise<Result<T>>;
  private change<T>(fn: (at: At) => T, share: "any"): Promise<Result<T>>;
  private async change<T>(fn: (at: Live) => T, share?: "any"): Promise<Result<T>> {
    const result = guardSync(() =>
      this.ctx.storage.transactionSync(() => {
        this.state.nodes.beginChange();
        const now = Date.now();
        const at: At = share === "any" ? { now } : { now, share: this.lifecycle.require(now) };
        return (fn as (at: At) => T)(at);
      }),
    );
    this.jobs.settleVanished();
    await this.alarms.schedule();
    return result;
  }

  // ── Share lifecycle ──────────────────────────────────────────────────

  async createShare(env: string, name: string, strict: boolean, ephemeral?: Ephemeral) {
    const created = this.change(
      (at) => this.lifecycle.create(at, env, name, strict, ephemeral),
      "any",
    );
    return this.lifecycle.announceCreated(await created);
  }

  async heartbeat() {
    return this.lifecycle.announceHeartbeat(
      await this.change((at) => this.lifecycle.heartbeat(at)),
    );
  }

  async info() {
    return this.read(({ share }) => this.lifecycle.detail(share));
  }

  /** Sets or clears the share's limits (null clears; an absent field stays). */
  async setQuota(quota: { bytes?: number | null; files?: number | null }) {
    return this.change((at) => this.lifecycle.setQuota(at, quota));
  }

  async deleteShare() {
    return this.lifecycle.announceDeleted(await this.change((at) => this.lifecycle.delete(at)));
  }

  // ── Reads ────────────────────────────────────────────────────────────

  /** `version`: the tree as it was then (resolved by resolveVersion first). */
  async stat(path: FsPath, version?: number) {
    return this.read((at) => this.reads.stat(at, path, version));
  }

  async openRead(path: FsPath, version?: number) {
    return this.read((at) => this.reads.openRead(at, path, version));
  }

  async list(query: ListQuery, version?: number) {
    return this.read((at) => this.reads.list(at, query, version));
  }

  /** S3's key listing of the latest tree; `scanBudget` can only lower the rows it reads. */
  async listKeys(query: KeyQuery, scanBudget?: number) {
    return this.read((at) => this.reads.listKeys(at, query, scanBudget));
  }

  /** The versions of what stood at `path`, newest first, before `cursor` (a version). */
  async history(path: FsPath, limit: number, before?: number) {
    return this.read(({ share }) =>
      this.state.history.of(path, limit, before, share.first_version),
    );
  }

  async resolveVersion(at: ReadAt) {
    return this.read((live) => this.reads.resolveVersion(live, at));
  }

  // ── Change feed ──────────────────────────────────────────────────────

  /**
   * A page of the change feed after `after` (null: from now), of the events
   * `filter` keeps. With `waitMs`, a page that would be empty waits here for
   * the next matching event, up to `waitMs` (a long-poll).
   */
  async readChanges(
    after: FeedPosition | null,
    filter: string | null,
    limit: number,
    waitMs = 0,
    /** A stream following the feed: its page comes with the next fan-out round. */
    follow = false,
  ): Promise<Result<FeedPage>> {
    const first = await this.read(() => {
      const watch = { after: after ?? afterVersion(this.state.nodes.version()), filter, limit };
      this.state.feed.check(watch.after);
      if (follow && waitMs > 0) return { watch, page: null };
      const page = this.state.feed.page(watch.after, this.watchers.matcher(filter), limit);
      return { watch, page };
    });
    if (!first.ok) return first;
    const { watch, page } = first.value;
    if (page === null) return this.watchers.wait(watch, waitMs, true);
    if (page.events.length > 0 || page.more || waitMs <= 0) return { ok: true, value: page };
    return this.watchers.wait({ ...watch, after: page.position }, waitMs);
  }

  /**
   * The WebSocket of GET …/changes/ws (the Worker checked the token and the
   * query): accepted here for hibernation, so an idle watcher costs
   * nothing and survives the object's eviction.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("a WebSocket upgrade is expected", { status: 426 });
    }
    const url = new URL(request.url);
    const since = url.searchParams.get("after");
    const filter = url.searchParams.get("filter");
    const limit = Number(url.searchParams.get("limit"));
    const until = url.searchParams.get("until");
    const checked = await this.read(() => {
      const watch: Watch = {
        after: since === null ? afterVersion(this.state.nodes.version()) : Number(since),
        filter,
        limit,
        ...(until === null ? {} : { until: Number(until) }),
      };
      this.state.feed.check(watch.after);
      this.watchers.matcher(filter);
      return watch;
    });
    if (!checked.ok) {
      return Response.json({ error: checked.error }, { status: ERROR_STATUS[checked.error.code] });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.watchers.accept(server, checked.value);
    const protocol = url.searchParams.get("protocol");
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: protocol ? { "sec-websocket-protocol": protocol } : {},
    });
  }

  /** Watchers only listen; anything they send other than "ping" is refused. */
  override async webSocketMessage(ws: WebSocket): Promise<void> {
    ws.close(1003, 'this socket only sends changes; send "ping" to keep it alive');
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // Completes the closing handshake the watcher started (1005/1006 may not be sent back).
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "bye");
    } catch {
      // Already closed.
    }
  }

  // ── Webhooks ─────────────────────────────────────────────────────────

  /** A hook from now on (the Worker checked its URL, filter and secret). */
  async createHook(url: string, filter: string | null, secret: string) {
    return this.change(({ now }) =>
      this.state.hooks.create(url, filter, secret, this.state.nodes.version(), now),
    );
  }

  async listHooks() {
    return this.read(() => this.state.hooks.list());
  }

  async deleteHook(id: string) {
    return this.change(() => this.state.hooks.delete(id));
  }

  // ── Snapshots ────────────────────────────────────────────────────────

  async createSnapshot(name: string, version?: number) {
    return this.change(({ now, share }) =>
      this.state.snapshots.create(name, version, share.first_version, now),
    );
  }

  async listSnapshots() {
    return this.read(() => this.state.snapshots.list());
  }

  async deleteSnapshot(name: string) {
    return this.change(() => this.state.snapshots.delete(name));
  }

  async placement(path: FsPath) {
    return this.read((at) => this.reads.placement(at, path));
  }

  /** Counts for operators and tests: what the share holds and owes to GC. */
  async usage() {
    return this.reads.usage();
  }

  /** The same counts of a live share, as a Result (the dev route /_dev/share-usage). */
  async counts() {
    return this.read(() => this.reads.usage());
  }

  // ── Writes ───────────────────────────────────────────────────────────

  async writeInline(
    path: FsPath,
    data: ArrayBuffer,
    conditions: WriteConditions,
    held: string[],
    etag: string,
    attrs: string | null,
  ) {
    return this.change((at) =>
      this.writes.writeInline(at, path, data, conditions, held, etag, attrs),
    );
  }

  async reserveWrite(path: FsPath, conditions: WriteConditions, held: string[] = []) {
    return this.change((at) => this.writes.reserve(at, path, conditions, held));
  }

  async commitWrite(
    path: FsPath,
    blobId: string,
    size: number,
    conditions: WriteConditions,
    held: string[],
    etag: string,
    attrs: string | null,
  ) {
    return this.change((at) =>
      this.writes.commit(at, path, blobId, size, conditions, held, etag, attrs),
    );
  }

  async abortWrite(blobId: string) {
    return this.change((at) => this.writes.abort(at, blobId), "any");
  }

  // ── Multipart uploads ────────────────────────────────────────────────

  async createUpload(
    path: FsPath,
    partSize: number | undefined,
    conditions: WriteConditions,
    held: string[],
    ttlMs: number,
    size?: number,
    stage = false,
    attrs: string | null = null,
  ) {
    return this.change((at) =>
      this.writes.createUpload(at, path, partSize, conditions, held, ttlMs, size, stage, attrs),
    );
  }

  async startedUpload(uploadId: string, r2UploadId: string) {
    return this.change(() => this.writes.started(uploadId, r2UploadId), "any");
  }

  async partTarget(uploadId: string, n: number, size: number) {
    return this.read((at) => this.writes.partTarget(at, uploadId, n, size));
  }

  async recordPart(uploadId: string, part: ReceivedPart) {
    return this.change((at) => this.writes.recordPart(at, uploadId, part));
  }

  async uploadStatus(uploadId: string) {
    return this.read((at) => this.writes.status(at, uploadId));
  }

  /** Open uploads by key (Backend.listUploads). */
  async listUploads(query: {
    prefix: string;
    after?: { path: string; uploadId?: string };
    limit: number;
  }) {
    return this.read(({ now }) => this.state.uploads.list(query, now));
  }

  async beginComplete(uploadId: string, held: string[], named?: NamedPart[]) {
    return settled(
      await this.change((at) => this.writes.beginComplete(at, uploadId, held, named), "any"),
    );
  }

  async failComplete(uploadId: string) {
    return this.change((at) => this.writes.failComplete(at, uploadId), "any");
  }

  /** `etag`: the file's, when the Worker computed one from the parts; else the ShareDO makes a random one. */
  async finishUpload(uploadId: string, size: number, held: string[], etag?: string) {
    return settled(
      await this.change((at) => this.writes.finishUpload(at, uploadId, size, held, etag), "any"),
    );
  }

  async abortUpload(uploadId: string) {
    return this.change((at) => this.writes.abortUpload(at, uploadId), "any");
  }

  // ── Batch commits ────────────────────────────────────────────────────

  /** Before a batch's large contents go to R2: its preconditions, then `blobs` reserved keys. */
  async reserveBatch(options: BatchOptions, putPaths: FsPath[], blobs: number) {
    return this.change((at) => this.batch.reserve(at, options, putPaths, blobs));
  }

  /**
   * Every op of a batch in one change: one version, all or nothing. A
   * refused batch abandons the blobs the Worker put for it at once (a
   * staged upload it named stays, to be committed by another batch).
   */
  async commitBatch(ops: BatchOp[], options: BatchOptions, held: string[] = []) {
    const result = await this.change((at) => this.batch.commit(at, ops, options, held));
    if (!result.ok) {
      const blobs = ops.flatMap((o) => ("blobId" in o ? [o.blobId] : []));
      if (blobs.length > 0) {
        await this.change((at) => {
          for (const id of blobs) this.writes.abort(at, id);
        }, "any");
      }
    }
    return result;
  }

  /** The Worker could not put a batch's contents: its reservations go at once. */
  async abortWrites(blobIds: string[]) {
    return this.change((at) => {
      for (const id of blobIds) this.writes.abort(at, id);
    }, "any");
  }

  // ── Namespace changes ────────────────────────────────────────────────

  async mkdir(path: FsPath, held: string[] = []) {
    return this.change((at) => ({
      ...this.changes.mkdir(at, path, held),
      version: this.state.nodes.version(),
    }));
  }

  /** `dropLeases`: the leases on what is removed go in the same transaction. */
  /** S3's DeleteObject(s): many keys in one change (key-removal.ts). */
  async removeKeys(keys: KeyTarget[], held: string[] = []) {
    return this.change((at) => ({
      results: removeKeys(this.state, at, keys, held),
      version: this.state.nodes.version(),
    }));
  }

  async remove(path: FsPath, recursive: boolean, held: string[] = [], dropLeases = false) {
    return this.change((at) => {
      this.changes.remove(at, path, recursive, held, dropLeases);
      return { version: this.state.nodes.version() };
    });
  }

  async move(
    from: FsPath,
    to: FsPath,
    overwrite: Overwrite,
    held: string[] = [],
    dropLeases = false,
  ) {
    return this.change((at) => ({
      entry: this.changes.move(at, from, to, overwrite, held, dropLeases),
      version: this.state.nodes.version(),
    }));
  }

  /**
   * A copy too big for one transaction becomes a job the alarm runs in
   * batches (tree-copy.ts); the request waits here until it links. If the
   * object restarts meanwhile the request fails, and the job still finishes.
   */
  async copy(
    from: FsPath,
    to: FsPath,
    opts: { recursive: boolean; overwrite: Overwrite; attrs?: string | null },
    held: string[] = [],
  ): Promise<Result<Linked>> {
    return this.waitingForJob((at) => this.changes.copy(at, from, to, opts, held));
  }

  /**
   * Restores a file or subtree from an older version (or snapshot) as one
   * new version; a big subtree is a job the request waits for, as a copy.
   */
  async restore(from: FsPath, at: ReadAt, to: FsPath, held: string[] = []) {
    return this.waitingForJob((live) =>
      this.changes.restore(live, from, this.reads.resolveVersion(live, at), to, held),
    );
  }

  /** A change that may become a copy job: its answer, or the job's once it links. */
  private async waitingForJob(fn: (at: Live) => CopyOutcome): Promise<Result<Linked>> {
    let linked: Promise<Result<Linked>> | undefined;
    const started = await this.change((at) => {
      const outcome = fn(at);
      if (outcome.job) linked = this.jobs.expect(outcome.job.id);
      return { entry: outcome.entry, version: this.state.nodes.version() };
    });
    if (!started.ok) return started;
    return linked ?? { ok: true, value: started.value as Linked };
  }

  // ── Bucket mounts ────────────────────────────────────────────────────

  async putMount(path: FsPath, config: MountConfig) {
    return this.change((at) => this.mountPoints.mount(at, path, config));
  }

  async deleteMount(path: FsPath) {
    return this.change((at) => this.mountPoints.unmount(at, path));
  }

  async listMounts() {
    return this.read(() => this.state.mounts.list());
  }

  // ── Path leases ──────────────────────────────────────────────────────

  async acquireLease(request: LeaseRequest) {
    return this.change((at) => this.mountPoints.acquireLease(at, request));
  }

  async renewLease(id: string, ttlMs?: number) {
    return this.change(({ now }) => this.state.leases.renew(id, ttlMs, now));
  }

  async releaseLease(id: string) {
    return this.change(({ now }) => this.state.leases.release(id, now));
  }

  async listLeases(under?: FsPath) {
    return this.read(({ now }) => this.state.leases.list(now, under));
  }

  /** Leases by id, live ones only: the holders' claims, to check against paths. */
  async leasesById(ids: string[]) {
    return this.read(({ now }) => this.state.leases.byIds(ids, now));
  }

  /** Live leases that cover `path` (on it, or depth infinity above it) or lie below it. */
  async leasesAround(path: FsPath) {
    return this.read(({ now }) => this.state.leases.around(path, now));
  }

  // ── Dead properties (WebDAV PROPPATCH) ───────────────────────────────

  async properties(paths: FsPath[]) {
    return this.read((at) => this.reads.properties(at, paths));
  }

  /** Sets and removes properties of an existing entry, all or none; a write for leases. */
  async patchProperties(path: FsPath, changes: PropertyChange[], held: string[] = []) {
    return this.change((at) => this.changes.patchProperties(at, path, changes, held));
  }

  /** Dev routes only: many files in one call, for benchmarks and tests at scale (tree-seed.ts). */
  async seed(req: SeedRequest) {
    return this.change((at) => seedFiles(at, this.state, req));
  }

  override async alarm(): Promise<void> {
    await this.alarms.run();
  }
}
