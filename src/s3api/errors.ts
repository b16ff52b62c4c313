import type { Context } from "hono";
import { isMissingShare } from "../backends/share-catalog";
import { type ErrorCode, FsError } from "../core/errors";
import { escapeText } from "../core/xml";
import { handleError } from "../http/errors";

/**
 * S3's error vocabulary (the S3 API reference, "Error responses"): each
 * code with the status S3 answers it with. Clients act on the code (boto3
 * raises `ClientError` with it; rclone and the aws cli retry on some), so a
 * failure keeps S3's code and status even where edgefs's native status for
 * the same failure differs (S3 refuses a bad signature with 403, not 401).
 */
const S3_STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  ExpiredToken: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
  // edgefs's own, for what a file system refuses and a bucket never would
  // (MinIO names the same cases XMinioParentIsObject / ObjectExistsAsDirectory).
  ParentIsObject: 409,
  ObjectExistsAsDirectory: 409,
  ObjectLocked: 423,
  StorageFull: 507,
  UpstreamError: 502,
};

/** What the failing request was about, for the codes that depend on it. */
export type Subject = "bucket" | "object" | "upload" | "version";

/** The S3 code for an edgefs failure without a reason of its own. */
function codeOf(e: FsError, subject: Subject): string {
  const byCode: Record<ErrorCode, string> = {
    EINVAL: "InvalidArgument",
    EUNAUTHENTICATED: "AccessDenied",
    EACCES: "AccessDenied",
    ENOENT:
      subject === "upload"
        ? "NoSuchUpload"
        : subject === "bucket"
          ? "NoSuchBucket"
          : subject === "version"
            ? "NoSuchVersion"
            : "NoSuchKey",
    EEXIST: subject === "bucket" ? "BucketAlreadyOwnedByYou" : "PreconditionFailed",
    EISDIR: "ObjectExistsAsDirectory",
    ENOTDIR: "ParentIsObject",
    ENOTEMPTY: subject === "bucket" ? "BucketNotEmpty" : "InvalidRequest",
    EPRECONDITION: "PreconditionFailed",
    ETOOLARGE: "EntityTooLarge",
    EEXPIRED: "NoSuchVersion",
    ERANGE: "InvalidRange",
    ELOCKED: "ObjectLocked",
    EINTERNAL: "InternalError",
    ENOTSUP: "NotImplemented",
    EUPSTREAM: "UpstreamError",
    ENOSPC: "StorageFull",
  };
  if (e.code === "ENOENT" && isMissingShare(e)) return "NoSuchBucket";
  return byCode[e.code];
}

/** The S3 error an FsError is: a reason it carries wins, else its code read for the subject. */
export function s3CodeOf(e: FsError, subject: Subject): { code: string; status: number } {
  const code = e.reason !== undefined && e.reason in S3_STATUS ? e.reason : codeOf(e, subject);
  return { code, status: S3_STATUS[code] ?? 500 };
}

/** An FsError named by its S3 code (the code decides the status S3 clients see). */
export function s3Error(reason: keyof typeof S3_STATUS, message: string): FsError {
  const base: ErrorCode =
    reason === "NoSuchKey" || reason === "NoSuchBucket" || reason === "NoSuchUpload"
      ? "ENOENT"
      : reason === "NotImplemented"
        ? "ENOTSUP"
        : reason === "AccessDenied"
          ? "EACCES"
          : reason === "PreconditionFailed"
            ? "EPRECONDITION"
            : "EINVAL";
  return new FsError(base, message, undefined, undefined, reason);
}

/** Where an error happened, as S3 names it in the error document. */
export interface ErrorPlace {
  bucket?: string;
  key?: string;
  resource: string;
  requestId: string;
  head: boolean;
  subject: Subject;
}

/** S3's error document; a HEAD answer carries the status and headers only. */
export function s3ErrorResponse(e: FsError, place: ErrorPlace): Response {
  const { code, status } = s3CodeOf(e, place.subject);
  const headers: Record<string, string> = {
    "x-amz-request-id": place.requestId,
    "x-amz-id-2": place.requestId,
    ...e.headers,
  };
  if (place.head) return new Response(null, { status, headers });
  const parts = [
    `<Code>${code}</Code>`,
    `<Message>${escapeText(e.message)}</Message>`,
    place.bucket !== undefined ? `<BucketName>${escapeText(place.bucket)}</BucketName>` : "",
    place.key !== undefined ? `<Key>${escapeText(place.key)}</Key>` : "",
    `<Resource>${escapeText(place.resource)}</Resource>`,
    `<RequestId>${place.requestId}</RequestId>`,
  ];
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<Error>${parts.join("")}</Error>`, {
    status,
    headers: { ...headers, "content-type": "application/xml" },
  });
}

/** The S3 front-end's one error handler: every failure becomes S3's XML (bugs: InternalError, logged). */
export function onS3Error(place: (c: Context) => ErrorPlace) {
  return (err: Error, c: Context): Response =>
    handleError(err, c, (e) => s3ErrorResponse(e, place(c)));
}
