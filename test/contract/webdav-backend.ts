import type {
  Backend,
  BackendFeatures,
  Committed,
  ListedUpload,
  ListQuery,
  Moved,
  Overwrite,
  ReadOptions,
  ReadResult,
  UploadInfo,
  UploadPart,
  UploadStatus,
  WriteBody,
  WriteResult,
} from "../../src/core/backend";
import { type ErrorCode, FsError } from "../../src/core/errors";
import { type FsPath, parentOf } from "../../src/core/paths";
import type { WriteConditions } from "../../src/core/preconditions";
import type { FileEntry, ListPage } from "../../src/core/types";
import { encodePath, request } from "./http-backend";

/**
 * A Backend that speaks WebDAV (RFC 4918) to /dav of one share, so the
 * contract suite runs through the WebDAV front-end. Where WebDAV has
 * another word for the same failure, it is read back as the contract's
 * code: a DAV:error body carries edgefs's code; the bare statuses of RFC
 * 4918 are mapped per method (405 on PUT: a collection is there, EISDIR;
 * 409: a parent is not a collection, ENOTDIR; 412 with Overwrite: F,
 * EEXIST; 403 on COPY/MOVE onto or into itself, EINVAL). The contract
 * creates parents and WebDAV does not (§9.7.1), so the adapter MKCOLs
 * them first, as a client syncing a tree does. What WebDAV cannot say at
 * all (globs, cursors, non-recursive DELETE, multipart uploads) is
 * ENOTSUP here, and the run skips those cases by name.
 */
export class WebDavBackend implements Backend {
  private readonly root: string;

  /** WebDAV over share storage: MOVE renames; there are no multipart uploads. */
  readonly features: BackendFeatures = {
    rename: true,
    leases: false,
    deadProperties: false,
    conditionalWrites: true,
    multipart: false,
    versions: false,
    space: false,
  };

  constructor(share: string) {
    this.root = `/dav/main/${share}`;
  }

  private send(method: string, path: string, init: Parameters<typeof request>[2] = {}) {
    return request(method, `${this.root}${encodePath(path)}`, init);
  }

  /** The contract's code of a failed WebDAV answer. */
  private async failure(res: Response, bare: Record<number, ErrorCode>, path: string) {
    const text = await res.text();
    const code = /<(?:\w+:)?code>([A-Z]+)<\/(?:\w+:)?code>/.exec(text)?.[1] as
      | ErrorCode
      | undefined;
    const message = /<(?:\w+:)?message>([^<]*)</.exec(text)?.[1] ?? `WebDAV ${res.status}`;
    const mapped = code ?? bare[res.status];
    if (!mapped) throw new Error(`WebDAV answered ${res.status} with no code: ${text}`);
    return new FsError(mapped, message, path);
  }

  private async propfind(path: string, depth: "0" | "1"): Promise<FileEntry[]> {
    const res = await this.send("PROPFIND", path, { headers: { depth } });
    if (res.status !== 207) throw await this.failure(res, { 404: "ENOENT" }, path);
    const xml = await res.text();
    const entries: FileEntry[] = [];
    for (const [, block = ""] of xml.matchAll(
      /<(?:\w+:)?response>([\s\S]*?)<\/(?:\w+:)?response>/g,
    )) {
      const prop = (name: string) => new RegExp(`<(?:\\w+:)?${name}>([^<]*)</`).exec(block)?.[1];
      const href = decodeURIComponent(prop("href") ?? "")
        .slice(this.root.length)
        .replace(/\/$/, "");
      const directory = /<(?:\w+:)?collection\s*\/>/.test(block);
      const mtime = Date.parse(prop("getlastmodified") ?? "") || 0;
      const etag = prop("getetag")?.replace(/&quot;/g, '"');
      const entry: FileEntry = directory
        ? { path: href || "/", absolutePath: href || "/", type: "directory", size: 0, mtime }
        : {
            path: href,
            absolutePath: href,
            type: "file",
            size: Number(prop("getcontentlength") ?? 0),
            mtime,
          };
      if (!directory && etag) entry.etag = etag;
      entries.push(entry);
    }
    return entries;
  }

  /** WebDAV has no key listing: S3's ListObjectsV2 is the S3 front-end's. */
  async listKeys(): Promise<never> {
    throw new FsError("ENOTSUP", "WebDAV has no S3 key listing");
  }

  /** S3's key deletes have no WebDAV spelling; the S3 front-end's tests cover them (test/worker/s3api.test.ts). */
  deleteKeys(): Promise<never> {
    return Promise.reject(new FsError("ENOTSUP", "WebDAV deletes by path, not by S3 key"));
  }

  async stat(path: FsPath): Promise<FileEntry> {
    const [entry] = await this.propfind(path, "0");
    if (!entry) throw new Error("PROPFIND answered no response");
    return entry;
  }

  async list(query: ListQuery): Promise<ListPage<FileEntry>> {
    if (query.kind === "glob") throw new FsError("ENOTSUP", "WebDAV has no globs");
    if (query.recursive || query.cursor !== undefined) {
      throw new FsError("ENOTSUP", "WebDAV has no cursors, and no Depth: infinity here");
    }
    const [self, ...children] = await this.propfind(query.path, "1");
    if (self?.type === "file") return { entries: [self] };
    const prefix = query.path === "/" ? "/" : `${query.path}/`;
    return { entries: children.map((e) => ({ ...e, path: e.path.slice(prefix.length) })) };
  }

