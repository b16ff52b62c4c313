import type { Context } from "hono";
import {
  backendAt,
  backendForBothAt,
  featuresAt,
  type ShareTarget,
  shareTarget,
} from "../backends/resolve";
import { SNAPSHOT_FEATURES, SnapshotSource } from "../backends/snapshot-backend";
import type { Backend, BackendFeatures } from "../core/backend";
import { FsError, invalid } from "../core/errors";
import { blockingLease, covers, type Lease, type LeaseOps, type Placement } from "../core/leases";
import { baseName, type FsPath, parentOf, ROOT } from "../core/paths";
import type { FileEntry } from "../core/types";
import { runtimeOf } from "../http/backend";
import type { AppEnv } from "../http/env";
import { checkName, filePathOf, withoutOrigin } from "../http/params";
import { type IfList, ifHolds, parseIfHeader, submittedTokens } from "./if-header";
import { leaseIdOf, lockTokenOf } from "./locks";
import { davHref } from "./responses";
import { parseShareSegment, shareSegment } from "./snapshot";

/**
 * Whether a lock bears on a resource, for If header matching: it covers
 * the resource, or it is a depth-0 lock on its collection, which guards
 * the resource's membership there (RFC 4918 §7.5).
 */
function concerns(lease: Lease, path: FsPath): boolean {
  return (
    covers(lease, path) || (path !== ROOT && lease.depth === "0" && lease.path === parentOf(path))
  );
}

/** `/dav/{env}/{share}/{path}`: segments before the path. */
const PATH_AT = 3;

/**
 * One WebDAV request: the share it names, the path it acts on, the lock
 * tokens it submits, and the mapping between paths and the hrefs clients
 * see. Method handlers get everything protocol-wide from here.
 */
export class DavRequest {
  readonly target: ShareTarget;
  readonly path: FsPath;
  readonly trailingSlash: boolean;
  /** `/dav/{env}/{share}`: every href starts with it. */
  readonly root: string;
  /** Lease ids behind the lock tokens of the If header, once checked. */
  private held: string[] = [];
  private parsedIf: IfList[] | null | undefined;

  /** `/dav/{env}/{share}`: the live share's hrefs, whatever version this request reads. */
  readonly liveRoot: string;
  /** Set when the URL names a snapshot or a version (`{share}@…`): a read-only tree. */
  readonly snapshot: SnapshotSource | undefined;

  constructor(readonly c: Context<AppEnv>) {
    const environment = checkName(c.req.param("env"), "environment");
    const { share, at } = parseShareSegment(c.req.param("share"));
    this.target = shareTarget(c.env, environment, share);
    this.liveRoot = `/dav/${environment}/${share}`;
    this.root = `/dav/${environment}/${shareSegment(share, at)}`;
    this.snapshot = at && new SnapshotSource(() => runtimeOf(c), this.target, at);
    const { path, trailingSlash } = filePathOf(c.req.url, PATH_AT);
    this.path = path;
    this.trailingSlash = trailingSlash;
  }

  /** The If header, parsed when a method first needs it (GET never does). */
  private get ifLists(): IfList[] | null {
    if (this.parsedIf === undefined) {
      const header = this.c.req.header("if");
      this.parsedIf = header === undefined ? null : parseIfHeader(header);
    }
    return this.parsedIf;
  }

  get method(): string {
    return this.c.req.method;
  }

  header(name: string): string | undefined {
    return this.c.req.header(name);
  }

  /** The href of a path: segments percent-encoded, collections with a trailing slash. */
  hrefOf = (path: string, collection = false): string => davHref(this.root, path, collection);

  hrefOfEntry(path: FsPath, entry: FileEntry): string {
    return this.hrefOf(path, entry.type === "directory");
  }

  /** A resource's name as DAV:displayname shows it. */
  displayName(path: FsPath): string {
    return path === ROOT ? this.root.slice(this.root.lastIndexOf("/") + 1) : baseName(path);
  }

  /**
   * The path a URL (Destination, or an If header's resource tag) names in
   * this share: absolute or absolute-path form. Null when it lies outside
   * this share's WebDAV tree.
   */
  pathOfUrl(url: string, root = this.root): FsPath | null {
    const raw = withoutOrigin(url.trim());
    if (!raw.startsWith("/")) throw invalid(`not an absolute URL or path: ${url.slice(0, 200)}`);
    if (raw !== root && !raw.startsWith(`${root}/`)) return null;
    return filePathOf(raw, PATH_AT).path;
  }

  /** pathOfUrl in the live share's tree, for a snapshot request's COPY destination. */
  livePathOfUrl(url: string): FsPath | null {
    return this.pathOfUrl(url, this.liveRoot);
  }

  /** Whether a URL lies in a snapshot or version tree of this share (`{share}@…`). */
  inSnapshotOf(url: string): boolean {
    return withoutOrigin(url.trim()).startsWith(`${this.liveRoot}@`);
  }

  /** The storage at a path: at the request's version for a snapshot URL (read-only). */
  backend(path: FsPath = this.path): Promise<Backend> {
    if (this.snapshot) return this.snapshot.backendAt(path);
    return backendAt(runtimeOf(this.c), this.target, path, this.held);
  }

  /** One Backend for a COPY or MOVE; ENOTSUP when the paths lie on different storage. */
  backendForBoth(a: FsPath, b: FsPath): Promise<Backend> {
    return backendForBothAt(runtimeOf(this.c), this.target, a, b, this.held);
  }

