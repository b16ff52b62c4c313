// Small numeric helpers for the benchmark: medians, percentiles, a bounded
// worker pool and formatting. No timing assertions live here (or anywhere
// in bench/): numbers are printed and compared against a baseline of the
// same run.

/** @param {number[]} values */
export function median(values) {
  return percentile(values, 50);
}

/**
 * Nearest-rank percentile (p in 0..100) of a non-empty sample.
 * @param {number[]} values
 * @param {number} p
 */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  if (p <= 0) return /** @type {number} */ (sorted[0]);
  const rank = Math.ceil((p / 100) * sorted.length);
  return /** @type {number} */ (sorted[Math.min(sorted.length, rank) - 1]);
}

/**
 * Runs fn(0) … fn(count - 1) on `concurrency` async workers. Stops handing
 * out work after the first failure, waits for the workers in flight, then
 * rethrows that failure. Bounded by `count`.
 * @param {number} count
 * @param {number} concurrency
 * @param {(i: number) => Promise<void>} fn
 * @param {(done: number) => void} [onProgress] called after each finished item
 */
export async function pool(count, concurrency, fn, onProgress) {
  let next = 0;
  let done = 0;
  /** @type {unknown[]} */
  const errors = [];
  const worker = async () => {
    while (errors.length === 0 && next < count) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        errors.push(e);
        return;
      }
      done++;
      onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  if (errors.length > 0) throw errors[0];
}

/**
 * A progress reporter for long loops: writes to stderr at most every
 * `everyMs` milliseconds, and once at the end.
 * @param {string} label
 * @param {number} total
 * @param {number} [everyMs]
 */
export function progress(label, total, everyMs = 3000) {
  const started = performance.now();
  let last = started;
  /** @param {number} done */
  return (done) => {
    const now = performance.now();
    if (done !== total && now - last < everyMs) return;
    last = now;
    const rate = done / ((now - started) / 1000);
    process.stderr.write(
      `  ${label}: ${int(done)}/${int(total)} (${int(rate)} files/s, ${((now - started) / 1000).toFixed(0)} s)\n`,
    );
  };
}

/** @param {number} n */
export function int(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—";
}

/**
 * @param {number | null | undefined} n
 * @param {number} digits
 */
export function fixed(n, digits) {
  return n === null || n === undefined || !Number.isFinite(n) ? "—" : n.toFixed(digits);
}

/** @param {number} ms */
export function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The list rotated left by r: round r starts with a different contender.
 * @template T
 * @param {readonly T[]} list
 * @param {number} r
 * @returns {T[]}
 */
export const rotate = (list, r) =>
  list.map((_, i) => /** @type {T} */ (list[(i + r) % list.length]));