  async read(path: FsPath, o: ReadOptions): Promise<ReadResult> {
    const headers: Record<string, string> = {};
    if (o.range !== undefined) headers.range = o.range;
    if (o.ifRange !== undefined) headers["if-range"] = o.ifRange;
    if (o.ifMatch !== undefined) headers["if-match"] = o.ifMatch;
    if (o.ifNoneMatch !== undefined) headers["if-none-match"] = o.ifNoneMatch;
    if (o.ifModifiedSince !== undefined) headers["if-modified-since"] = o.ifModifiedSince;
    const res = await this.send(o.headOnly ? "HEAD" : "GET", path, { headers });
    if (!res.ok && res.status !== 304) throw await this.failure(res, {}, path);
    const etag = res.headers.get("etag") ?? undefined;
    const mtime = Date.parse(res.headers.get("last-modified") ?? "") || 0;
    const entry = (size: number): FileEntry =>
      etag === undefined
        ? { path, absolutePath: path, type: "file", size, mtime }
        : { path, absolutePath: path, type: "file", size, mtime, etag };
    const body = o.headOnly ? null : res.body;
    if (res.status === 304) return { status: 304, entry: entry(0) };
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
      if (!m) throw new Error("206 without a Content-Range");
      const range = { offset: Number(m[1]), length: Number(m[2]) - Number(m[1]) + 1 };
      return { status: 206, entry: entry(Number(m[3])), range, body };
    }
    return { status: 200, entry: entry(Number(res.headers.get("content-length") ?? 0)), body };
  }

  /** MKCOL each missing ancestor of `path`, top down (405: it exists). */
  private async makeParents(path: FsPath): Promise<void> {
    const chain: FsPath[] = [];
    for (let p = parentOf(path); p !== "/"; p = parentOf(p)) chain.unshift(p);
    for (const p of chain) {
      const res = await this.send("MKCOL", p);
      if (res.status === 409) throw new FsError("ENOTDIR", `a parent of ${p} is a file`, path);
      await res.body?.cancel();
    }
  }

  async write(path: FsPath, body: WriteBody, c: WriteConditions): Promise<WriteResult> {
    await this.makeParents(path);
    const headers: Record<string, string> = {};
    if (c.ifMatch) headers["if-match"] = c.ifMatch.join(", ");
    if (c.ifNoneMatch) headers["if-none-match"] = c.ifNoneMatch.join(", ");
    if (body.length !== undefined) headers["content-length"] = String(body.length);
    const res = await this.send("PUT", path, { body: body.stream, headers });
    if (!res.ok) throw await this.failure(res, { 405: "EISDIR", 409: "ENOTDIR" }, path);
    return { entry: await this.stat(path), created: res.status === 201 };
  }

  async mkdir(path: FsPath): Promise<WriteResult> {
    await this.makeParents(path);
    const res = await this.send("MKCOL", path);
    if (res.status === 405) {
      await res.body?.cancel();
      const entry = await this.stat(path);
      if (entry.type === "file") throw new FsError("ENOTDIR", `a file exists at ${path}`, path);
      return { entry, created: false };
    }
    if (res.status !== 201) throw await this.failure(res, { 409: "ENOTDIR" }, path);
    return { entry: await this.stat(path), created: true };
  }

  /** DELETE is always Depth: infinity (RFC 4918 §9.6.1): `recursive` cannot be said. */
  async remove(path: FsPath): Promise<Committed> {
    const res = await this.send("DELETE", path);
    if (!res.ok) throw await this.failure(res, {}, path);
    return {};
  }

  async move(from: FsPath, to: FsPath, o: { overwrite: Overwrite }): Promise<Moved> {
    return { entry: await this.transfer("MOVE", from, to, o.overwrite, "infinity") };
  }

  async copy(
    from: FsPath,
    to: FsPath,
    o: { overwrite: Overwrite; recursive: boolean },
  ): Promise<Moved> {
    return {
      entry: await this.transfer("COPY", from, to, o.overwrite, o.recursive ? "infinity" : "0"),
    };
  }

  /** COPY or MOVE; WebDAV's Overwrite: T is the contract's "any", F is false. */
  private async transfer(
    method: string,
    from: FsPath,
    to: FsPath,
    overwrite: Overwrite,
    depth: string,
  ): Promise<FileEntry> {
    if (from !== to) await this.makeParents(to);
    const res = await this.send(method, from, {
      headers: {
        destination: `http://edgefs.test${this.root}${encodePath(to)}`,
        overwrite: overwrite === false ? "F" : "T",
        depth,
      },
    });
    if (!res.ok) {
      // 412 with Overwrite: F is "the destination exists" (RFC 4918 §9.8.5).
      const bare: Record<number, ErrorCode> = { 403: "EINVAL", 409: "ENOTDIR" };
      const err = await this.failure(res, bare, from);
      if (err.code === "EPRECONDITION" && overwrite === false) {
        throw new FsError("EEXIST", err.message, to);
      }
      throw err;
    }
    return this.stat(to);
  }

  private unsupported(): never {
    throw new FsError("ENOTSUP", "WebDAV has no multipart uploads");
  }
  async createUpload(): Promise<UploadInfo> {
    this.unsupported();
  }
  async uploadPart(): Promise<UploadPart> {
    this.unsupported();
  }
  async uploadStatus(): Promise<UploadStatus> {
    this.unsupported();
  }
  async completeUpload(): Promise<WriteResult> {
    this.unsupported();
  }
  async abortUpload(): Promise<void> {
    this.unsupported();
  }
  async listUploads(): Promise<{ uploads: ListedUpload[] }> {
    this.unsupported();
  }
}
