import { withKnownLength } from "./blob-store";

/**
 * R2 multipart uploads, the one way large and unknown-length bodies reach
 * R2: the uploads API and chunked PUTs both go through these.
 */
export async function startMultipart(bucket: R2Bucket, key: string): Promise<string> {
  return (await bucket.createMultipartUpload(key)).uploadId;
}

/** Uploads part `n`: bytes already in memory, or a stream of declared length. */
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
      : await withKnownLength(body, length, (stream) => upload.uploadPart(n, stream));
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
