import type { UploadInfo, UploadPart } from "../core/backend";
import { FsError } from "../core/errors";
import { ROOT } from "../core/paths";
import { writeConditionsFrom } from "../core/preconditions";
import { MAX_PARTS } from "../core/uploads";
import { backendOf, bucketOf, requirePermission, type S3Call } from "./call";
import { s3Error } from "./errors";
import { keyOfPath } from "./keys";
import { attributesOf, checkCopySource, copySource, keyPathOf } from "./objects";
import { bodyOf } from "./request-body";
import { childrenNamed, isoTime, readS3Xml, textOf, xmlResponse } from "./xml";

/**
 * S3 multipart uploads over the Backend's upload methods. The client picks
 * the part size (createUpload without partSize); edgefs stores the parts as
 * an R2 multipart upload, whose rule — every part but the last the same
 * size — is judged at completion (docs/s3.md "Multipart uploads").
 */

function uploadIdOf(call: S3Call): string {
  const id = call.query.get("uploadId") ?? "";
  if (!/^[A-Za-z0-9._~=+/-]{1,1024}$/.test(id)) throw s3Error("NoSuchUpload", "no such upload");
  return id;
}

function partNumberOf(call: S3Call): number {
  const raw = call.query.get("partNumber") ?? "";
  const n = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || n < 1 || n > MAX_PARTS) {
    throw s3Error("InvalidArgument", `partNumber must be 1 to ${MAX_PARTS}`);
  }
  return n;
}

/** The upload, checked to belong to the key the request names. */
async function uploadOf(call: S3Call) {
  const bucket = bucketOf(call);
  const { path } = keyPathOf(call);
  const uploadId = uploadIdOf(call);
  const backend = await backendOf(call, bucket, path);
  const status = await backend.uploadStatus(uploadId).catch((e: unknown) => {
    throw e instanceof FsError && e.code === "ENOENT"
      ? s3Error("NoSuchUpload", "no such upload: it was completed, aborted or has expired")
      : e;
  });
  if (status.path !== path) throw s3Error("NoSuchUpload", "this upload is for another key");
  return { bucket, path, uploadId, backend, status };
}

export async function createUpload(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "write", bucket);
  const { path, directory } = keyPathOf(call);
  if (directory) throw s3Error("InvalidArgument", "a directory's key takes no upload");
  const headers = call.request.headers;
  const backend = await backendOf(call, bucket, path);
  const info = await backend.createUpload(path, {
    conditions: writeConditionsFrom({
      ifMatch: headers.get("if-match") ?? undefined,
      ifNoneMatch: headers.get("if-none-match") ?? undefined,
    }),
    attributes: attributesOf(headers),
  });
  return xmlResponse("InitiateMultipartUploadResult", {
    Bucket: bucket,
    Key: call.key,
    UploadId: info.uploadId,
  });
}

export async function uploadPart(call: S3Call): Promise<Response> {
  requirePermission(call, "write", bucketOf(call));
  const n = partNumberOf(call);
  const { uploadId, backend } = await uploadOf(call);
  const copyFrom = call.request.headers.get("x-amz-copy-source");
  if (copyFrom !== null) return uploadPartCopy(call, uploadId, n, backend);
  const body = bodyOf(call.request, call.auth);
  if (body.length === undefined) {
    throw s3Error("MissingContentLength", "UploadPart needs a Content-Length");
  }
  const part = await body.settle(
    backend.uploadPart(uploadId, n, body.stream ?? new Uint8Array(0), body.length),
  );
  const headers = new Headers({ etag: part.etag });
  for (const [name, value] of body.checksums()) headers.set(name, value);
  return new Response(null, { status: 200, headers });
}

/** UploadPartCopy: a part's bytes read from another object (a range of it), through the Worker. */
async function uploadPartCopy(
  call: S3Call,
  uploadId: string,
  n: number,
  backend: Awaited<ReturnType<typeof backendOf>>,
): Promise<Response> {
  const source = await copySource(call);
  const range = call.request.headers.get("x-amz-copy-source-range") ?? undefined;
  if (range !== undefined && !/^bytes=\d+-\d+$/.test(range)) {
    throw s3Error("InvalidArgument", "x-amz-copy-source-range must be bytes=first-last");
  }
  const read = await source.reader.read(source.path, {
    headOnly: false,
    ...(range ? { range } : {}),
  });
  if (read.status === 304) throw s3Error("InternalError", "unexpected answer to a copy's read");
  try {
    checkCopySource(call.request.headers, read.entry);
  } catch (e) {
    await read.body?.cancel();
    throw e;
  }
  const length = read.status === 206 ? read.range.length : read.entry.size;
  const part = await backend.uploadPart(uploadId, n, read.body ?? new Uint8Array(0), length);
  return xmlResponse("CopyPartResult", { ETag: part.etag, LastModified: isoTime(Date.now()) });
}

