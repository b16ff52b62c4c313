// Options objects are checked at run time as TypeScript checks them at
// compile time: a key the SDK does not know is an error, never dropped.
// (A misspelt `ifNoneMatch` silently overwriting a file is what this prevents.)
import { InvalidRequestError } from "./errors.js";

/**
 * Every key an options object of type T may have, listed once. `satisfies`
 * makes a key of T missing here, or one here that T lacks, a type error.
 */
export type KeysOf<T> = { readonly [K in keyof Required<T>]: true };

/** Keys of ClientOptions: most options objects of the SDK extend it. */
export const CLIENT_KEYS = {
  url: true,
  token: true,
  environment: true,
  fetch: true,
  retries: true,
} as const;

/**
 * Throws InvalidRequestError (status 0, before any request) when `options`
 * is not an object or has a key that is not in `known`. Answers `options`
 * (or an empty object for undefined).
 */
export function checkOptions<T extends object>(
  what: string,
  options: T | undefined,
  known: KeysOf<T>,
): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new InvalidRequestError(`${what}: options must be an object, not ${typeName(options)}`, {
      status: 0,
    });
  }
  const unknown = Object.keys(options).filter((k) => !Object.hasOwn(known, k));
  if (unknown.length > 0) {
    const list = unknown.map((k) => JSON.stringify(k)).join(", ");
    const valid = Object.keys(known).join(", ");
    throw new InvalidRequestError(
      `${what}: unknown option${unknown.length === 1 ? "" : "s"} ${list} (known: ${valid})`,
      { status: 0 },
    );
  }
  return options;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/** Throws InvalidRequestError (status 0) unless `value` is undefined or passes `ok`. */
export function checkValue(
  what: string,
  key: string,
  value: unknown,
  ok: (v: unknown) => boolean,
  expected: string,
): void {
  if (value !== undefined && !ok(value)) {
    throw new InvalidRequestError(`${what}: ${key} must be ${expected}, not ${show(value)}`, {
      status: 0,
    });
  }
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
