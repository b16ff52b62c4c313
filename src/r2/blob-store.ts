import type { ByteRange } from "../core/range";
import { bodyError } from "../core/streams";

/**
 * File bytes in R2. Keys are `blobs/<shareId>/<blobId>`, never derived from
 * a path: every write goes to a fresh key and the ShareDO's commit swaps the
 * path's pointer, which is what makes writes atomic.
 */

/**
 * R2's own errors end in its numeric code, e.g. "put: … (10001)". Any other
 * failure of a put that took the request body is the body's: in workerd a
 * body that ends short of its Content-Length or breaks off fails the put
 * with the body's error ("Network connection lost.") and stores nothing.
 */
const R2_ERROR = /\(\d{5}\)\s*$/;

/**
 * Hands `body` to `store` (one R2 put or part upload) with no JavaScript
 * between the client and R2. A request body sent with Content-Length
 * already has the known length R2 needs, so every chunk moves natively:
 * Worker CPU time, which Cloudflare bills and caps, no longer grows with the
 * file. Guarantees kept: a body that ends short or breaks off is EINVAL and
 * nothing is stored; a longer one never reaches here (workerd cuts the body
 * at Content-Length); what R2 stored is checked against `length`. A stream
 * of unknown length (a chunked body whose length the client declared some
 * other way, e.g. X-Expected-Entity-Length) is refused by R2 before it is
 * read, and then goes through {@link withKnownLength}. `check`, where R2
 * reports a size (a put; an uploaded part reports none), compares it and
 * discards a mismatch.
 */
export async function storeSized<T>(
  body: ReadableStream<Uint8Array>,
  length: number,
  store: (stream: ReadableStream<Uint8Array>) => Promise<T>,
  check?: { sizeOf: (stored: T) => number; discard: () => Promise<unknown> },
): Promise<T> {
  let stored: T;
  try {
    stored = await store(body);
  } catch (error) {
    // Not taken: R2 wanted a known length the stream does not carry.
    if (!body.locked) return withKnownLength(body, length, store);
    if (error instanceof Error && R2_ERROR.test(error.message)) throw error;
    throw bodyError(error);
  }
  const size = check?.sizeOf(stored) ?? length;
  if (size !== length) {
    await check?.discard().catch(() => undefined);
    throw bodyError(`${size} of ${length} bytes arrived`);
  }
  return stored;
}

/**
 * Gives R2 a body of declared length whose stream does not carry it:
 * FixedLengthStream supplies the length R2 needs, and the bytes are counted
 * on the way (JavaScript per chunk, the slow path), so a body that ends
 * short or breaks off is reported as the client's fault (EINVAL), not as an
 * R2 error. `store` receives the stream and does the R2 call.
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

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The ETag of a file written in one piece: the MD5 of its bytes in hex,
 * quoted, as S3 gives a single PUT — S3 tools (rclone check, s3cmd sync)
 * compare it with the MD5 of their local copy.
 */
export async function md5Etag(bytes: Uint8Array): Promise<string> {
  return `"${hex(await crypto.subtle.digest("MD5", bytes))}"`;
}

/**
 * The MD5 ETag of an object R2 stored in one put. R2 hashes every single
 * put itself as the bytes arrive (`checksums.md5`), so the Worker gets the
 * MD5 without one line of JavaScript per chunk, nor a buffered body.
 */
function md5EtagOf(object: R2Object): string {
  const md5 = object.checksums.md5;
  if (md5) return `"${hex(md5)}"`;
  // R2's ETag of a single put is that same MD5.
  if (/^[0-9a-f]{32}$/.test(object.etag)) return `"${object.etag}"`;
  throw new Error(`R2 reported no MD5 for ${object.key}`);
}

/**
 * Stores a body of known length in one R2 put (up to R2's single-put
 * ceiling, 5 GiB less 5 MiB: https://developers.cloudflare.com/r2/platform/limits/).
 * Returns the stored bytes' MD5 ETag.
 */
export async function putKnownLength(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<string> {
  const object = await storeSized(
    body,
    length,
    async (stream) => {
      const object = await bucket.put(key, stream);
      // put() answers null only for a failed precondition, and none is set.
      if (!object) throw new Error(`R2 did not store ${key}`);
      return object;
    },
    { sizeOf: (object) => object.size, discard: () => bucket.delete(key) },
  );
  return md5EtagOf(object);
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
