import { storeSized } from "./blob-store";

/**
 * R2 multipart uploads, the one way large and unknown-length bodies reach
 * R2: the uploads API and chunked PUTs both go through these.
 */
export async function startMultipart(bucket: R2Bucket, key: string): Promise<string> {
  return (await bucket.createMultipartUpload(key)).uploadId;
}

/**
 * Uploads part `n`: bytes already in memory, or a stream of declared length
 * (a part's request body goes to R2 as is; see storeSized). R2's limits
 * (https://developers.cloudflare.com/r2/platform/limits/ and
 * https://developers.cloudflare.com/r2/objects/multipart-objects/): a part
 * is 5 MiB up to 5 GiB less 5 MiB, all but the last the same size, at most
 * 10,000 of them, and the object at most 5 TiB less 5 GiB. The ShareDO's
 * upload table (src/durable/upload-table.ts) enforces them.
 */
export async function putPart(
  bucket: R2Bucket,
  key: string,
  r2UploadId: string,
  n: number,
  body: Uint8Array | ReadableStream<Uint8Array>,
  length: number,
): Promise<string> {
  const upload = bucket.resumeMultipartUpload(key, r2UploadId);
  const part =
    body instanceof Uint8Array
      ? await upload.uploadPart(n, body)
      : await storeSized(body, length, (stream) => upload.uploadPart(n, stream));
  return part.etag;
}

export async function completeMultipart(
  bucket: R2Bucket,
  key: string,
  r2UploadId: string,
  parts: { partNumber: number; etag: string }[],
): Promise<void> {
  await bucket.resumeMultipartUpload(key, r2UploadId).complete(parts);
}
