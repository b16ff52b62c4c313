import { mountsOf } from "../backends/mounts";
import { backendForBothAt, shareStorageAt, shareTarget } from "../backends/resolve";
import type { Backend, FileAttributes, ReadResult, VersionView } from "../core/backend";
import { FsError } from "../core/errors";
import { type FsPath, isWithin, ROOT } from "../core/paths";
import { writeConditionsFrom } from "../core/preconditions";
import type { FileEntry } from "../core/types";
import { runtimeOf } from "../http/backend";
import { fileResponse } from "../http/file-response";
import { readOptionsFrom } from "../http/params";
import { backendOf, bucketOf, requirePermission, type S3Call } from "./call";
import { s3CodeOf, s3Error } from "./errors";
import { type KeyPath, pathOfKey } from "./keys";
import { type BodyOf, bodyOf } from "./request-body";
import { childrenNamed, isoTime, readS3Xml, textOf, xmlResponse } from "./xml";

/** The ETag of no bytes: what a directory's key (`dir/`) answers as an object. */
export const EMPTY_ETAG = '"d41d8cd98f00b204e9800998ecf8427e"';

export function keyPathOf(call: S3Call): KeyPath {
  if (call.key === undefined) throw s3Error("InvalidRequest", "this operation needs a key");
  return pathOfKey(call.key);
}

/** Content-Type and `x-amz-meta-*` of a write (CopyObject with REPLACE too). */
export function attributesOf(headers: Headers): FileAttributes {
  const attributes: FileAttributes = {};
  const type = headers.get("content-type");
  if (type !== null && type !== "") attributes.contentType = type;
  const metadata: Record<string, string> = {};
  let any = false;
  headers.forEach((value, name) => {
    if (name.startsWith("x-amz-meta-")) {
      metadata[name.slice("x-amz-meta-".length)] = value;
      any = true;
    }
  });
  if (any) attributes.metadata = metadata;
  return attributes;
}

/** The headers S3 answers a file's attributes with. */
function attributeHeaders(h: Headers, entry: FileEntry): void {
  for (const [name, value] of Object.entries(entry.metadata ?? {}))
    h.set(`x-amz-meta-${name}`, value);
}

/**
 * `?versionId=N`: the version a read sees (edgefs's share version, as S3's
 * version id: the one a file's state was made at). The live state of a file
 * keeps its id however far the share has moved on since, even past the
 * retention window: asked for an expired N, the file's history says whether
 * N is what stands there now.
 */
async function readerOf(call: S3Call, backend: Backend, path: FsPath): Promise<VersionView> {
  const versionId = call.query.get("versionId");
  if (versionId === null || versionId === "null") return backend;
  if (!/^\d{1,15}$/.test(versionId)) {
    throw s3Error("InvalidArgument", `invalid versionId: ${versionId.slice(0, 64)}`);
  }
  if (!backend.versions) {
    throw s3Error("NotImplemented", "this storage keeps no versions (a bucket mount)");
  }
  try {
    const version = await backend.versions.resolve({ version: Number(versionId) });
    return backend.versions.view(version);
  } catch (e) {
    if (!(e instanceof FsError) || e.code !== "EEXPIRED") throw e;
    const storage = await shareStorageAt(
      runtimeOf(call.c),
      shareTarget(call.c.env, call.environment, bucketOf(call)),
      [],
      [],
    );
    const latest = (await storage.history(path, 1)).versions[0];
    if (latest && !latest.deleted && latest.version === Number(versionId)) return backend;
    throw e;
  }
}

/**
 * `response-content-*` and `response-expires` (S3 honours them on signed
 * requests only, and every S3 request here is signed). The answer keeps
 * the inert-file headers fileResponse set (nosniff, sandbox CSP), whatever
 * type a URL asks for.
 */
const OVERRIDES: Record<string, string> = {
  "response-content-type": "content-type",
  "response-content-language": "content-language",
  "response-expires": "expires",
  "response-cache-control": "cache-control",
  "response-content-disposition": "content-disposition",
  "response-content-encoding": "content-encoding",
};

