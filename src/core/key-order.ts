import type { KeyQuery } from "./backend.js";
import { invalid } from "./errors.js";

/**
 * S3 key order (ListObjectsV2): keys compare as their UTF-8 bytes. For
 * well-formed strings that is code point order, which JavaScript's `<`
 * (UTF-16 code units) gets wrong in one place: a surrogate pair (U+10000
 * and up) sorts below U+E000…U+FFFF there. Here it sorts above, as in
 * UTF-8 and in SQLite's BINARY collation of UTF-8 text.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeOrder(x) - codeOrder(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit moved so that surrogates sort above U+FFFF's BMP neighbours. */
const codeOrder = (u: number): number =>
  u >= 0xd800 && u <= 0xdfff ? u + 0x2000 : u >= 0xe000 ? u - 0x800 : u;

/**
 * The smallest string above every string that starts with `prefix`, in key
 * order; undefined when there is none (a prefix of U+10FFFF only). The
 * last code point goes up by one, skipping the surrogate range, which no
 * UTF-8 key holds.
 */
export function keyPrefixEnd(prefix: string): string | undefined {
  const chars = Array.from(prefix);
  while (chars.length > 0) {
    const cp = (chars.pop() as string).codePointAt(0) as number;
    if (cp < 0x10ffff) {
      return chars.join("") + String.fromCodePoint(cp === 0xd7ff ? 0xe000 : cp + 1);
    }
  }
  return undefined;
}

/** The most bytes a key query's prefix or startAfter may have: S3's key limit. */
export const MAX_KEY_BYTES = 1024;

/** Items one key listing page may hold: S3's max-keys ceiling. */
export const MAX_KEY_ITEMS = 1000;

const utf8 = new TextEncoder();
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkKeyText(value: unknown, what: string): string {
  if (typeof value !== "string") throw invalid(`${what} must be a string`);
  if (utf8.encode(value).byteLength > MAX_KEY_BYTES) {
    throw invalid(`${what} is longer than ${MAX_KEY_BYTES} bytes`);
  }
  // No path holds them (core/paths), and the order above assumes well-formed text.
  if (CONTROL.test(value)) throw invalid(`${what} contains a control character`);
  if (!value.isWellFormed()) throw invalid(`${what} is not valid UTF-8`);
  return value;
}

/**
 * A key query as clients send it, checked: EINVAL for a prefix or
 * startAfter over 1024 bytes, with control characters or lone surrogates,
 * and for a limit outside 1…1000.
 */
export function checkKeyQuery(query: KeyQuery): KeyQuery {
  if (typeof query !== "object" || query === null) throw invalid("a key query must be an object");
  const prefix = checkKeyText(query.prefix, "prefix");
  const startAfter = checkKeyText(query.startAfter, "startAfter");
  if (typeof query.delimiter !== "boolean") throw invalid("delimiter must be true or false");
  const limit = query.limit;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_KEY_ITEMS) {
    throw invalid(`limit must be an integer from 1 to ${MAX_KEY_ITEMS}`);
  }
  return { prefix, startAfter, delimiter: query.delimiter, limit };
}
