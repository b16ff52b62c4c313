import { mountsOf } from "../backends/mounts";
import { shareStorageAt, shareTarget } from "../backends/resolve";
import type { KeyItem } from "../core/backend";
import { FsError } from "../core/errors";
import { parsePath, ROOT } from "../core/paths";
import type { PathVersion } from "../core/types";
import { runtimeOf, subrequestsOf } from "../http/backend";
import { backendOf, bucketOf, requirePermission, type S3Call } from "./call";
import { s3Error } from "./errors";
import { MAX_KEY_BYTES, pathOfKey } from "./keys";
import { EMPTY_ETAG } from "./objects";
import { isoTime, type XmlTree, xmlResponse } from "./xml";

/**
 * ListObjectsV2, ListObjects (v1) and ListObjectVersions over the
 * Backends' key listing (Backend.listKeys): keys in S3's order, the UTF-8
 * byte order of the whole key, which is what `aws s3 sync` and rclone rely
 * on when they merge a listing with a local one. A bucket mount inside the
 * share is listed in place: its keys sort right after its mount point's
 * key, so the walk lists the share up to the mount, the mount's bucket,
 * then the share after it; a page may stop anywhere in either.
 */
const MAX_KEYS = 1000;
/** Key-listing calls one request makes at most (each is a subrequest); then the page ends early. */
const MAX_CALLS = 8;

interface Query {
  prefix: string;
  delimiter: boolean;
  /** Keys strictly after it. */
  after: string;
  /** A mount point already listed in full: the walk does not go in again. */
  done?: string;
  maxKeys: number;
}

interface Walked {
  items: KeyItem[];
  /** Where the next page starts, when this one stopped early. */
  next?: { after: string; done?: string };
}

function queryOf(call: S3Call, after: string, done?: string): Query {
  const prefix = call.query.get("prefix") ?? "";
  const delimiter = call.query.get("delimiter");
  if (delimiter !== null && delimiter !== "" && delimiter !== "/") {
    throw s3Error("InvalidArgument", 'edgefs lists with the delimiter "/" only (keys are paths)');
  }
  const asked = call.query.get("max-keys");
  const maxKeys = asked === null ? MAX_KEYS : Number(asked);
  if (!/^\d{1,10}$/.test(asked ?? "0"))
    throw s3Error("InvalidArgument", "max-keys must be a number");
  const utf8 = new TextEncoder();
  if (
    utf8.encode(prefix).byteLength > MAX_KEY_BYTES ||
    utf8.encode(after).byteLength > MAX_KEY_BYTES
  ) {
    throw s3Error(
      "KeyTooLongError",
      `prefixes and markers are keys: at most ${MAX_KEY_BYTES} bytes`,
    );
  }
  return {
    prefix,
    delimiter: delimiter === "/",
    after,
    ...(done !== undefined ? { done } : {}),
    maxKeys: Math.min(maxKeys, MAX_KEYS),
  };
}

/** Lists one page in key order, across the bucket mounts inside the share. */
async function walk(call: S3Call, bucket: string, q: Query): Promise<Walked> {
  const items: KeyItem[] = [];
  if (q.maxKeys === 0) return { items };
  const target = shareTarget(call.c.env, call.environment, bucket);
  const mountKeys = (await mountsOf(call.environment, bucket, target.api)).map(
    (m) => `${m.path.slice(1)}/`,
  );
  const within = mountKeys.find((k) => q.prefix.startsWith(k));
  // The mount's backend for a key inside it (path resolution finds the mount).
  const mountAt = (k: string) => backendOf(call, bucket, parsePath(k));
  if (within !== undefined) {
    const backend = await mountAt(within);
    let after = q.after;
    for (let calls = 0; calls < MAX_CALLS && items.length < q.maxKeys; calls++) {
      const page = await backend.listKeys({
        prefix: q.prefix,
        startAfter: after,
        delimiter: q.delimiter,
        limit: q.maxKeys - items.length,
      });
      items.push(...page.items);
      if (page.next === undefined) return { items };
      after = page.next;
    }
    return { items, next: { after } };
  }
  const share = await backendOf(call, bucket, ROOT);
  let after = q.after;
  let done = q.done;
  let calls = 0;
  /** Lists inside a mount from `from`; false when the page filled up there. */
  const drainMount = async (key: string, from: string): Promise<boolean> => {
    const backend = await mountAt(key);
    let start = from;
    while (items.length < q.maxKeys) {
      if (calls++ >= MAX_CALLS) return false;
      const page = await backend.listKeys({
        prefix: key,
        startAfter: start,
        delimiter: false,
        limit: q.maxKeys - items.length,
      });
      items.push(...page.items);
      if (page.next === undefined) {
        after = key;
        done = key;
        return true;
      }
      start = page.next;
      after = page.next;
    }
    return false;
  };
  if (!q.delimiter) {
    const resume = mountKeys.find(
      (k) => k.startsWith(q.prefix) && after.startsWith(k) && k !== done,
    );
    if (resume !== undefined && !(await drainMount(resume, after))) {
      return { items, next: { after } };
    }
  }
  while (items.length < q.maxKeys) {
    if (calls++ >= MAX_CALLS) return { items, next: done ? { after, done } : { after } };
    const page = await share.listKeys({
      prefix: q.prefix,
      startAfter: after,
      delimiter: q.delimiter,
      limit: q.maxKeys - items.length,
    });
    let mountMet = false;
    for (const item of page.items) {
      if (item.kind !== "mount" || q.delimiter) {
        // With the delimiter a mount point is one more common prefix.
        items.push(item.kind === "mount" ? { kind: "prefix", key: item.key } : item);
        after = item.key;
        continue;
      }
      // Everything in the mount sorts right after its key: list it now,
      // and the rest of this share page again after it.
      if (!(await drainMount(item.key, item.key))) return { items, next: { after } };
      mountMet = true;
      break;
    }
    if (mountMet) continue;
    if (page.next === undefined) return { items };
    after = page.next;
  }
  return { items, next: done ? { after, done } : { after } };
}