  /**
   * What the storage at a path can do (locks, dead properties …), asked
   * without opening it: cheap enough for every entry of a listing, and
   * answered before any check of the storage itself.
   */
  features(path: FsPath): Promise<Readonly<BackendFeatures>> {
    if (this.snapshot) return Promise.resolve(SNAPSHOT_FEATURES);
    return featuresAt(this.target, path);
  }

  /** The lease ability of the storage at `path`; ENOTSUP where it has none (ask features first). */
  async leasesAt(path: FsPath): Promise<LeaseOps> {
    const leases = (await this.backend(path)).leases;
    if (!leases) throw new FsError("ENOTSUP", `the storage at ${path} takes no locks`, path);
    return leases;
  }

  /**
   * The leases that lock tokens name. A token stands for a lease of the
   * share, whatever path the request names, so they are looked up in the
   * share's own storage (the Backend for no path); without leases there, no
   * token names a lock.
   */
  async tokenLeases(): Promise<LeaseOps | undefined> {
    return (await backendAt(runtimeOf(this.c), this.target, undefined, this.held)).leases;
  }

  /** Lease ids this request holds: its If header's lock tokens, and locks it took itself. */
  get heldLeases(): string[] {
    return this.held;
  }

  hold(leaseId: string): void {
    this.held = [...this.held, leaseId];
  }

  /** The request's own resource: ENOENT if missing, or a file addressed as a collection ("f/"). */
  async resource(): Promise<FileEntry> {
    const entry = await (await this.backend()).stat(this.path);
    if (entry.type === "file" && this.trailingSlash) {
      throw new FsError("ENOENT", `${this.path} is a file, not a collection`, this.path);
    }
    return entry;
  }

  /** The entry at a path, or null; `live`: in the live share, even on a snapshot URL. */
  async stat(path: FsPath, live = false): Promise<FileEntry | null> {
    try {
      const backend = live
        ? backendAt(runtimeOf(this.c), this.target, path, this.held)
        : this.backend(path);
      return await (await backend).stat(path);
    } catch (e) {
      if (e instanceof FsError && (e.code === "ENOENT" || e.code === "ENOTDIR")) return null;
      throw e;
    }
  }

  /**
   * Judges the If header (RFC 4918 §10.4) and takes its lock tokens as the
   * leases this request holds. A header that does not hold is 412; without
   * one, the request holds no lock and locked resources refuse it (423).
   */
  async checkIf(): Promise<void> {
    if (this.ifLists === null) return;
    const leases = await this.submittedLeases();
    const byToken = new Map<string, Lease>(leases.map((l) => [lockTokenOf(l.leaseId), l]));
    const states = new Map<string, { path: FsPath | null; etag?: string }>();
    for (const list of this.ifLists) {
      const key = list.resource ?? "";
      if (states.has(key)) continue;
      let path = list.resource === null ? this.path : this.pathOfUrl(list.resource);
      // A snapshot's COPY names its live destination: judged in the live share.
      const live = path === null && list.resource !== null && this.snapshot !== undefined;
      if (live) path = this.livePathOfUrl(list.resource as string);
      const needsEtag = list.conditions.some((c) => c.etag !== undefined);
      const entry = path !== null && needsEtag ? await this.stat(path, live) : null;
      states.set(key, { path, etag: entry?.etag });
    }
    const holds = ifHolds(this.ifLists, (resource) => {
      const state = states.get(resource ?? "") ?? { path: null };
      return {
        etag: state.etag,
        hasLock: (token) => {
          const lease = byToken.get(token.trim().toLowerCase());
          return lease !== undefined && state.path !== null && concerns(lease, state.path);
        },
      };
    });
    if (!holds) {
      throw new FsError("EPRECONDITION", "the If header's conditions do not hold", this.path);
    }
    this.held = leases.map((l) => l.leaseId);
  }

  /** The live locks named by the If header's lock tokens. */
  async submittedLeases(): Promise<Lease[]> {
    if (this.ifLists === null) return [];
    const ids = submittedTokens(this.ifLists).flatMap((t) => {
      const id = leaseIdOf(t);
      return id === null ? [] : [id];
    });
    if (ids.length === 0) return [];
    return (await (await this.tokenLeases())?.byIds(ids)) ?? [];
  }

  /**
   * Where a path stands before something is created or removed there: the
   * resource itself, whether its parent is a collection, and the depth-0
   * locks on that parent. Storage with leases answers in one step; storage
   * without is asked for both entries and has no locks.
   */
  async placement(path: FsPath): Promise<Placement> {
    const leases = (await this.backend(path)).leases;
    if (leases) return leases.placement(path);
    const entry = await this.stat(path);
    const parent = path === ROOT ? null : await this.stat(parentOf(path));
    return { entry, parentIsCollection: parent?.type === "directory", guards: [] };
  }

  /**
   * A depth-0 lock on a collection guards its membership (RFC 4918 §7.5):
   * adding or removing a member needs its token. This is WebDAV's rule, so
   * it is checked here; the native API's depth-0 leases cover the path alone.
   */
  requireMembership(path: FsPath, guards: readonly Lease[]): void {
    if (blockingLease(guards, this.held)) {
      throw new FsError(
        "ELOCKED",
        `${parentOf(path)} is locked with depth 0: adding or removing its members needs the lock token`,
        parentOf(path),
      );
    }
  }

  /** requireMembership for removing existing resources (DELETE, the source of a MOVE). */
  async checkMembership(path: FsPath): Promise<void> {
    if (path === ROOT) return;
    this.requireMembership(path, (await this.placement(path)).guards);
  }
}
