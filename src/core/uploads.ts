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

/** A part a completion names, as S3's CompleteMultipartUpload lists them. */
export interface NamedPart {
  partNumber: number;
  etag: string;
}

/** An ETag without its quotes: clients send a part's ETag back quoted or bare. */
const bareEtag = (etag: string) => etag.trim().replace(/^"(.*)"$/, "$1");

const invalidAs = (reason: string, message: string) =>
  new FsError("EINVAL", message, undefined, undefined, reason);

/**
 * The parts a completion stitches, and the file's size, judged against R2's
 * rules. `named` (S3) picks parts by number and ETag, strictly ascending;
 * parts uploaded but not named are left out of the file. Without it, every
 * part is used and they must run from 1 with none missing.
 *
 * `partSize` absent means the client picked the sizes as it sent them; the
 * parts used must then have the shape R2 stores: all the same size, at
 * least MIN_PART_SIZE, but the last, which may be shorter. With a partSize,
 * every part used but the last is that size. A declared `size` must be
 * what the parts add up to.
 *
 * Errors carry S3's names in `reason`: InvalidPartOrder, InvalidPart,
 * EntityTooSmall.
 */
export function chooseParts<P extends { partNumber: number; size: number; etag: string }>(
  stored: readonly P[],
  named: readonly NamedPart[] | undefined,
  sizing: { partSize?: number; size?: number },
): { parts: P[]; size: number } {
  const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
  let parts: P[];
  if (named) {
    if (named.length === 0) throw invalid("a completion names at least one part");
    parts = named.map((want, i) => {
      const before = named[i - 1];
      if (before && want.partNumber <= before.partNumber) {
        throw invalidAs(
          "InvalidPartOrder",
          `parts are listed in ascending order of part number, each once: part ${want.partNumber} follows part ${before.partNumber}`,
        );
      }
      const part = byNumber.get(want.partNumber);
      if (!part) {
        throw invalidAs(
          "InvalidPart",
          `part ${want.partNumber} was never uploaded (or was replaced and its upload failed)`,
        );
      }
      if (bareEtag(part.etag) !== bareEtag(want.etag)) {
        throw invalidAs(
          "InvalidPart",
          `part ${want.partNumber} has the ETag ${part.etag}, not ${want.etag}: the part was sent again since, or the ETag is another part's`,
        );
      }
      return part;
    });
  } else {
    parts = [...stored].sort((a, b) => a.partNumber - b.partNumber);
    parts.forEach((p, i) => {
      if (p.partNumber !== i + 1) throw invalid(`part ${i + 1} is missing`);
    });
  }
  if (parts.length === 0) throw invalid("the upload has no parts");
  checkPartShape(parts, sizing.partSize);
  const size = parts.reduce((n, p) => n + p.size, 0);
  if (size > MAX_OBJECT_SIZE) {
    throw new FsError(
      "ETOOLARGE",
      `the parts add up to ${size} bytes, over R2's object limit of ${MAX_OBJECT_SIZE} bytes`,
    );
  }
  if (sizing.size !== undefined && size !== sizing.size) {
    throw invalid(
      `the parts add up to ${size} bytes, not the declared ${sizing.size}; nothing was committed, the upload stays open`,
    );
  }
  return { parts, size };
}

/** R2 stores a multipart object only as equal parts and a last one no bigger (see chooseParts). */
function checkPartShape(
  parts: readonly { partNumber: number; size: number }[],
  partSize: number | undefined,
): void {
  const [first] = parts;
  const last = parts[parts.length - 1];
  if (!first || !last || parts.length === 1) return;
  const full = partSize ?? first.size;
  for (const p of parts.slice(0, -1)) {
    if (partSize === undefined && p.size < MIN_PART_SIZE) {
      throw invalidAs(
        "EntityTooSmall",
        `part ${p.partNumber} is ${p.size} bytes: every part but the last must be at least ${MIN_PART_SIZE} bytes (5 MiB)`,
      );
    }
    if (p.size !== full) {
      throw invalidAs(
        "InvalidPart",
        `part ${p.partNumber} is ${p.size} bytes, not ${full} like ${partSize === undefined ? `part ${first.partNumber}` : "the upload's partSize"}: edgefs stores an upload as an R2 multipart upload, whose parts must all be the same size except the last, which may be smaller; nothing was committed, the upload stays open`,
      );
    }
  }
  if (last.size > full) {
    throw invalidAs(
      "InvalidPart",
      `the last part, ${last.partNumber}, is ${last.size} bytes, more than the ${full} of the parts before it: edgefs stores an upload as an R2 multipart upload, whose parts must all be the same size except the last, which may be smaller; nothing was committed, the upload stays open`,
    );
  }
}
