// Versions on the command line: `--at VERSION|SNAPSHOT` on reads, and the
// `snapshot`, `history` and `restore` commands (docs/cli.md).
import type { Command } from "commander";
import type { NetworkFileSystem, VersionRef } from "../client/node.js";
import { type Common, share, volume } from "./nfs.js";
import { humanSize, UsageError } from "./output.js";

export const AT_FLAGS = "--at <version|snapshot>";
export const AT_HELP = "read the share as it was: a version number, or a snapshot's name";

/** `--at` text: digits are a version, anything else names a snapshot. */
export function parseAt(text: string): VersionRef {
  if (/^\d+$/.test(text)) {
    const version = Number(text);
    if (!Number.isSafeInteger(version)) throw new UsageError(`--at: no such version: ${text}`);
    return { version };
  }
  if (text === "") throw new UsageError("--at takes a version number or a snapshot name");
  return { snapshot: text };
}

/** The handle a read goes through: the share's latest, or as it was at `--at`. */
export function atOption<T extends NetworkFileSystem>(fs: T, at: string | undefined): T {
  return at === undefined ? fs : fs.at(parseAt(at));
}

const when = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

export function registerVersions(program: Command, common: (c: Command) => Command): void {
  const snapshot = program
    .command("snapshot")
    .description("named versions of a share: kept, and readable with --at, until deleted");

  common(
    snapshot
      .command("create")
      .argument("<share>")
      .argument("<name>")
      .option("--version <n>", "name this version (default: the latest)")
      .option("--json", "print JSON")
      .description("name the share's current version (or --version N)"),
  ).action(async (name: string, snap: string, o: Common & { version?: string; json?: boolean }) => {
    let version: number | undefined;
    if (o.version !== undefined) {
      const at = parseAt(o.version);
      if (!("version" in at)) throw new UsageError(`--version takes a number: ${o.version}`);
      version = at.version;
    }
    const info = await share(name, o).snapshot(snap, version === undefined ? {} : { version });
    if (o.json) return void console.log(JSON.stringify(info, null, 2));
    console.log(`${info.name}  version ${info.version}`);
  });

  common(
    snapshot
      .command("list")
      .argument("<share>")
      .option("--json", "print JSON")
      .description("a share's snapshots"),
  ).action(async (name: string, o: Common & { json?: boolean }) => {
    const snaps = await share(name, o).listSnapshots();
    if (o.json) return void console.log(JSON.stringify(snaps, null, 2));
    for (const s of snaps) {
      console.log(
        `${s.name.padEnd(40)}  version ${String(s.version).padEnd(8)}  ${when(s.createdAt)}`,
      );
    }
  });

  common(
    snapshot
      .command("rm")
      .argument("<share>")
      .argument("<name>")
      .description("delete a snapshot (what only it kept is reclaimed)"),
  ).action(async (name: string, snap: string, o: Common) => {
    await share(name, o).deleteSnapshot(snap);
  });

  common(
    program
      .command("history")
      .argument("<share>")
      .argument("<path>")
      .option("--limit <n>", "at most this many versions")
      .option("--json", "print JSON")
      .description("the versions of a path, newest first (restore one with `edgefs restore`)"),
  ).action(async (name: string, path: string, o: Common & { limit?: string; json?: boolean }) => {
    if (o.limit !== undefined && !/^[1-9]\d{0,8}$/.test(o.limit)) {
      throw new UsageError(`--limit takes a positive whole number: ${o.limit}`);
    }
    const versions = await volume(name, o).history(
      path,
      o.limit === undefined ? {} : { limit: Number(o.limit) },
    );
    if (o.json) return void console.log(JSON.stringify(versions, null, 2));
    for (const v of versions) {
      const size = v.deleted ? "deleted" : v.type === "directory" ? "-" : humanSize(v.size);
      console.log(
        `${String(v.version).padStart(8)}  ${v.type === "directory" ? "d" : "-"}  ${size.padStart(10)}  ${when(v.mtime)}`,
      );
    }
  });

  common(
    program
      .command("restore")
      .argument("<share>")
      .argument("<path>", "a file or a directory")
      .requiredOption("--at <version|snapshot>", "as it was at a version number or a snapshot")
      .option("--to <path>", "restore there instead of over the path itself")
      .option("--json", "print JSON")
      .description("bring a file or a tree back as it was (one new version, metadata only)"),
  ).action(
    async (name: string, path: string, o: Common & { at: string; to?: string; json?: boolean }) => {
      const at = parseAt(o.at);
      const result = await volume(name, o).restore(
        path,
        o.to === undefined ? at : { ...at, to: o.to },
      );
      if (o.json) return void console.log(JSON.stringify(result, null, 2));
      if (!o.quiet) {
        const from = "version" in at ? `version ${at.version}` : `snapshot ${at.snapshot}`;
        console.error(`restored ${path} (${from}) to ${o.to ?? path}: version ${result.version}`);
      }
    },
  );
}
