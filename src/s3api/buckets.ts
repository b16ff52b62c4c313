import { seesShare } from "../auth/scope";
import { shareTarget } from "../backends/resolve";
import { sharesOf } from "../backends/share-catalog";
import { FsError } from "../core/errors";
import { decodeCursor, encodeCursor } from "../core/ids";
import { ROOT } from "../core/paths";
import { backendOf, bucketOf, requirePermission, type S3Call } from "./call";
import { s3Error } from "./errors";
import { bodyOf } from "./request-body";
import { isoTime, readS3Xml, S3_NS, textOf, xmlResponse } from "./xml";

/**
 * Buckets are the shares of the access key's environment: ListBuckets lists
 * the ones the key may see, CreateBucket and DeleteBucket create and delete
 * shares (admin permission), DeleteBucket only when the share is empty.
 */
const OWNER = { ID: "edgefs", DisplayName: "edgefs" };

const MAX_BUCKETS = 1000;

export async function listBuckets(call: S3Call): Promise<Response> {
  requirePermission(call, "read");
  const asked = call.query.get("max-buckets");
  const limit = asked === null ? MAX_BUCKETS : Number(asked);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BUCKETS) {
    throw s3Error("InvalidArgument", `max-buckets must be 1 to ${MAX_BUCKETS}`);
  }
  const token = call.query.get("continuation-token");
  const after = token === null ? "" : decodeCursor(token);
  if (after === undefined) throw s3Error("InvalidArgument", "malformed continuation-token");
  const page = await sharesOf(call.c.env, call.environment, limit, after);
  const visible = page.shares.filter((s) => seesShare(call.principal, call.environment, s.name));
  return xmlResponse("ListAllMyBucketsResult", {
    Owner: OWNER,
    Buckets: { Bucket: visible.map((s) => ({ Name: s.name, CreationDate: isoTime(s.createdAt) })) },
    ContinuationToken: page.last === undefined ? undefined : encodeCursor(page.last),
  });
}

export async function createBucket(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "admin", bucket);
  // The location is the region the client signed for; edgefs has one, anywhere.
  const body = bodyOf(call.request, call.auth);
  const config = await body.settle(readS3Xml(body.stream, "CreateBucketConfiguration"));
  if (config !== null) textOf(config, "LocationConstraint");
  const target = shareTarget(call.c.env, call.environment, bucket);
  try {
    await target.api.createShare(call.environment, bucket, true);
  } catch (e) {
    if (e instanceof FsError && e.code === "EEXIST") {
      throw s3Error("BucketAlreadyOwnedByYou", `the bucket ${bucket} already exists`);
    }
    throw e;
  }
  return new Response(null, { status: 200, headers: { location: `/${bucket}` } });
}

export async function headBucket(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "read", bucket);
  await shareTarget(call.c.env, call.environment, bucket).api.info();
  return new Response(null, { status: 200, headers: { "x-amz-bucket-region": call.auth.region } });
}

export async function deleteBucket(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "admin", bucket);
  const root = await backendOf(call, bucket, ROOT);
  const page = await root.list({ kind: "path", path: ROOT, recursive: false, limit: 1 });
  if (page.entries.length > 0) {
    throw s3Error("BucketNotEmpty", `the bucket ${bucket} is not empty`);
  }
  await shareTarget(call.c.env, call.environment, bucket).api.deleteShare();
  return new Response(null, { status: 204 });
}

export async function getBucketLocation(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "read", bucket);
  await shareTarget(call.c.env, call.environment, bucket).api.info();
  // S3 answers us-east-1 as an empty constraint; clients map it back.
  const region = call.auth.region === "us-east-1" ? "" : call.auth.region;
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_NS}">${region}</LocationConstraint>`,
    { headers: { "content-type": "application/xml" } },
  );
}

/** Share storage keeps every version for the retention window: versioning is always on. */
export async function getBucketVersioning(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "read", bucket);
  const root = await backendOf(call, bucket, ROOT);
  await shareTarget(call.c.env, call.environment, bucket).api.info();
  return xmlResponse("VersioningConfiguration", {
    Status: root.features.versions ? "Enabled" : undefined,
  });
}

export async function putBucketVersioning(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "admin", bucket);
  const body = bodyOf(call.request, call.auth);
  const doc = await body.settle(readS3Xml(body.stream, "VersioningConfiguration"));
  const status = doc === null ? undefined : textOf(doc, "Status");
  if (status !== "Enabled") {
    throw s3Error(
      "NotImplemented",
      "edgefs shares always keep versions (for EDGEFS_VERSION_RETENTION_SECONDS and while a snapshot holds them): only Status Enabled is accepted",
    );
  }
  await shareTarget(call.c.env, call.environment, bucket).api.info();
  return new Response(null, { status: 200 });
}
