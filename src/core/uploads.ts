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
