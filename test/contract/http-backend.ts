import { exports } from "cloudflare:workers";
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
import type { FsPath } from "../../src/core/paths";
import type { WriteConditions } from "../../src/core/preconditions";
import type { FileEntry, ListPage } from "../../src/core/types";

export const ORIGIN = "http://edgefs.test";
export const TOKEN = "test-root-token";

/** One request to the whole Worker (routing, auth, the one error handler), as a client sends it. */
export function request(
  method: string,
  path: string,
  init: { body?: BodyInit | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TOKEN}`);
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, { method, headers, body: init.body ?? null }),
  );
}

let shares = 0;
/** A fresh share through the API. */
export async function newShare(prefix: string): Promise<string> {
  const name = `${prefix}-${shares++}`;
  const res = await request("PUT", `/v1/shares/${name}`);
  if (res.status !== 201) throw new Error(`creating share ${name}: ${res.status}`);
  return name;
}

/** A path as URL segments, each percent-encoded (`*` stays: it is a glob). */
export const encodePath = (path: string) =>
  path
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");

/** The version a change's answer names in Edgefs-Version, as the contract's result has it. */
function committed(res: Response): Committed {
  const v = res.headers.get("edgefs-version");
  return v === null ? {} : { version: Number(v) };
}

/** A write's answer: its entry, whether it is new, and the version it made. */
async function written(res: Response): Promise<WriteResult> {
  return { entry: (await res.json()) as FileEntry, created: res.status === 201, ...committed(res) };
}

/** The contract's JSON error body back as the FsError it was. */
async function failure(res: Response): Promise<never> {
  const body = (await res.json().catch(() => null)) as {
    error?: { code: ErrorCode; message: string; path?: string };
  } | null;
  if (!body?.error) throw new Error(`HTTP ${res.status} without a contract error body`);
  throw new FsError(body.error.code, body.error.message, body.error.path);
}

async function ok(res: Response): Promise<Response> {
  return res.ok || res.status === 304 ? res : failure(res);
}

/** The entry a GET/HEAD describes in its headers. */
function entryOf(path: FsPath, res: Response, size: number): FileEntry {
  const etag = res.headers.get("etag") ?? undefined;
  const mtime = Date.parse(res.headers.get("last-modified") ?? "") || 0;
  return etag === undefined
    ? { path, absolutePath: path, type: "file", size, mtime }
    : { path, absolutePath: path, type: "file", size, mtime, etag };
}

function conditionHeaders(c: WriteConditions): Record<string, string> {
  const h: Record<string, string> = {};
  if (c.ifMatch) h["if-match"] = c.ifMatch.join(", ");
  if (c.ifNoneMatch) h["if-none-match"] = c.ifNoneMatch.join(", ");
  return h;
}

/**
 * A Backend that speaks the native /v1 API of one share: the contract suite
 * run through it tests the routes, the parameter parsing and the error
 * rendering on top of share storage. Everything it sends is what a client
 * could send; `overwrite: "any"` has no /v1 spelling and is refused.
 */
export class HttpBackend implements Backend {
  constructor(private readonly share: string) {}

  /** What /v1 carries over share storage; leases and properties are not part of this adapter. */
  readonly features: BackendFeatures = {
    rename: true,
    leases: false,
    deadProperties: false,
    conditionalWrites: true,
    multipart: true,
    versions: false,
    space: false,
  };

  private url(kind: string, path: string, query = ""): string {
    return `/v1/shares/${this.share}/${kind}${encodePath(path)}${query}`;
  }

  /** The /v1 API has no key listing: S3's ListObjectsV2 is the S3 front-end's. */
  async listKeys(): Promise<never> {
    throw new FsError("ENOTSUP", "the /v1 API has no S3 key listing");
  }

  /** S3's key deletes have no /v1 spelling; the S3 front-end's tests cover them (test/worker/s3api.test.ts). */
  deleteKeys(): Promise<never> {
    return Promise.reject(new FsError("ENOTSUP", "no /v1 route deletes by S3 key"));
  }

  async stat(path: FsPath): Promise<FileEntry> {
    return (await (await ok(await request("GET", this.url("stat", path)))).json()) as FileEntry;
  }

  async list(query: ListQuery): Promise<ListPage<FileEntry>> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.kind === "path" && query.recursive) params.set("recursive", "true");
    if (query.cursor !== undefined) params.set("cursor", query.cursor);
    const path = query.kind === "glob" ? query.pattern : query.path;
    const res = await ok(await request("GET", this.url("list", path, `?${params}`)));
    return (await res.json()) as ListPage<FileEntry>;
  }

  async read(path: FsPath, o: ReadOptions): Promise<ReadResult> {
    const headers: Record<string, string> = {};
    if (o.range !== undefined) headers.range = o.range;
    if (o.ifRange !== undefined) headers["if-range"] = o.ifRange;
    if (o.ifMatch !== undefined) headers["if-match"] = o.ifMatch;
    if (o.ifNoneMatch !== undefined) headers["if-none-match"] = o.ifNoneMatch;
    if (o.ifModifiedSince !== undefined) headers["if-modified-since"] = o.ifModifiedSince;
    const res = await ok(
      await request(o.headOnly ? "HEAD" : "GET", this.url("files", path), { headers }),
    );
    const body = o.headOnly ? null : res.body;
    if (res.status === 304) return { status: 304, entry: entryOf(path, res, 0) };
    const length = Number(res.headers.get("content-length") ?? 0);
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
      if (!m) throw new Error("206 without a Content-Range");
      const range = { offset: Number(m[1]), length: Number(m[2]) - Number(m[1]) + 1 };
      return { status: 206, entry: entryOf(path, res, Number(m[3])), range, body };
    }
    return { status: 200, entry: entryOf(path, res, length), body };
  }

  async write(path: FsPath, body: WriteBody, c: WriteConditions): Promise<WriteResult> {
    const headers = conditionHeaders(c);
    if (body.length !== undefined) headers["content-length"] = String(body.length);
    const res = await ok(
      await request("PUT", this.url("files", path), { body: body.stream, headers }),
    );
    return written(res);
  }

  async mkdir(path: FsPath): Promise<WriteResult> {
    const res = await ok(await request("PUT", `${this.url("files", path)}/`));
    return written(res);
  }

  async remove(path: FsPath, o: { recursive: boolean }): Promise<Committed> {
    const query = o.recursive ? "?recursive=true" : "";
    return committed(await ok(await request("DELETE", this.url("files", path, query))));
  }

  async move(from: FsPath, to: FsPath, o: { overwrite: Overwrite }): Promise<Moved> {
    return this.tree("move", { from, to, overwrite: this.overwrite(o.overwrite) });
  }

  async copy(
    from: FsPath,
    to: FsPath,
    o: { overwrite: Overwrite; recursive: boolean },
  ): Promise<Moved> {
    const overwrite = this.overwrite(o.overwrite);
    return this.tree("copy", { from, to, overwrite, recursive: o.recursive });
  }

  private overwrite(o: Overwrite): boolean {
    if (o === "any") throw new FsError("ENOTSUP", 'the /v1 API has no overwrite "any"');
    return o;
  }

  private async tree(op: string, body: Record<string, unknown>): Promise<Moved> {
    const url = `/v1/shares/${this.share}/${op}`;
    const res = await ok(await request("POST", url, { body: JSON.stringify(body) }));
    return { entry: (await res.json()) as FileEntry, ...committed(res) };
  }

  private uploads(rest = ""): string {
    return `/v1/shares/${this.share}/uploads${rest}`;
  }

  async createUpload(
    path: FsPath,
    o: { partSize: number; conditions: WriteConditions },
  ): Promise<UploadInfo> {
    const res = await request("POST", this.uploads(), {
      body: JSON.stringify({ path, partSize: o.partSize }),
      headers: conditionHeaders(o.conditions),
    });
    return (await (await ok(res)).json()) as UploadInfo;
  }

  async uploadPart(
    id: string,
    n: number,
    body: ReadableStream<Uint8Array> | Uint8Array,
    length: number,
  ): Promise<UploadPart> {
    const res = await request("PUT", this.uploads(`/${id}/parts/${n}`), {
      body: body as BodyInit,
      headers: { "content-length": String(length) },
    });
    return (await (await ok(res)).json()) as UploadPart;
  }

  async uploadStatus(id: string): Promise<UploadStatus> {
    return (await (await ok(await request("GET", this.uploads(`/${id}`)))).json()) as UploadStatus;
  }

  async completeUpload(id: string): Promise<WriteResult> {
    const res = await ok(await request("POST", this.uploads(`/${id}/complete`)));
    return written(res);
  }

  async abortUpload(id: string): Promise<void> {
    await ok(await request("DELETE", this.uploads(`/${id}`)));
  }

  /** The native API lists no uploads (S3's ListMultipartUploads is the Backend's only caller). */
  async listUploads(): Promise<{ uploads: ListedUpload[] }> {
    throw new FsError("ENOTSUP", "the native API has no listing of uploads");
  }
}
