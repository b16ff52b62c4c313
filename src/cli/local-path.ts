// Where `edgefs nfs get` puts the files a glob matched. Their paths come from
// the server, so they are untrusted: a hostile or broken server must not make
// the CLI create or write anything outside the destination the user named.
// Free of Node imports (the path module is passed in), so the workerd unit
// tests can check it with both path.posix and path.win32.
import { compileGlob } from "../core/glob.js";

/** What this needs of Node's path module (path, path.posix or path.win32). */
export interface PathApi {
  sep: string;
  resolve(...paths: string[]): string;
  relative(from: string, to: string): string;
  isAbsolute(path: string): boolean;
}

/** The server named a path the CLI will not write: a server-caused failure (exit 1). */
export class RefusedPathError extends Error {}

/** The part of a glob before its first wildcard segment: what matches are relative to. */
export function globBase(pattern: string): string {
  const segments = pattern.split("/").filter(Boolean);
  const first = segments.findIndex((s) => /[*?[\]{}]/.test(s));
  return `/${segments.slice(0, first === -1 ? segments.length : first).join("/")}`;
}

// C0 controls, DEL and C1 controls: the server refuses them in names, and
// in a terminal they are escape sequences.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them is the point
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;
// Names Windows maps to devices whatever their extension ("NUL.txt" is NUL).
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** A server-supplied path as it is safe to print: quoted, every control character escaped. */
export function printable(path: string): string {
  return JSON.stringify(path).replace(
    CONTROL_ALL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The local file of each entry the server lists for `glob`: its path below
 * the glob's base, under `dest`. The function answered throws
 * RefusedPathError, naming the entry, unless the entry is an absolute path
 * that matches the glob, lies under its base, and has only plain name
 * segments — no empty, `.` or `..` segment, no `\` (a separator on Windows),
 * no `:` (drive letters, NTFS streams), no control character, and on Windows
 * no device name and no trailing dot or space (which Windows drops) — and the
 * result resolves inside `dest`. It only computes: the caller creates nothing
 * before every entry it is about to write has passed. `path` is Node's path
 * module (path.win32 or path.posix to check another platform's rules).
 */
export function localPathsFor(
  dest: string,
  glob: string,
  path: PathApi,
): (remote: string) => string {
  const base = globBase(glob);
  const prefix = base === "/" ? "/" : `${base}/`;
  // Matched exactly as the server matches: the same matcher (src/core/glob.ts).
  const { matches } = compileGlob(glob);
  const root = path.resolve(dest);
  const windows = path.sep === "\\";
  return (remote) => {
    const refuse = (why: string) =>
      new RefusedPathError(`refusing the server's path ${printable(remote)}: ${why}`);
    if (!remote.startsWith("/")) throw refuse("not an absolute path");
    if (!remote.startsWith(prefix)) throw refuse(`it is not under ${printable(base)}`);
    const segments = remote.slice(prefix.length).split("/");
    for (const s of segments) {
      if (s === "") throw refuse("empty path segment");
      if (s === "." || s === "..") throw refuse(`"${s}" segment`);
      if (s.includes("\\")) throw refuse("backslash in a name");
      if (s.includes(":")) throw refuse('":" in a name (a drive letter or a stream on Windows)');
      if (CONTROL.test(s)) throw refuse("control character in a name");
      if (windows && (WINDOWS_DEVICE.test(s) || /[. ]$/.test(s))) {
        throw refuse("a name Windows cannot hold as a file");
      }
    }
    if (!matches(remote)) throw refuse(`it does not match ${printable(glob)}`);
    const local = path.resolve(root, ...segments);
    const rel = path.relative(root, local);
    if (rel === "" || rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      throw refuse(`it would leave ${dest}`);
    }
    return local;
  };
}
