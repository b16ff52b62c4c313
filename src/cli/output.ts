import cliProgress from "cli-progress";
import {
  AuthenticationError,
  type ChangeEvent,
  EdgefsError,
  type FileEntry,
  NetworkError,
} from "../client/node.js";

/** A mistake of the user's (bad name, missing local file): one line, no stack. */
export class UsageError extends Error {}

/** Prints an error as one clear line and picks the exit code: 2 for usage, 1 for the rest. */
export function report(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`edgefs: ${e.message}\n`);
    return 2;
  }
  if (e instanceof NetworkError) {
    process.stderr.write(`edgefs: ${e.code}: ${e.message}${networkReason(e)}\n`);
    return 1;
  }
  if (e instanceof AuthenticationError) {
    process.stderr.write(
      `edgefs: ${e.code}: ${e.message} (the token was refused: \`edgefs login\` again, or check EDGEFS_TOKEN)\n`,
    );
    return 1;
  }
  if (e instanceof EdgefsError) {
    process.stderr.write(`edgefs: ${e.code}: ${e.message}\n`);
    return 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`edgefs: ${message}\n`);
  return 1;
}

/** Node's fetch says only "fetch failed": the reason (ECONNREFUSED, ENOTFOUND …) is in its cause. */
export function networkReason(e: NetworkError): string {
  const inner = (e.cause as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof inner?.code === "string" ? inner.code : undefined;
  const message = typeof inner?.message === "string" ? inner.message : undefined;
  const reason = code ?? message;
  return reason ? ` (${reason}: is the gateway running at that URL?)` : "";
}

/** "1 file", "2 files". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];
export function humanSize(bytes: number): string {
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}

export function entryTable(entries: FileEntry[]): string {
  return entries
    .map((e) => {
      const size = e.type === "directory" ? "-" : humanSize(e.size);
      const when = new Date(e.mtime).toISOString().replace("T", " ").slice(0, 19);
      return `${e.type === "directory" ? "d" : "-"}  ${size.padStart(10)}  ${when}  ${e.path}${e.type === "directory" ? "/" : ""}`;
    })
    .join("\n");
}

/**
 * One change as `nfs watch` prints it: `v57  put      /data/a.csv  4.0 KiB`.
 * The version column is `versionWidth` wide (the widest seen so far), the
 * operation column fits the longest ("restore").
 */
export function changeLine(e: ChangeEvent, versionWidth: number): string {
  const slash = (p: string) => (e.type === "directory" && p !== "/" ? `${p}/` : p);
  const where = e.to === undefined ? slash(e.path) : `${slash(e.path)} -> ${slash(e.to)}`;
  const size = e.type === "file" && e.size !== undefined ? `  ${humanSize(e.size)}` : "";
  const tree = e.recursive ? "  (recursive)" : "";
  return `${`v${e.version}`.padEnd(versionWidth)}  ${e.op.padEnd(7)}  ${where}${size}${tree}`;
}

/**
 * A progress bar on stderr, only for people: none when stdout is not a
 * terminal (pipes, CI logs) or with --quiet.
 */
export function progressBar(quiet: boolean, label: string, total: number) {
  if (quiet || !process.stdout.isTTY) {
    return { update: (_bytes: number, _extra?: string) => undefined, stop: () => undefined };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done}/{size} {extra}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 1), 0, { done: humanSize(0), size: humanSize(total), extra: "" });
  return {
    update: (bytes: number, extra = "") =>
      bar.update(bytes, { done: humanSize(bytes), size: humanSize(total), extra }),
    stop: () => bar.stop(),
  };
}
