import { withKnownLength } from "./blob-store";

/**
 * R2 multipart uploads, the one way large and unknown-length bodies reach
 * R2: the uploads API and chunked PUTs both go through these.
 */
export async function startMultipart(bucket: R2Bucket, key: string): Promise<string> {
  return (await bucket.createMultipartUpload(key)).uploadId;
}

/** A stored part: R2's ETag, which completing needs, and the MD5 hex of its bytes. */
export interface PutPart {
  r2Etag: string;
  md5: string;
}

/**
 * Uploads part `n`: bytes already in memory, or a stream of declared length
 * (a request body, or any stream of exactly `length` bytes, such as a
 * ranged read of another file). R2's limits
 * (https://developers.cloudflare.com/r2/platform/limits/ and
 * https://developers.cloudflare.com/r2/objects/multipart-objects/): a part
 * is 5 MiB up to 5 GiB less 5 MiB, all but the last the same size, at most
 * 10,000 of them, and the object at most 5 TiB less 5 GiB. The ShareDO's
 * upload table (src/durable/upload-table.ts) enforces them.
 *
 * The part's MD5 (S3's part ETag) is computed as the bytes pass on their
 * way to R2, never holding the part: a stream is tapped into a
 * DigestStream, then given R2 through withKnownLength, which also reports
 * a body that ends short or breaks off. The tap is JavaScript per chunk,
 * the price of an ETag S3 clients can check.
 */
export async function putPart(
  bucket: R2Bucket,
  key: string,
  r2UploadId: string,
  n: number,
  body: Uint8Array | ReadableStream<Uint8Array>,
  length: number,
): Promise<PutPart> {
  const upload = bucket.resumeMultipartUpload(key, r2UploadId);
  if (body instanceof Uint8Array) {
    // Hashed first: the put may take the buffer.
    const md5 = hex(await crypto.subtle.digest("MD5", body));
    return { r2Etag: (await upload.uploadPart(n, body)).etag, md5 };
  }
  const digest = new crypto.DigestStream("MD5");
  const hashing = digest.getWriter();
  // A body that breaks off aborts the hashing; the put reports that failure, not these.
  digest.digest.catch(() => undefined);
  hashing.closed.catch(() => undefined);
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      // Hashed before it moves on: what R2 does with the chunk cannot touch the digest.
      await hashing.write(chunk);
      controller.enqueue(chunk);
    },
    flush: () => hashing.close(),
    cancel: (reason) => hashing.abort(reason),
  });
  const part = await withKnownLength(body.pipeThrough(tap), length, (stream) =>
    upload.uploadPart(n, stream),
  );
  return { r2Etag: part.etag, md5: hex(await digest.digest) };
}

/**
 * S3's ETag of a multipart object: the MD5 of the parts' binary MD5s one
 * after the other, a dash, and the number of parts — what S3 clients
 * expect of a file uploaded in parts (hex digests in, quoted ETag out).
 */
export async function multipartEtag(partMd5s: readonly string[]): Promise<string> {
  const joined = new Uint8Array(partMd5s.length * 16);
  partMd5s.forEach((md5, i) => {
    for (let b = 0; b < 16; b++)
      joined[i * 16 + b] = Number.parseInt(md5.slice(b * 2, b * 2 + 2), 16);
  });
  return `"${hex(await crypto.subtle.digest("MD5", joined))}-${partMd5s.length}"`;
}

function hex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function completeMultipart(
  bucket: R2Bucket,
  key: string,
  r2UploadId: string,
  parts: { partNumber: number; etag: string }[],
): Promise<void> {
  await bucket.resumeMultipartUpload(key, r2UploadId).complete(parts);
}
