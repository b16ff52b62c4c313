// Test data for the benchmarks: random files on disk, written in chunks so a
// gigabyte never sits in memory.
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";

const CHUNK = 8 * 1024 * 1024;

/**
 * Writes `size` random bytes to `file`; returns their SHA-256 (hex).
 * @param {string} file
 * @param {number} size
 */
export function writeRandomFile(file, size) {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(CHUNK);
  const hash = createHash("sha256");
  try {
    for (let done = 0; done < size; done += chunk.length) {
      randomFillSync(chunk);
      const part = chunk.subarray(0, Math.min(chunk.length, size - done));
      hash.update(part);
      writeSync(fd, part);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}