const encodeToken = (next: { after: string; done?: string }): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(next))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_");

function decodeToken(token: string): { after: string; done?: string } {
  try {
    const bytes = Uint8Array.from(atob(token.replace(/-/g, "+").replace(/_/g, "/")), (c) =>
      c.charCodeAt(0),
    );
    const value: unknown = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes),
    );
    if (
      typeof value === "object" &&
      value !== null &&
      typeof (value as { after?: unknown }).after === "string" &&
      ["string", "undefined"].includes(typeof (value as { done?: unknown }).done)
    ) {
      return value as { after: string; done?: string };
    }
  } catch {
    // malformed: below
  }
  throw s3Error("InvalidArgument", "the continuation token is not one this gateway gave");
}

/** `encoding-type=url`: keys percent-encoded in the answer (boto3 and the aws cli ask for it). */
function encoderOf(call: S3Call): (s: string) => string {
  const type = call.query.get("encoding-type");
  if (type === null) return (s) => s;
  if (type !== "url") throw s3Error("InvalidArgument", "encoding-type must be url");
  return encodeURIComponent;
}

function contentsOf(items: KeyItem[], enc: (s: string) => string, owner: boolean) {
  const contents: XmlTree[] = [];
  const prefixes: XmlTree[] = [];
  for (const item of items) {
    if (item.kind === "prefix") {
      prefixes.push({ Prefix: enc(item.key) });
    } else if (item.kind === "object") {
      const e = item.entry;
      contents.push({
        Key: enc(item.key),
        LastModified: isoTime(e.mtime),
        ETag: e.type === "file" ? (e.etag ?? EMPTY_ETAG) : EMPTY_ETAG,
        Size: e.type === "file" ? e.size : 0,
        StorageClass: "STANDARD",
        Owner: owner ? { ID: "edgefs", DisplayName: "edgefs" } : undefined,
      });
    }
  }
  return { contents, prefixes };
}

async function checkBucketExists(call: S3Call, bucket: string): Promise<void> {
  await shareTarget(call.c.env, call.environment, bucket).api.info();
}

export async function listObjects(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "read", bucket);
  const enc = encoderOf(call);
  const v2 = call.query.get("list-type") === "2";
  if (!v2 && call.query.has("list-type")) throw s3Error("InvalidArgument", "list-type must be 2");
  const token = call.query.get("continuation-token");
  const startAfter = call.query.get(v2 ? "start-after" : "marker") ?? "";
  const resume = v2 && token !== null ? decodeToken(token) : undefined;
  const q = queryOf(call, resume?.after ?? startAfter, resume?.done);
  if (q.maxKeys === 0) await checkBucketExists(call, bucket);
  const page = await walk(call, bucket, q);
  const { contents, prefixes } = contentsOf(
    page.items,
    enc,
    call.query.get("fetch-owner") === "true",
  );
  const common = {
    Name: bucket,
    Prefix: enc(q.prefix),
    Delimiter: q.delimiter ? enc("/") : undefined,
    MaxKeys: q.maxKeys,
    EncodingType: call.query.get("encoding-type") ?? undefined,
    IsTruncated: page.next !== undefined,
  };
  if (v2) {
    return xmlResponse("ListBucketResult", {
      ...common,
      KeyCount: contents.length + prefixes.length,
      ContinuationToken: token ?? undefined,
      NextContinuationToken: page.next ? encodeToken(page.next) : undefined,
      StartAfter: call.query.has("start-after") ? enc(startAfter) : undefined,
      Contents: contents,
      CommonPrefixes: prefixes,
    });
  }
  return xmlResponse("ListBucketResult", {
    ...common,
    Marker: enc(startAfter),
    // S3's NextMarker is the last key (or prefix) answered; resuming there is always right.
    NextMarker: page.next ? enc(page.items.at(-1)?.key ?? page.next.after) : undefined,
    Contents: contents,
    CommonPrefixes: prefixes,
  });
}

