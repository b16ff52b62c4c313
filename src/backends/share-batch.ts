import type { Config } from "../config";
import type { SubrequestBudget } from "../core/budget";
import type { FsPath } from "../core/paths";
import type { BatchOp, BatchOptions, BatchResult } from "../durable/batch-commit";
import type { ShareApi } from "../durable/share-client";
import { md5Etag } from "../r2/blob-store";

/** An op of a batch as the route parsed it: a put carries its decoded bytes or a staged upload. */
export type BatchRequestOp =
  | { op: "put"; path: FsPath; content: Uint8Array }
  | Exclude<BatchOp, { data: ArrayBuffer } | { blobId: string }>;

/** R2 puts of one batch in flight at once. */
const PUT_CONCURRENCY = 8;

/** What committing a batch needs of the share's storage in this request. */
export interface BatchStorage {
  share: ShareApi;
  bucket: R2Bucket;
  config: Config;
  waitUntil: (p: Promise<unknown>) => void;
  subrequests: SubrequestBudget;
  held: string[];
}

/**
 * A batch commit from the Worker's side: contents over the inline limit
 * go to R2 first (keys reserved by the ShareDO, put from here, never
 * through the object), then every op commits in ONE ShareDO change. If
 * the commit is refused, the ShareDO abandons those blobs in the same
 * call; if putting them fails, this abandons them. Either way nothing is
 * left but what GC reclaims. Ops whose contents the caller already put
 * (`blobId`, a tar upload's big files) pass through as they are.
 */
export async function commitBatch(
  s: BatchStorage,
  ops: Placeable[],
  options: BatchOptions,
): Promise<BatchResult> {
  const inlineMax = s.config.inlineMaxBytes;
  let placed = await place(
    s,
    ops,
    options,
    (op) => "content" in op && op.content.byteLength > inlineMax,
  );
  const result = await s.share.commitBatch(placed, options, s.held);
  if (!("spill" in result)) return result;
  // The share's SQLite nears its storage budget: the small contents go to R2 too.
  placed = await place(s, placed, options, (op) => "data" in op && op.data.byteLength > 0);
  const again = await s.share.commitBatch(placed, options, s.held);
  if ("spill" in again) throw new Error("a batch with no inline contents was told to spill");
  return again;
}

/** An op before the commit: its content in hand (`content`) or already placed (`data`, `blobId`). */
export type Placeable = BatchRequestOp | BatchOp;

/** The ops with the contents `bound` selects stored in R2 (`blobId`), the others inline (`data`). */
async function place(
  s: BatchStorage,
  ops: Placeable[],
  options: BatchOptions,
  bound: (op: Placeable) => boolean,
): Promise<BatchOp[]> {
  const bytesOf = (op: Placeable): Uint8Array =>
    "content" in op ? op.content : new Uint8Array((op as { data: ArrayBuffer }).data);
  // Each content's ETag is the MD5 of its bytes, hashed here where the bytes are.
  const inline = async (op: Placeable): Promise<BatchOp> => {
    if (!("content" in op)) return op;
    const bytes = op.content;
    const data =
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? (bytes.buffer as ArrayBuffer)
        : (bytes.slice().buffer as ArrayBuffer);
    return { op: "put", path: op.path, data, etag: await md5Etag(bytes) };
  };
  const chosen = ops.flatMap((op, i) => (bound(op) ? [i] : []));
  if (chosen.length === 0) return Promise.all(ops.map(inline));
  // A reserve, a put per content, and the commit (and, on failure, an abort).
  s.subrequests.take(
    chosen.length + 3,
    `storing ${chosen.length} content${chosen.length === 1 ? "" : "s"} over the inline limit in R2`,
  );
  const putPaths = ops.flatMap((o) => (o.op === "put" ? [o.path] : []));
  const blobs = await s.share.reserveBatch(options, putPaths, chosen.length);
  const out = await Promise.all(ops.map(inline));
  try {
    let next = 0;
    const worker = async () => {
      while (next < chosen.length) {
        const k = next++;
        const i = chosen[k] as number;
        const blob = blobs[k] as { blobId: string; key: string };
        const op = ops[i] as Placeable & { path: FsPath };
        const bytes = bytesOf(op);
        const stored = await s.bucket.put(blob.key, bytes);
        if (!stored || stored.size !== bytes.byteLength) {
          throw new Error(`R2 did not store ${blob.key}`);
        }
        const etag = (out[i] as { etag: string }).etag;
        out[i] = { op: "put", path: op.path, blobId: blob.blobId, size: bytes.byteLength, etag };
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, chosen.length) }, worker));
  } catch (e) {
    const ids = blobs.map((b) => b.blobId);
    s.waitUntil(
      s.share.abortWrites(ids).catch((error: unknown) => {
        console.warn("abandoning a batch's blobs failed; GC reclaims them at expiry:", error);
      }),
    );
    throw e;
  }
  return out;
}
