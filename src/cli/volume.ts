// `edgefs volume …`, shaped like `modal volume`: the same shares as `edgefs
// nfs`, seen as Volumes — uploads are one batch commit (one version), reads
// are pinned to one version for the whole command (docs/cli.md).
import { existsSync, statSync } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";
import type { Command } from "commander";
import type { BatchProgress } from "../client/node.js";
import {
  type Common,
  deleteShare,
  type GetOptions,
  getCommand,
  getFiles,
  type LsOptions,
  listEntries,
  listShares,
  lsCommand,
  share,
  volume,
} from "./nfs.js";
import { plural, progressBar, UsageError } from "./output.js";
import { parseAt } from "./versions.js";

/** The share as `--at` names it, else at the version it is at now (one pin for the whole command). */
async function pinned(name: string, o: Common & { at?: string }) {
  const fs = share(name, o);
  if (o.at !== undefined) return fs.at(parseAt(o.at));
  return fs.at({ version: await volume(name, o).version() });
}

export function registerVolume(program: Command, common: (c: Command) => Command): void {
  const vol = program
    .command("volume")
    .description("volumes, like `modal volume`: batch commits, pinned reads, versions");

  common(
    vol.command("create").argument("<name>").description("create a volume (no-op if it exists)"),
  ).action(async (name: string, o: Common) => {
    const info = await volume(name, o, true).info();
    console.log(`${info.name} (${info.env})  version ${info.version}`);
  });

  common(
    vol.command("list").option("--json", "print JSON").description("list the volumes (shares)"),
  ).action(listShares);

  common(lsCommand(vol).description("list a directory, a file, or a glob's matches")).action(
    async (name: string, path: string, o: LsOptions) => {
      await listEntries(await pinned(name, o), path, o);
    },
  );

  common(
    vol
      .command("put")
      .argument("<name>")
      .argument("<local>", 'a file or a directory; "-" reads stdin')
      .argument(
        "[remote]",
        "where it goes (default /); a directory's contents go under it; a trailing / keeps a file's name",
        "/",
      )
      .option("-f, --force", "overwrite existing files (else nothing is committed if one exists)")
      .description("upload a file, a directory tree or stdin as one commit (one new version)"),
  ).action(async (name: string, local: string, remote: string, o: Common & { force?: boolean }) => {
    if (local !== "-" && !existsSync(local)) {
      throw new UsageError(`no such file or directory: ${local}`);
    }
    if (local === "-" && remote.endsWith("/")) {
      throw new UsageError(
        '"-" (stdin) needs the remote file path, e.g. `put VOL - /logs/today.txt`',
      );
    }
    const isDir = local !== "-" && statSync(local).isDirectory();
    const label = local === "-" ? "stdin" : basename(local);
    let bar: ReturnType<typeof progressBar> | undefined;
    let files = 0;
    const onProgress = (p: BatchProgress) => {
      files = p.totalFiles;
      // Only staged (big) files report bytes: small ones go inline with the commit.
      if (p.bytes === 0 && bar === undefined) return;
      bar ??= progressBar(o.quiet ?? false, label, p.totalBytes ?? 0);
      bar.update(p.bytes, isDir ? plural(p.totalFiles, "file") : "");
    };
    const v = volume(name, o);
    let version: number;
    try {
      version = await v.batchUpload(
        (b) => {
          if (local === "-") {
            b.putFile(Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>, remote);
          } else if (isDir) b.putDirectory(local, remote);
          else b.putFile(local, remote);
        },
        { force: o.force ?? false, onProgress },
      );
    } finally {
      bar?.stop();
    }
    if (!o.quiet) {
      console.error(`uploaded ${plural(files, "file")} to ${name}: version ${version}`);
    }
  });

  common(
    getCommand(vol).description(
      "download a file, or every file a glob matches, all from one version",
    ),
  ).action(async (name: string, remote: string, dest: string, o: GetOptions) => {
    await getFiles(await pinned(name, o), remote, dest, o);
  });

  common(
    vol
      .command("rm")
      .argument("<name>")
      .argument("<path>")
      .option("-r, --recursive", "delete a directory and everything in it")
      .description("delete a file or a directory (one new version)"),
  ).action(async (name: string, path: string, o: Common & { recursive?: boolean }) => {
    const version = await volume(name, o).removeFile(path, { recursive: o.recursive ?? false });
    if (!o.quiet) console.error(`removed ${path}: version ${version}`);
  });

  common(
    vol
      .command("cp")
      .argument("<name>")
      .argument("<paths...>", "sources, then the destination (a directory takes them by name)")
      .option("-r, --recursive", "copy directories too")
      .description("copy files within a volume (one new version; blobs are shared, not copied)"),
  ).action(async (name: string, paths: string[], o: Common & { recursive?: boolean }) => {
    const dst = paths.at(-1);
    if (paths.length < 2 || dst === undefined) {
      throw new UsageError("cp takes one or more sources and a destination");
    }
    const version = await volume(name, o).copyFiles(paths.slice(0, -1), dst, {
      recursive: o.recursive ?? false,
    });
    if (!o.quiet) console.error(`copied to ${dst}: version ${version}`);
  });

  common(
    vol
      .command("delete")
      .argument("<name>")
      .option("-y, --yes", "do not ask")
      .description("delete a volume with all its files, versions and snapshots"),
  ).action((name: string, o: Common & { yes?: boolean }) => deleteShare(name, o, "volume"));
}
