/**
 * A dev-only ledger of R2 multipart uploads, so tests can see the ones left
 * unfinished. The R2 binding lists objects only: parts of an upload nobody
 * completed or aborted are invisible to `list()`, yet they are stored (and
 * billed) until aborted. With EDGEFS_DEV_ROUTES=1 every upload edgefs starts
 * is noted as a marker object; counting asks R2 itself whether each noted
 * upload is still open, so a failed or forgotten abort shows up whatever
 * edgefs's own bookkeeping believes.
 */
const LEDGER = "_dev/multipart/";

/** The probe's part never exists, so completing with it fails without effect. */
const PROBE_ETAG = "edgefs-dev-probe";

function markerKey(key: string, uploadId: string): string {
  // The upload's key leads, so the uploads under a prefix are one listing.
  return `${LEDGER}${key}/${encodeURIComponent(uploadId)}`;
}

function parseMarker(marker: string): { key: string; uploadId: string } {
  const rest = marker.slice(LEDGER.length);
  const slash = rest.lastIndexOf("/");
  return { key: rest.slice(0, slash), uploadId: decodeURIComponent(rest.slice(slash + 1)) };
}

/** The bucket, with every multipart upload it starts noted in the ledger. */
export function notingUploads(bucket: R2Bucket): R2Bucket {
  return new Proxy(bucket, {
    get(target, prop) {
      if (prop === "createMultipartUpload") {
        return async (key: string, options?: R2MultipartOptions) => {
          const upload = await target.createMultipartUpload(key, options);
          await target.put(markerKey(key, upload.uploadId), "");
          return upload;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Whether R2 still holds the upload open. Completing it with a part that was
 * never uploaded fails either way and changes nothing: "no such upload" once
 * it was completed or aborted, "invalid part" while it is open.
 */
async function isOpen(bucket: R2Bucket, key: string, uploadId: string): Promise<boolean> {
  try {
    await bucket
      .resumeMultipartUpload(key, uploadId)
      .complete([{ partNumber: 1, etag: PROBE_ETAG }]);
  } catch (e) {
    const message = String((e as Error)?.message ?? e);
    if (/does not exist|NoSuchUpload|10024/i.test(message)) return false;
    if (/could not be found|InvalidPart|10025/i.test(message)) return true;
    throw e;
  }
  throw new Error(`probe completed multipart upload ${uploadId} of ${key}`);
}

/**
 * How many noted multipart uploads under `prefix` R2 still holds open.
 * Markers of finished uploads are dropped as they are found.
 */
export async function countOpenUploads(bucket: R2Bucket, prefix: string): Promise<number> {
  let open = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: `${LEDGER}${prefix}`, cursor, limit: 1000 });
    for (const marker of page.objects) {
      const { key, uploadId } = parseMarker(marker.key);
      if (await isOpen(bucket, key, uploadId)) open++;
      else await bucket.delete(marker.key);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return open;
}
