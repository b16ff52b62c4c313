import type { Context } from "hono";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { keysFrom } from "../auth/keys";
import { type S3Credential, s3Credential } from "../auth/s3-keys";
import { isSigV4, verifySigV4 } from "../auth/sigv4";
import { configFrom } from "../config";
import { randomId } from "../core/ids";
import type { AppEnv } from "../http/env";
import {
  createBucket,
  deleteBucket,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  putBucketVersioning,
} from "./buckets";
import { addressOf, type S3Address, type S3Call } from "./call";
import { onS3Error, type Subject, s3Error } from "./errors";
import { listObjects, listObjectVersions } from "./listing";
import {
  abortUpload,
  completeUpload,
  createUpload,
  listParts,
  listUploads,
  uploadPart,
} from "./multipart";
import { copyObject, deleteObject, deleteObjects, getObject, putObject } from "./objects";

/**
 * The S3-compatible front-end (docs/s3.md): a request signed with SigV4 on
 * the gateway's origin, or addressed to `{bucket}.{EDGEFS_S3_HOST}`, is an
 * S3 request. Buckets are the shares of the environment the access key
 * belongs to; keys are paths in them. Like WebDAV it is one more front-end
 * over the Backend interface: it authenticates its own way (SigV4 with the
 * key pairs of auth/s3-keys.ts) and renders every failure as S3's XML.
 */
type S3Env = {
  Bindings: Env;
  Variables: AppEnv["Variables"] & {
    requestId: string;
    address: S3Address;
    subject: Subject;
  };
};

/** Whether a request is for the S3 front-end rather than the native API or WebDAV. */
export function isS3Request(request: Request, env: Env): boolean {
  const s3Host = configFrom(env).s3Host;
  const url = new URL(request.url);
  const host = url.hostname.toLowerCase();
  if (s3Host !== "" && (host === s3Host || host.endsWith(`.${s3Host}`))) return true;
  if (isSigV4(request)) return true;
  // Signature V2 ("AWS AKID:sig") is S3 too: it gets S3's answer saying to use V4.
  if (/^AWS /.test(request.headers.get("authorization") ?? "")) return true;
  // A browser's preflight for a presigned S3 URL: not for the native API or WebDAV.
  return (
    request.method === "OPTIONS" &&
    request.headers.has("origin") &&
    request.headers.has("access-control-request-method") &&
    !/^\/(v1|dav)(\/|$)/.test(url.pathname) &&
    url.pathname !== "/"
  );
}

/** An operation: what it does, and what a NoSuchX in it is about. */
type Operation = { run: (call: S3Call) => Promise<Response>; subject: Subject };

const op = (run: Operation["run"], subject: Subject): Operation => ({ run, subject });

/**
 * Sub-resources S3 has and edgefs does not keep (ACLs, policies, tagging,
 * lifecycle…): asked for, they are NotImplemented rather than mistaken for
 * a listing or a read.
 */
const UNSUPPORTED = [
  "acl",
  "policy",
  "policyStatus",
  "cors",
  "lifecycle",
  "tagging",
  "encryption",
  "replication",
  "website",
  "logging",
  "notification",
  "object-lock",
  "legal-hold",
  "retention",
  "ownershipControls",
  "publicAccessBlock",
  "accelerate",
  "requestPayment",
  "analytics",
  "metrics",
  "inventory",
  "intelligent-tiering",
  "restore",
  "select",
  "torrent",
  "attributes",
];

/** Which operation a request is (the S3 API reference's method, address and sub-resource). */
function operationOf(
  method: string,
  address: S3Address,
  query: URLSearchParams,
  headers: Headers,
): Operation {
  const unsupported = UNSUPPORTED.find((q) => query.has(q));
  if (unsupported !== undefined) {
    throw s3Error("NotImplemented", `edgefs does not keep the ${unsupported} sub-resource`);
  }
  if (address.bucket === undefined) {
    if (method === "GET") return op(listBuckets, "bucket");
    throw s3Error("MethodNotAllowed", `${method} is not allowed on the service`);
  }
  if (address.key === undefined) {
    switch (method) {
      case "GET":
        if (query.has("location")) return op(getBucketLocation, "bucket");
        if (query.has("versioning")) return op(getBucketVersioning, "bucket");
        if (query.has("uploads")) return op(listUploads, "bucket");
        if (query.has("versions")) return op(listObjectVersions, "bucket");
        return op(listObjects, "bucket");
      case "HEAD":
        return op(headBucket, "bucket");
      case "PUT":
        if (query.has("versioning")) return op(putBucketVersioning, "bucket");
        return op(createBucket, "bucket");
      case "DELETE":
        return op(deleteBucket, "bucket");
      case "POST":
        if (query.has("delete")) return op(deleteObjects, "bucket");
        break;
    }
    throw s3Error("MethodNotAllowed", `${method} is not allowed on a bucket`);
  }
  const upload = query.has("uploadId");
  switch (method) {
    case "GET":
    case "HEAD":
      if (upload && method === "GET") return op(listParts, "upload");
      return op(getObject, query.has("versionId") ? "version" : "object");
    case "PUT":
      if (upload || query.has("partNumber")) return op(uploadPart, "upload");
      if (headers.has("x-amz-copy-source")) return op(copyObject, "object");
      return op(putObject, "object");
    case "DELETE":
      if (upload) return op(abortUpload, "upload");
      return op(deleteObject, "object");
    case "POST":
      if (query.has("uploads")) return op(createUpload, "object");
      if (upload) return op(completeUpload, "upload");
      break;
  }
  throw s3Error("MethodNotAllowed", `${method} is not allowed on an object`);
}

