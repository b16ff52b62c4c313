import type { ByteRange } from "../core/range";
import { bodyError } from "../core/streams";

/**
 * File bytes in R2. Keys are `blobs/<shareId>/<blobId>`, never derived from
 * a path: every write goes to a fresh key and the ShareDO's commit swaps the
 * path's pointer, which is what makes writes atomic.
 */

/**
 * Gives R2 a body of declared length: FixedLengthStream supplies the length
 * R2 needs, and the bytes are counted on the way, so a body that ends short
 * or breaks off is reported as the client's fault (EINVAL), not as an R2
 * error. `store` receives the stream and does the R2 call.
 */
export async function withKnownLength<T>(
  body: ReadableStream<Uint8Array>,
  length: number,
  store: (stream: ReadableStream<Uint8Array>) => Promise<T>,
): Promise<T> {
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
  let result: { value: T } | { error: unknown };
  try {
    result = { value: await store(fixed.readable) };
  } catch (error) {
    result = { error };
  }
  const pipeError = await piping;
  if (pipeError !== undefined) throw bodyError(pipeError);
  if (seen !== length) throw bodyError(`${seen} of ${length} bytes arrived`);
  if ("error" in result) throw result.error;
  return result.value;
}

/** Stores a body of known length in one R2 put (up to 5 GiB). */
export async function putKnownLength(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<void> {
  await withKnownLength(body, length, (stream) => bucket.put(key, stream));
}

export async function getBlob(
  bucket: R2Bucket,
  key: string,
  range?: ByteRange,
): Promise<ReadableStream | null> {
  const object = await bucket.get(key, range ? { range } : {});
  return object ? object.body : null;
}

/**
 * R2's answer when an upload is already completed or aborted: nothing of it
 * is left to free, so the abort has nothing more to do.
 */
function isGoneUpload(e: unknown): boolean {
  return /does not exist|NoSuchUpload|10024/i.test(String((e as Error)?.message ?? e));
}

/**
 * Deletes a GC batch (≤ 1,000 keys, R2's limit per call), aborting unfinished
 * uploads. Returns the items whose abort failed: their parts are still
 * stored, so the caller keeps them queued and tries again later.
 */
export async function deleteBlobs(
  bucket: R2Bucket,
  items: { key: string; uploadId: string | null }[],
): Promise<{ key: string; uploadId: string | null; error: unknown }[]> {
  const failed = await Promise.all(
    items
      .filter((i) => i.uploadId !== null)
      .map((i) =>
        bucket
          .resumeMultipartUpload(i.key, i.uploadId as string)
          .abort()
          .then(
            () => undefined,
            (error: unknown) => (isGoneUpload(error) ? undefined : { ...i, error }),
          ),
      ),
  );
  if (items.length > 0) await bucket.delete(items.map((i) => i.key));
  return failed.filter((f) => f !== undefined);
}
