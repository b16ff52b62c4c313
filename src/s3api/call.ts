import type { Context } from "hono";
import { type Permission, type Principal, requireAllowed } from "../auth/scope";
import type { SigV4Auth } from "../auth/sigv4";
import { decodeS3Path } from "../auth/sigv4-canonical";
import { backendAt, shareTarget } from "../backends/resolve";
import type { Backend } from "../core/backend";
import type { FsPath } from "../core/paths";
import { runtimeOf } from "../http/backend";
import type { AppEnv } from "../http/env";
import { s3Error } from "./errors";
import { checkBucket } from "./keys";

/**
 * One S3 request once it is authenticated: who signed it, in which
 * environment, and what it addresses (path-style `/{bucket}/{key}` or
 * virtual-hosted `{bucket}.{EDGEFS_S3_HOST}/{key}`).
 */
export interface S3Call {
  c: Context<AppEnv>;
  request: Request;
  url: URL;
  query: URLSearchParams;
  requestId: string;
  auth: SigV4Auth;
  principal: Principal;
  /** The environment the access key belongs to: its buckets are the shares there. */
  environment: string;
  bucket?: string;
  /** The decoded key; absent for service and bucket requests. */
  key?: string;
}

export interface S3Address {
  bucket?: string;
  key?: string;
}

/** A path part as S3 (and the signature check) reads it: sigv4-canonical.ts decodeS3Path. */
const decode = (s: string): string => {
  const decoded = decodeS3Path(s);
  if (decoded === undefined) {
    throw s3Error("InvalidURI", "the request URI has invalid percent-encoding or UTF-8");
  }
  return decoded;
};

/**
 * The bucket and key a request addresses. The key is the rest of the path
 * after the bucket, decoded as a whole the way its signature was checked (an
 * encoded "/" is a "/" of the key, a bare "+" a space, as S3 has them).
 */
export function addressOf(url: URL, s3Host: string): S3Address {
  const host = url.hostname.toLowerCase();
  if (s3Host !== "" && host.endsWith(`.${s3Host}`)) {
    const bucket = host.slice(0, -s3Host.length - 1);
    const key = url.pathname.slice(1);
    return key === "" ? { bucket } : { bucket, key: decode(key) };
  }
  const rest = url.pathname.slice(1);
  if (rest === "") return {};
  const slash = rest.indexOf("/");
  if (slash === -1 || slash === rest.length - 1) {
    return { bucket: decode(slash === -1 ? rest : rest.slice(0, -1)) };
  }
  return { bucket: decode(rest.slice(0, slash)), key: decode(rest.slice(slash + 1)) };
}

/** The bucket of a bucket or object request (checked as a share name). */
export function bucketOf(call: S3Call): string {
  if (call.bucket === undefined) throw s3Error("InvalidRequest", "this operation needs a bucket");
  return checkBucket(call.bucket);
}

/** 403 AccessDenied unless the key's token has `permission` on the bucket (or the environment). */
export function requirePermission(call: S3Call, permission: Permission, bucket?: string): void {
  requireAllowed(call.principal, permission, call.environment, bucket);
}

/** The Backend serving `path` of the bucket: a bucket mount at or above it, else share storage. */
export function backendOf(
  call: S3Call,
  bucket: string,
  path: FsPath | undefined,
): Promise<Backend> {
  return backendAt(runtimeOf(call.c), shareTarget(call.c.env, call.environment, bucket), path, []);
}