/** Verifies the signature and finds the credential that made it. */
async function signedBy(c: Context<S3Env>) {
  const request = c.req.raw;
  if (/^AWS /.test(request.headers.get("authorization") ?? "")) {
    throw s3Error(
      "InvalidRequest",
      "Signature Version 2 is not supported: sign requests with SigV4 (AWS4-HMAC-SHA256)",
    );
  }
  if (!isSigV4(request)) {
    throw s3Error(
      "AccessDenied",
      "anonymous requests are not allowed: sign with an edgefs S3 key pair (docs/s3.md)",
    );
  }
  const keys = keysFrom(c.env);
  const ttl = configFrom(c.env).revocationTtlMs;
  let credential: S3Credential | null = null;
  const auth = await verifySigV4(request, Date.now(), async (accessKeyId) => {
    credential = await s3Credential(c.env, keys, accessKeyId, ttl);
    return credential?.secrets ?? [];
  });
  if (credential === null) throw s3Error("InvalidAccessKeyId", "unknown access key");
  return { auth, credential: credential as S3Credential };
}

export const s3 = new Hono<S3Env>();

s3.use("*", async (c, next) => {
  c.set("requestId", randomId().slice(0, 16).toUpperCase());
  c.set("subject", "bucket");
  await next();
  c.res.headers.set("x-amz-request-id", c.get("requestId"));
  c.res.headers.set("x-amz-id-2", c.get("requestId"));
  // S3 documents go out as written: the runtime would gzip them for a client
  // that accepts gzip, and Go clients that asked for it themselves (rclone)
  // then read compressed bytes as XML. File bytes get the same from fileResponse.
  if (c.res.headers.get("content-type") === "application/xml") {
    c.res.headers.set("content-encoding", "identity");
    c.res.headers.set("cache-control", "no-transform");
  }
});

// Presigned URLs used from a page of another origin (EDGEFS_CORS_ORIGINS).
s3.use(
  "*",
  cors({
    origin: (origin, c) => {
      const allowed = configFrom(c.env as Env).corsOrigins;
      return allowed.includes("*") || allowed.includes(origin) ? origin : null;
    },
    allowMethods: ["GET", "HEAD", "PUT", "POST", "DELETE"],
    exposeHeaders: [
      "ETag",
      "Content-Length",
      "Content-Range",
      "Accept-Ranges",
      "Last-Modified",
      "x-amz-request-id",
      "x-amz-version-id",
      "x-amz-delete-marker",
    ],
    maxAge: 600,
  }),
);

s3.all("*", async (c) => {
  const url = new URL(c.req.url);
  const address = addressOf(url, configFrom(c.env).s3Host);
  c.set("address", address);
  // Authentication first: an unsigned request learns nothing, not even which operations exist.
  const { auth, credential } = await signedBy(c);
  const operation = operationOf(c.req.method, address, url.searchParams, c.req.raw.headers);
  c.set("subject", operation.subject);
  const call: S3Call = {
    c: c as unknown as Context<AppEnv>,
    request: c.req.raw,
    url,
    query: url.searchParams,
    requestId: c.get("requestId"),
    auth,
    principal: credential.principal,
    environment: credential.environment,
    ...address,
  };
  return operation.run(call);
});

s3.onError(
  onS3Error((c) => {
    const address = (c.get("address") as S3Address | undefined) ?? {};
    return {
      ...address,
      resource: new URL(c.req.url).pathname,
      requestId: (c.get("requestId") as string | undefined) ?? randomId().slice(0, 16),
      head: c.req.method === "HEAD",
      subject: (c.get("subject") as Subject | undefined) ?? "bucket",
    };
  }),
);
