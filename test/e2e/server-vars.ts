/**
 * Worker vars of every e2e server: dev routes on (so tests can count R2
 * objects), a 1 s GC grace, so superseded blobs are reclaimed quickly, and
 * small batches of background tree work.
 */
export const E2E_VARS = {
  EDGEFS_DEV_ROUTES: "1",
  EDGEFS_GC_GRACE_SECONDS: "1",
  // Bucket mounts onto the local S3 endpoints (wrangler's, fake ones) on 127.0.0.1.
  EDGEFS_MOUNT_ALLOW_HOSTS: "127.0.0.1",
  // Background tree work in batches of 250 rows, not 1,000: a big copy or delete
  // spans many batches, so the scale tests can act while it runs.
  EDGEFS_BATCH_ROWS: "250",
  // No time-based history: replaced bytes go at once, as the GC checks expect;
  // versions stay readable through snapshots.
  EDGEFS_VERSION_RETENTION_SECONDS: "0",
};
