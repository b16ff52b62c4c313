// Reading a remote file: the lazy FileReader readFile() answers, and the byte
// ranges it may ask for. Runtime-agnostic (fetch, streams).
import { InvalidRequestError } from "./errors.js";

/** A remote file, read lazily: each consumption is one streamed GET. */
export interface FileReader extends AsyncIterable<Uint8Array> {
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  stream(): Promise<ReadableStream<Uint8Array>>;
}

/** Options of readFile(): a byte range. */
export interface ReadOptions {
  offset?: number;
  length?: number;
}

/** A lazily opened remote file: every consumption is its own GET. */
export class RemoteFile implements FileReader {
  readonly #open: () => Promise<ReadableStream<Uint8Array>>;

  constructor(open: () => Promise<ReadableStream<Uint8Array>>) {
    this.#open = open;
  }

  stream(): Promise<ReadableStream<Uint8Array>> {
    return this.#open();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const reader = (await this.#open()).getReader();
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          finished = true;
          return;
        }
        yield value;
      }
    } finally {
      // Stopped early (break, throw): tell the server we are done.
      if (!finished) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  }

  async bytes(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this) {
      chunks.push(chunk);
      size += chunk.byteLength;
    }
    if (chunks.length === 1) return chunks[0] as Uint8Array;
    const out = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }
}

/** Refuses, before any request, an offset or length that is not a non-negative integer. */
export function checkRange(options: ReadOptions): void {
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new InvalidRequestError(`${key} must be a non-negative integer, not ${value}`, {
        status: 0,
      });
    }
  }
}

/** The Range header of a read, none for the whole file. (An empty range has none: no GET.) */
export function rangeHeader({ offset = 0, length }: ReadOptions): string | undefined {
  if (length === undefined) return offset === 0 ? undefined : `bytes=${offset}-`;
  return `bytes=${offset}-${offset + length - 1}`;
}
