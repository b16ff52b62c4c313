/**
 * R2's multipart rules (also S3's), which every front-end checks before a
 * byte moves and the ShareDO checks again when a part is recorded: parts
 * are numbered 1–10,000, every part but the last has the same size, and
 * that size is 5 MiB–5 GiB.
 */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;