/** Keys whose versions one ListObjectVersions page looks up (one history call each). */
const VERSION_KEYS_PER_PAGE = 100;
const HISTORY_CONCURRENCY = 8;

/**
 * ListObjectVersions: for each key that exists now, the versions the share
 * still keeps (the retention window, snapshots), newest first, with
 * deletions as delete markers. A path deleted outright is not a key any
 * more and is not listed here: its history is `GET /v1/…/history/{path}`.
 * A version's id is the share version it was made at, which reads take as
 * `versionId`.
 */
export async function listObjectVersions(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "read", bucket);
  const enc = encoderOf(call);
  const keyMarker = call.query.get("key-marker") ?? "";
  const versionMarker = call.query.get("version-id-marker");
  if (versionMarker !== null && !/^\d{1,15}$/.test(versionMarker)) {
    throw s3Error("InvalidArgument", "invalid version-id-marker");
  }
  const q = queryOf(call, "", undefined);
  const maxVersions = q.maxKeys;
  // The marker key itself may still have older versions to list.
  const page = await walk(call, bucket, {
    ...q,
    after: versionMarker !== null && keyMarker !== "" ? keyBefore(keyMarker) : keyMarker,
    // One history call per key: the page never takes more subrequests than the request has.
    maxKeys: Math.max(
      1,
      Math.min(VERSION_KEYS_PER_PAGE, maxVersions, subrequestsOf(call.c).remaining - MAX_CALLS),
    ),
  });
  const storage = await shareStorageAt(
    runtimeOf(call.c),
    shareTarget(call.c.env, call.environment, bucket),
    [],
    [],
  ).catch((e: unknown) => {
    throw e instanceof FsError ? s3Error("NotImplemented", e.message) : e;
  });
  const objects = page.items.filter(
    (i): i is KeyItem & { kind: "object" } => i.kind === "object" && i.entry.type === "file",
  );
  const histories = new Map<string, { versions: PathVersion[]; more: boolean }>();
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const item = objects[next++] as KeyItem & { kind: "object" };
      const before =
        item.key === keyMarker && versionMarker !== null ? Number(versionMarker) : undefined;
      const h = await storage.history(pathOfKey(item.key).path, maxVersions, before);
      histories.set(item.key, { versions: h.versions, more: h.cursor !== undefined });
    }
  };
  await Promise.all(Array.from({ length: HISTORY_CONCURRENCY }, worker));
  const versions: XmlTree[] = [];
  const markers: XmlTree[] = [];
  let count = 0;
  let truncatedAt: { key: string; version: number } | undefined;
  for (const item of objects) {
    const h = histories.get(item.key);
    if (!h) continue;
    const newestFirst = h.versions.filter((v) => v.type === "file" || v.deleted);
    for (const [i, v] of newestFirst.entries()) {
      if (count === maxVersions) {
        truncatedAt = { key: item.key, version: (newestFirst[i - 1] as PathVersion).version };
        break;
      }
      const latest = i === 0 && !(item.key === keyMarker && versionMarker !== null);
      const common = {
        Key: enc(item.key),
        VersionId: String(v.version),
        IsLatest: latest,
        LastModified: isoTime(v.mtime),
      };
      if (v.deleted) markers.push(common);
      else
        versions.push({
          ...common,
          ETag: v.etag ?? EMPTY_ETAG,
          Size: v.size,
          StorageClass: "STANDARD",
        });
      count++;
    }
    if (truncatedAt) break;
    if (h.more) {
      const last = newestFirst.at(-1);
      if (last) truncatedAt = { key: item.key, version: last.version };
      break;
    }
  }
  const lastKey = objects.at(-1)?.key;
  const truncated = truncatedAt !== undefined || page.next !== undefined;
  return xmlResponse("ListVersionsResult", {
    Name: bucket,
    Prefix: enc(q.prefix),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: versionMarker ?? undefined,
    NextKeyMarker: truncatedAt
      ? enc(truncatedAt.key)
      : page.next
        ? enc(lastKey ?? page.next.after)
        : undefined,
    NextVersionIdMarker: truncatedAt ? String(truncatedAt.version) : undefined,
    MaxKeys: maxVersions,
    Delimiter: q.delimiter ? "/" : undefined,
    EncodingType: call.query.get("encoding-type") ?? undefined,
    IsTruncated: truncated,
    Version: versions,
    DeleteMarker: markers,
    CommonPrefixes: page.items
      .filter((i) => i.kind === "prefix")
      .map((i) => ({ Prefix: enc(i.key) })),
  });
}

/**
 * A string just before `key` in key order, so a walk "after" it starts
 * at the key itself: the key with its last character stepped down, padded
 * with the highest character. Only used as a lower bound.
 */
function keyBefore(key: string): string {
  const last = key.codePointAt(key.length - 1) ?? 0;
  if (last <= 1) return key.slice(0, -1);
  return `${key.slice(0, -1)}${String.fromCodePoint(last - 1)}\u{10FFFF}`;
}