export async function completeUpload(call: S3Call): Promise<Response> {
  requirePermission(call, "write", bucketOf(call));
  const { bucket, uploadId, backend } = await uploadOf(call);
  const body = bodyOf(call.request, call.auth);
  const doc = await body.settle(readS3Xml(body.stream, "CompleteMultipartUpload"));
  if (doc === null) throw s3Error("MalformedXML", "CompleteMultipartUpload needs the parts");
  const parts = childrenNamed(doc, "Part").map((p) => {
    const raw = textOf(p, "PartNumber")?.trim() ?? "";
    const etag = textOf(p, "ETag")?.trim() ?? "";
    if (!/^\d{1,5}$/.test(raw) || etag === "") {
      throw s3Error("MalformedXML", "each <Part> needs a <PartNumber> and an <ETag>");
    }
    // Clients send the ETag quoted or not, and sometimes with entities already decoded.
    return { partNumber: Number(raw), etag: etag.startsWith('"') ? etag : `"${etag}"` };
  });
  if (parts.length === 0 || parts.length > MAX_PARTS) {
    throw s3Error("MalformedXML", `CompleteMultipartUpload takes 1 to ${MAX_PARTS} parts`);
  }
  const done = await backend.completeUpload(uploadId, parts);
  const headers: Record<string, string> = {};
  if (done.version !== undefined) headers["x-amz-version-id"] = String(done.version);
  return xmlResponse(
    "CompleteMultipartUploadResult",
    {
      Location: `${call.url.origin}/${bucket}/${encodeURI(call.key ?? "")}`,
      Bucket: bucket,
      Key: call.key,
      ETag: done.entry.etag,
    },
    headers,
  );
}

export async function abortUpload(call: S3Call): Promise<Response> {
  requirePermission(call, "write", bucketOf(call));
  const { uploadId, backend } = await uploadOf(call);
  await backend.abortUpload(uploadId);
  return new Response(null, { status: 204 });
}

export async function listParts(call: S3Call): Promise<Response> {
  requirePermission(call, "read", bucketOf(call));
  const { bucket, uploadId, status } = await uploadOf(call);
  const marker = Number(call.query.get("part-number-marker") ?? 0);
  const max = Math.min(Number(call.query.get("max-parts") ?? 1000), 1000);
  if (!Number.isInteger(marker) || marker < 0 || !Number.isInteger(max) || max < 0) {
    throw s3Error("InvalidArgument", "part-number-marker and max-parts are numbers");
  }
  const after = status.parts
    .filter((p: UploadPart) => p.partNumber > marker)
    .sort((a, b) => a.partNumber - b.partNumber);
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  return xmlResponse("ListPartsResult", {
    Bucket: bucket,
    Key: call.key,
    UploadId: uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.partNumber ?? marker,
    MaxParts: max,
    IsTruncated: truncated,
    StorageClass: "STANDARD",
    Part: page.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: isoTime(status.createdAt),
      ETag: p.etag,
      Size: p.size,
    })),
  });
}

/** ListMultipartUploads: the open uploads of the share's own storage (not of bucket mounts in it). */
export async function listUploads(call: S3Call): Promise<Response> {
  const bucket = bucketOf(call);
  requirePermission(call, "read", bucket);
  const prefix = call.query.get("prefix") ?? "";
  if (call.query.has("delimiter") && call.query.get("delimiter") !== "/") {
    throw s3Error("InvalidArgument", 'edgefs lists with the delimiter "/" only');
  }
  const keyMarker = call.query.get("key-marker") ?? "";
  const idMarker = call.query.get("upload-id-marker") ?? "";
  const max = Math.min(Number(call.query.get("max-uploads") ?? 1000), 1000);
  if (!Number.isInteger(max) || max < 1)
    throw s3Error("InvalidArgument", "max-uploads is 1 to 1000");
  const backend = await backendOf(call, bucket, ROOT);
  const page = await backend.listUploads({
    prefix,
    // A key-marker alone starts after every upload of that key (S3's rule).
    ...(keyMarker !== ""
      ? { after: idMarker !== "" ? { path: keyMarker, uploadId: idMarker } : { path: keyMarker } }
      : {}),
    limit: max,
  });
  const uploads = page.uploads as (UploadInfo & { createdAt?: number })[];
  return xmlResponse("ListMultipartUploadsResult", {
    Bucket: bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: idMarker,
    NextKeyMarker: page.next?.path,
    NextUploadIdMarker: page.next?.uploadId,
    Prefix: prefix,
    MaxUploads: max,
    IsTruncated: page.next !== undefined,
    Upload: uploads.map((u) => ({
      Key: keyOfPath(u.path, false),
      UploadId: u.uploadId,
      Initiator: { ID: "edgefs", DisplayName: "edgefs" },
      Owner: { ID: "edgefs", DisplayName: "edgefs" },
      StorageClass: "STANDARD",
      Initiated: isoTime(u.createdAt ?? Date.now()),
    })),
  });
}
