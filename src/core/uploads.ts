import { FsError, invalid } from "./errors.js";

/**
 * R2's multipart rules, which every front-end checks before a byte moves and
 * the ShareDO checks again when a part is recorded: parts are numbered
 * 1–10,000, every part but the last has the same size, and that size is
 * 5 MiB up to R2's upload ceiling, which is 5 MiB less than 5 GiB ("4.995
 * GiB", and it applies to each part:
 * https://developers.cloudflare.com/r2/platform/limits/).
 */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024 - 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** R2's object ceiling: 5 GiB less than 5 TiB (same page). */
export const MAX_OBJECT_SIZE = 5 * 1024 ** 4 - 5 * 1024 ** 3;

/**
 * An upload may declare its size up front (`"size"` on create): its parts
 * are then fixed — all `partSize` bytes but the last, which holds the rest
 * (a file of 0 bytes is one empty part) — and each part and the completion
 * are checked against it, so a lost or short part can never commit a
 * truncated file.
 */
export function partsFor(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

/** The bytes part `n` holds in an upload declared as `size`, or null when it has no part `n`. */
export function declaredPartSize(size: number, partSize: number, n: number): number | null {
  const count = partsFor(size, partSize);
  if (n < 1 || n > count) return null;
  return n < count ? partSize : size - (count - 1) * partSize;
}

/** The part size of a new upload: as asked, else the default, grown so a declared size fits in MAX_PARTS. */
export function partSizeFor(
  size: number | undefined,
  requested: number | undefined,
  fallback: number,
): number {
  if (requested !== undefined || size === undefined) return requested ?? fallback;
  const MiB = 1024 * 1024;
  const needed = Math.ceil(Math.ceil(size / MAX_PARTS) / MiB) * MiB;
  return Math.min(Math.max(fallback, needed), MAX_PART_SIZE);
}

/**
 * Checks a declared size: a whole number of bytes, at most R2's object
 * limit (ETOOLARGE), and no more than MAX_PARTS parts of `partSize`
 * (EINVAL, naming the smallest part size that fits).
 */
export function checkDeclaredSize(size: number, partSize: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw invalid(`an upload's size is a whole number of bytes, 0 or more, not ${size}`);
  }
  if (size > MAX_OBJECT_SIZE) {
    throw new FsError(
      "ETOOLARGE",
      `a file of ${size} bytes is over R2's object limit of ${MAX_OBJECT_SIZE} bytes`,
    );
  }
  const parts = partsFor(size, partSize);
  if (parts > MAX_PARTS) {
    throw invalid(
      `a file of ${size} bytes takes ${parts} parts of ${partSize} bytes, more than ${MAX_PARTS}: ` +
        `use a partSize of at least ${Math.ceil(size / MAX_PARTS)} bytes`,
    );
  }
}
