import type { ByteRange } from "../core/range";
import { bodyError, fixedSizeParts } from "./body";

/**
 * File bytes in R2. Keys are `blobs/<shareId>/<blobId>`, never derived from
 * a path: every write goes to a fresh key and the ShareDO's commit swaps the
 * path's pointer, which is what makes writes atomic.
 */

/** Part size for bodies of unknown length: 10 MiB × R2's 10,000 parts ≈ 97 GiB per file. */
export const CHUNKED_PART_SIZE = 10 * 1024 * 1024;

/**
 * Stores a body of known length. The FixedLengthStream gives R2 the length
 * it needs; the bytes are counted on the way, so a body that ends short or
 * breaks off is reported as the client's fault (EINVAL), not as an R2 error.
 */
export async function putKnownLength(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<void> {
  let seen = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  const fixed = new FixedLengthStream(length);
  const piping = body
    .pipeThrough(counter)
    .pipeTo(fixed.writable)
    .then(
      () => undefined,
      (e: unknown) => e ?? new Error("body aborted"),
    );
  let putError: unknown;
  try {
    await bucket.put(key, fixed.readable);
  } catch (e) {
    putError = e;
  }
  const pipeError = await piping;
  if (pipeError !== undefined) throw bodyError(pipeError);
  if (seen !== length) throw bodyError(`${seen} of ${length} bytes arrived`);
  if (putError !== undefined) throw putError;
}

/**
 * Stores a body of unknown length (a chunked request) as an R2 multipart
 * upload, because R2 needs every put's length up front. One part is read
 * while the previous one uploads, so at most two parts are in memory. On
 * any failure the multipart upload is aborted; `onStart` lets the caller
 * record its id first, so GC can abort it even if this Worker dies.
 */
export async function putChunked(
  bucket: R2Bucket,
  key: string,
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  onStart: (uploadId: string) => Promise<void>,
  partSize = CHUNKED_PART_SIZE,
): Promise<number> {
  const upload = await bucket.createMultipartUpload(key);
  const parts: R2UploadedPart[] = [];
  let size = 0;
  let inFlight: Promise<void> = Promise.resolve();
  try {
    await onStart(upload.uploadId);
    let partNumber = 0;
    for await (const part of fixedSizeParts(head, reader, partSize)) {
      await inFlight;
      const n = ++partNumber;
      size += part.byteLength;
      inFlight = upload.uploadPart(n, part).then((uploaded) => {
        parts[n - 1] = uploaded;
      });
    }
    await inFlight;
    await upload.complete(parts);
    return size;
  } catch (e) {
    // Settle the part still uploading before aborting, then abort best-effort:
    // GC retries the abort if this one fails.
    await inFlight.catch(() => undefined);
    await upload.abort().catch(() => undefined);
    throw e;
  }
}

export async function getBlob(
  bucket: R2Bucket,
  key: string,
  range?: ByteRange,
): Promise<ReadableStream | null> {
  const object = await bucket.get(key, range ? { range } : {});
  return object ? object.body : null;
}

/** Deletes a GC batch (≤ 1,000 keys, R2's limit per call), aborting unfinished uploads. */
export async function deleteBlobs(
  bucket: R2Bucket,
  items: { key: string; uploadId: string | null }[],
): Promise<void> {
  await Promise.all(
    items
      .filter((i) => i.uploadId !== null)
      .map((i) =>
        bucket
          .resumeMultipartUpload(i.key, i.uploadId as string)
          .abort()
          .catch(() => undefined),
      ),
  );
  if (items.length > 0) await bucket.delete(items.map((i) => i.key));
}