/** S3's If-Unmodified-Since, which the Backend's read does not judge: ignored under If-Match (RFC 9110 §13.1.4). */
function unmodifiedSince(call: S3Call, entry: FileEntry): boolean {
  const header = call.request.headers.get("if-unmodified-since");
  if (header === null || call.request.headers.has("if-match")) return true;
  const since = Date.parse(header);
  return Number.isNaN(since) || Math.floor(entry.mtime / 1000) * 1000 <= since;
}

export async function getObject(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "read", bucket);
  const { path, directory } = keyPathOf(call);
  const head = call.request.method === "HEAD";
  if (call.query.has("partNumber")) {
    throw s3Error("NotImplemented", "GetObject by partNumber is not supported: use a Range");
  }
  const reader = await readerOf(call, await backendOf(call, bucket, path), path);
  if (directory) return directoryObject(await reader.stat(path), head);
  let result: ReadResult;
  try {
    result = await reader.read(
      path,
      readOptionsFrom((name) => call.request.headers.get(name) ?? undefined, head),
    );
  } catch (e) {
    if (e instanceof FsError && e.code === "EISDIR") {
      throw s3Error("NoSuchKey", `${call.key} is a directory: its key is ${call.key}/`);
    }
    throw e;
  }
  if (result.status !== 304 && !unmodifiedSince(call, result.entry)) {
    await result.body?.cancel();
    throw s3Error("PreconditionFailed", "the object was modified after If-Unmodified-Since");
  }
  const response = fileResponse(result);
  attributeHeaders(response.headers, result.entry);
  const versionId = call.query.get("versionId");
  if (versionId !== null) response.headers.set("x-amz-version-id", versionId);
  for (const [param, header] of Object.entries(OVERRIDES)) {
    const value = call.query.get(param);
    if (value === null) continue;
    // A header value holds no control characters (and an invalid one would throw).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
    if (/[\u0000-\u001f\u007f]/.test(value) || value.length > 1024) {
      if (result.status !== 304) await result.body?.cancel();
      throw s3Error("InvalidArgument", `${param} is no valid header value`);
    }
    response.headers.set(header, value);
  }
  return response;
}

/** A directory read as the object `dir/`: no bytes (S3's "folder" marker). */
function directoryObject(entry: FileEntry, head: boolean): Response {
  if (entry.type !== "directory")
    throw s3Error("NoSuchKey", `${entry.path} is a file, not a directory`);
  return new Response(head ? null : "", {
    headers: {
      "content-length": "0",
      "content-type": "application/x-directory",
      etag: EMPTY_ETAG,
      "last-modified": new Date(entry.mtime).toUTCString(),
    },
  });
}

/** Reads the verified body of a directory key: it must carry no bytes. */
async function refuseBytes(body: BodyOf): Promise<void> {
  if (body.length === 0 || body.stream === null) return;
  const reader = body.stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    if (value.byteLength > 0) {
      await reader.cancel();
      throw s3Error("InvalidArgument", "a key ending in / is a directory: it cannot hold bytes");
    }
  }
}

export async function putObject(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "write", bucket);
  const { path, directory } = keyPathOf(call);
  const headers = call.request.headers;
  const conditions = writeConditionsFrom({
    ifMatch: headers.get("if-match") ?? undefined,
    ifNoneMatch: headers.get("if-none-match") ?? undefined,
  });
  const body = bodyOf(call.request, call.auth);
  const backend = await backendOf(call, bucket, path);
  const answer = new Headers();
  if (directory) {
    if (path === ROOT) throw s3Error("InvalidArgument", "the key / is the bucket itself");
    await body.settle(refuseBytes(body));
    const made = await backend.mkdir(path);
    answer.set("etag", EMPTY_ETAG);
    if (made.version !== undefined) answer.set("x-amz-version-id", String(made.version));
    return new Response(null, { status: 200, headers: answer });
  }
  const written = await body.settle(
    backend.write(
      path,
      { stream: body.stream, length: body.length },
      conditions,
      attributesOf(headers),
    ),
  );
  if (written.entry.etag) answer.set("etag", written.entry.etag);
  if (written.version !== undefined) answer.set("x-amz-version-id", String(written.version));
  for (const [name, value] of body.checksums()) answer.set(name, value);
  return new Response(null, { status: 200, headers: answer });
}

