import { FsError, invalid } from "./errors.js";

/** A satisfiable byte range: `offset` and `length` within the file. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * Parses a `Range` header against a file of `size` bytes (RFC 9110 §14).
 * Returns undefined when the whole file should be sent. Only one range is
 * served; several (a multipart/byteranges request) are refused as EINVAL,
 * because the contract promises single ranges and no client relies on more.
 * An unsatisfiable range (start past the end, `bytes=-0`, any range of an
 * empty file) is ERANGE, which the handler answers with 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) throw invalid(`unsupported Range header: ${header.slice(0, 100)}`);
  const spec = (m[1] ?? "").trim();
  if (spec.includes(",")) throw invalid("multiple ranges are not supported");
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
  if (!r || (r[1] === "" && r[2] === "")) {
    throw invalid(`malformed Range header: ${header.slice(0, 100)}`);
  }
  const unsatisfiable = () =>
    new FsError(
      "ERANGE",
      `range ${spec.slice(0, 60)} is outside a file of ${size} bytes`,
      undefined,
      {
        "content-range": `bytes */${size}`,
      },
    );
  if (r[1] === "") {
    // Suffix range: the last N bytes.
    const n = Number(r[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    const length = Math.min(n, size);
    return { offset: size - length, length };
  }
  const start = Number(r[1]);
  if (start >= size) throw unsatisfiable();
  const end = r[2] === "" ? size - 1 : Math.min(Number(r[2]), size - 1);
  if (end < start) throw invalid(`malformed Range header: last byte before first`);
  return { offset: start, length: end - start + 1 };
}
