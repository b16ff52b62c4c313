import { invalid } from "./errors.js";

/**
 * Reading request bodies. A body that breaks off (the client disconnected,
 * or sent fewer bytes than its Content-Length) is the client's fault: it
 * becomes EINVAL, and the write it belonged to is abandoned.
 */
export function bodyError(cause: unknown): Error {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return invalid(`the request body was cut short or did not match its length (${detail})`);
}

/** Reads until `max` bytes or the end; `done` says whether the end came first. */
export async function readUpTo(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  max: number,
): Promise<{ chunks: Uint8Array[]; size: number; done: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= max) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      throw bodyError(e);
    }
    if (r.done) return { chunks, size, done: true };
    chunks.push(r.value);
    size += r.value.byteLength;
  }
  return { chunks, size, done: false };
}

export function concat(chunks: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Re-cuts a byte stream into parts of exactly `partSize` bytes (the last may
 * be shorter), as R2 multipart uploads require. Holds one part in memory.
 */
export async function* fixedSizeParts(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  partSize: number,
): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  let part = new Uint8Array(partSize);
  let fill = 0;
  const source = async function* () {
    yield* head;
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw bodyError(e);
      }
      if (r.done) return;
      yield r.value;
    }
  };
  for await (const chunk of source()) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = Math.min(partSize - fill, chunk.byteLength - offset);
      part.set(chunk.subarray(offset, offset + n), fill);
      fill += n;
      offset += n;
      if (fill === partSize) {
        yield part;
        part = new Uint8Array(partSize);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield part.subarray(0, fill);
}

/**
 * A body counted on its way to a store that cannot tell a short body from
 * its own failure (an S3 bucket): `mismatch()` says afterwards whether the
 * body was shorter or longer than `declared`, which makes it the client's
 * fault (EINVAL) rather than the store's.
 */
export function countedBody(stream: ReadableStream<Uint8Array>, declared: number | undefined) {
  let seen = 0;
  let wrong = false;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (declared !== undefined && seen > declared) {
        wrong = true;
        controller.error(bodyError(`more than ${declared} bytes`));
        return;
      }
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (declared !== undefined && seen !== declared) {
        wrong = true;
        controller.error(bodyError(`${seen} bytes, not ${declared}`));
      }
    },
  });
  return { stream: stream.pipeThrough(counter), mismatch: () => wrong, seen: () => seen };
}
