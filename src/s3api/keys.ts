import { FsError } from "../core/errors";
import { type FsPath, parsePath, ROOT } from "../core/paths";
import { NAME } from "../http/params";
import { s3Error } from "./errors";

/**
 * How S3 keys map onto share paths (docs/s3.md "Keys and paths"): the key
 * `a/b/c` is the file `/a/b/c` (its parents are implied directories), and
 * `a/b/` is the directory `/a/b`. A key that no path can stand for without
 * being rewritten — an empty segment (`a//b`, `/a`), `.` or `..`, a control
 * character, a backslash, a segment over 255 bytes — is refused with the
 * reason, never quietly stored under another name.
 */
export const MAX_KEY_BYTES = 1024;
const utf8 = new TextEncoder();

export interface KeyPath {
  path: FsPath;
  /** The key ends in "/": a directory. */
  directory: boolean;
}

export function pathOfKey(key: string): KeyPath {
  if (key === "") throw s3Error("InvalidArgument", "an object key cannot be empty");
  if (utf8.encode(key).byteLength > MAX_KEY_BYTES) {
    throw s3Error("KeyTooLongError", `object keys are limited to ${MAX_KEY_BYTES} bytes`);
  }
  const directory = key.endsWith("/");
  const body = directory ? key.slice(0, -1) : key;
  if (body === "" || body.split("/").includes("")) {
    throw s3Error(
      "InvalidArgument",
      `key ${JSON.stringify(key)} has an empty path segment ("//" or a leading "/"): edgefs keys are file paths`,
    );
  }
  try {
    return { path: parsePath(body), directory };
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    throw s3Error(
      "InvalidArgument",
      `key ${JSON.stringify(key)} is no valid edgefs path: ${e.message}`,
    );
  }
}

/** The key of a share path ("" for the root); a directory's ends in "/". */
export function keyOfPath(path: string, directory: boolean): string {
  if (path === ROOT) return "";
  const key = path.slice(1);
  return directory ? `${key}/` : key;
}

/** Bucket names are share names; S3's own rules are stricter, ours are the share's. */
export function checkBucket(name: string): string {
  if (!NAME.test(name)) {
    throw s3Error(
      "InvalidBucketName",
      `bucket names are share names: 1 to 64 of A-Z a-z 0-9 . _ -, not starting with "."`,
    );
  }
  return name;
}