export async function deleteObject(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "write", bucket);
  if (call.query.has("versionId")) {
    throw s3Error(
      "NotImplemented",
      "a version cannot be deleted: old versions expire with the retention window",
    );
  }
  const key = keyPathOf(call);
  const backend = await backendOf(call, bucket, key.path);
  const { results, version } = await backend.deleteKeys([key]);
  const result = results[0];
  if (result && "error" in result) throw result.error;
  const headers = new Headers();
  if (version !== undefined) headers.set("x-amz-version-id", String(version));
  return new Response(null, { status: 204, headers });
}

/** DeleteObjects takes at most 1,000 keys (the S3 API reference). */
const MAX_DELETE_KEYS = 1000;

/**
 * DeleteObjects: the keys grouped by the storage that holds them (share
 * storage, each bucket mount), one deleteKeys call per group — one Durable
 * Object call for up to 1,000 keys on share storage, whatever their number.
 */
export async function deleteObjects(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "write", bucket);
  const body = bodyOf(call.request, call.auth);
  const doc = await body.settle(readS3Xml(body.stream, "Delete"));
  if (doc === null) throw s3Error("MalformedXML", "DeleteObjects needs a <Delete> document");
  const quiet = textOf(doc, "Quiet")?.trim() === "true";
  const objects = childrenNamed(doc, "Object");
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) {
    throw s3Error("MalformedXML", `DeleteObjects takes 1 to ${MAX_DELETE_KEYS} keys`);
  }
  const deleted: { Key: string }[] = [];
  const errors: { Key: string; Code: string; Message: string }[] = [];
  const refuse = (key: string, e: FsError) =>
    errors.push({ Key: key, Code: s3CodeOf(e, "object").code, Message: e.message });
  // Grouped by the mount that holds a key ("" for share storage).
  const mounts = await mountsOf(
    call.environment,
    bucket,
    shareTarget(call.c.env, call.environment, bucket).api,
  );
  const groups = new Map<string, { key: string; target: KeyPath }[]>();
  for (const o of objects) {
    const key = textOf(o, "Key");
    if (key === undefined) throw s3Error("MalformedXML", "an <Object> without a <Key>");
    try {
      if (textOf(o, "VersionId") !== undefined) {
        throw s3Error("NotImplemented", "a version cannot be deleted: old versions expire");
      }
      const target = pathOfKey(key);
      const at = mounts.find((m) => isWithin(target.path, m.path as FsPath))?.path ?? "";
      groups.set(at, [...(groups.get(at) ?? []), { key, target }]);
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      refuse(key, e);
    }
  }
  for (const keys of groups.values()) {
    const backend = await backendOf(call, bucket, (keys[0] as { target: KeyPath }).target.path);
    const { results } = await backend.deleteKeys(keys.map((k) => k.target));
    results.forEach((r, i) => {
      const key = (keys[i] as { key: string }).key;
      if ("error" in r) refuse(key, r.error);
      else deleted.push({ Key: key });
    });
  }
  return xmlResponse("DeleteResult", {
    Deleted: quiet ? undefined : deleted,
    Error: errors,
  });
}

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=N]`, URL-encoded. */
export function copySourceOf(header: string): { bucket: string; key: string; versionId?: string } {
  const [rawPath = "", rawQuery] = header.split("?", 2);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath.replace(/^\//, ""));
  } catch {
    throw s3Error("InvalidArgument", "x-amz-copy-source has invalid percent-encoding");
  }
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1) {
    throw s3Error("InvalidArgument", "x-amz-copy-source must be bucket/key");
  }
  const versionId =
    rawQuery === undefined ? undefined : new URLSearchParams(rawQuery).get("versionId");
  return {
    bucket: decoded.slice(0, slash),
    key: decoded.slice(slash + 1),
    ...(versionId ? { versionId } : {}),
  };
}

/** `x-amz-copy-source-if-*`, judged on the source as S3 does (If-Match wins over the date, If-None-Match too). */
export function checkCopySource(headers: Headers, entry: FileEntry): void {
  const ifMatch = headers.get("x-amz-copy-source-if-match");
  const ifNoneMatch = headers.get("x-amz-copy-source-if-none-match");
  const modifiedSince = Date.parse(headers.get("x-amz-copy-source-if-modified-since") ?? "");
  const unmodifiedSince = Date.parse(headers.get("x-amz-copy-source-if-unmodified-since") ?? "");
  const mtime = Math.floor(entry.mtime / 1000) * 1000;
  const tags = (v: string) => v.split(",").map((t) => t.trim().replace(/^W\//, ""));
  const fail = () => {
    throw s3Error("PreconditionFailed", "a copy-source condition failed");
  };
  if (ifMatch !== null) {
    if (!tags(ifMatch).some((t) => t === "*" || t === entry.etag)) fail();
  } else if (!Number.isNaN(unmodifiedSince) && mtime > unmodifiedSince) fail();
  if (ifNoneMatch !== null) {
    if (tags(ifNoneMatch).some((t) => t === "*" || t === entry.etag)) fail();
  } else if (!Number.isNaN(modifiedSince) && mtime <= modifiedSince) fail();
}

/** The source of a copy (CopyObject, UploadPartCopy): its bucket, path and reader. */
export async function copySource(call: S3Call) {
  const header = call.request.headers.get("x-amz-copy-source") ?? "";
  const source = copySourceOf(header);
  const { path, directory } = pathOfKey(source.key);
  if (directory) throw s3Error("InvalidArgument", "a directory's key cannot be copied");
  requirePermission(call, "read", source.bucket);
  const backend = await backendOf(call, source.bucket, path);
  let reader: VersionView = backend;
  if (source.versionId !== undefined) {
    if (!/^\d{1,15}$/.test(source.versionId) || !backend.versions) {
      throw s3Error("InvalidArgument", "invalid versionId in x-amz-copy-source");
    }
    reader = backend.versions.view(
      await backend.versions.resolve({ version: Number(source.versionId) }),
    );
  }
  return { ...source, path, reader };
}

export async function copyObject(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "write", bucket);
  const { path, directory } = keyPathOf(call);
  if (directory) throw s3Error("InvalidArgument", "cannot copy onto a directory's key");
  const headers = call.request.headers;
  const directive = (headers.get("x-amz-metadata-directive") ?? "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") {
    throw s3Error("InvalidArgument", "x-amz-metadata-directive is COPY or REPLACE");
  }
  const attributes = directive === "REPLACE" ? attributesOf(headers) : undefined;
  const source = await copySource(call);
  const entry = await source.reader.stat(source.path);
  if (entry.type !== "file") throw s3Error("NoSuchKey", `${source.key} is a directory`);
  checkCopySource(headers, entry);
  if (
    source.bucket === bucket &&
    source.path === path &&
    source.versionId === undefined &&
    attributes === undefined
  ) {
    throw s3Error(
      "InvalidRequest",
      "copying an object onto itself changes nothing: replace its metadata (x-amz-metadata-directive: REPLACE)",
    );
  }
  let copied: { entry: FileEntry; version?: number } | undefined;
  if (source.bucket === bucket && source.versionId === undefined) {
    // Same share: metadata only on share storage (the blob is shared), or
    // the bucket's own CopyObject inside one mount.
    try {
      const both = await backendForBothAt(
        runtimeOf(call.c),
        shareTarget(call.c.env, call.environment, bucket),
        source.path,
        path,
        [],
      );
      copied = await both.copy(source.path, path, {
        overwrite: true,
        recursive: false,
        ...(attributes ? { attributes } : {}),
      });
    } catch (e) {
      if (!(e instanceof FsError) || e.code !== "ENOTSUP") throw e;
    }
  }
  if (copied === undefined) {
    // Across shares, storage or versions: the bytes stream through the Worker.
    const read = await source.reader.read(source.path, { headOnly: false });
    if (read.status !== 200) throw s3Error("InternalError", "unexpected answer to a copy's read");
    const target = await backendOf(call, bucket, path);
    copied = await target.write(
      path,
      { stream: read.body, length: read.entry.size },
      {},
      attributes ?? {
        ...(read.entry.contentType ? { contentType: read.entry.contentType } : {}),
        ...(read.entry.metadata ? { metadata: read.entry.metadata } : {}),
      },
    );
  }
  const answer: Record<string, string> = {};
  if (copied.version !== undefined) answer["x-amz-version-id"] = String(copied.version);
  if (source.versionId !== undefined) answer["x-amz-copy-source-version-id"] = source.versionId;
  return xmlResponse(
    "CopyObjectResult",
    { LastModified: isoTime(copied.entry.mtime), ETag: copied.entry.etag ?? EMPTY_ETAG },
    answer,
  );
}
