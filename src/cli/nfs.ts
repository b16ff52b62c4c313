import { existsSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import * as nodePath from "node:path";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { type ClientOptions, NetworkFileSystem, type ShareDetail, Volume } from "../client/node.js";
import { isGlob } from "../core/glob.js";
import { loggedIn } from "./config.js";
import { localPathsFor } from "./local-path.js";
import { changeLine, entryTable, humanSize, plural, progressBar, UsageError } from "./output.js";
import { AT_FLAGS, AT_HELP, atOption } from "./versions.js";

/** Options every nfs command takes. */
export interface Common {
  env?: string;
  url?: string;
  token?: string;
  profile?: string;
  quiet?: boolean;
}

const NAME = /^(?!\.)[A-Za-z0-9._-]{1,64}$/;

export function clientOptions(o: Common): ClientOptions {
  const { url, token } = loggedIn(o);
  const options: ClientOptions = { token };
  if (url) options.url = url;
  if (o.env) options.environment = o.env;
  return options;
}

export function share(name: string, o: Common, createIfMissing = false): NetworkFileSystem {
  checkName(name);
  return NetworkFileSystem.fromName(name, { ...clientOptions(o), createIfMissing });
}

/** The same share as a Volume: pinned reads, batch commits. */
export function volume(name: string, o: Common, createIfMissing = false): Volume {
  checkName(name);
  return Volume.fromName(name, { ...clientOptions(o), createIfMissing });
}

function checkName(name: string): void {
  if (!NAME.test(name))
    throw new UsageError(
      `invalid share name: ${name} (1-64 of A-Z a-z 0-9 . _ -, not starting with .)`,
    );
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--lease ID` (repeatable): the leases a change holds. */
const held = (o: { lease?: string[] }) => (o.lease?.length ? { lease: o.lease } : {});

/** Entries of a glob checked together before any is written: one listing page. */
const BATCH = 1000;

/** An async iterable cut into arrays of up to `size` items. */
async function* batches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function download(
  nfs: NetworkFileSystem,
  remote: string,
  local: string,
  o: Common & { force?: boolean },
) {
  if (existsSync(local) && !o.force)
    throw new UsageError(`${local} exists: use --force to overwrite`);
  await mkdir(dirname(local), { recursive: true });
  const entry = await nfs.stat(remote);
  const bar = progressBar(o.quiet ?? false, basename(remote), entry.size);
  try {
    return await nfs.readFileTo(remote, local, { onProgress: (p) => bar.update(p.bytes) });
  } finally {
    bar.stop();
  }
}

/** A whole number of seconds given as an option. */
export function wholeSeconds(option: string, text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`${option} takes whole seconds: ${text}`);
  return Number(text);
}

/** `--since`: a version number, or a cursor a previous watch or page answered. */
function sinceOption(text: string): number | string {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (text === "" || /\s/.test(text))
    throw new UsageError(`--since takes a version number or a cursor: ${text}`);
  return text;
}

/** A path as the feed names it: absolute, without a trailing slash. */
function plainPath(path: string): string {
  const absolute = path.startsWith("/") ? path : `/${path}`;
  return absolute.replace(/(.)\/+$/, "$1");
}

/** A quota option: a non-negative integer, or `none` to clear the limit. */
function quotaValue(option: string, text: string): number | null {
  if (text === "none") return null;
  if (!/^\d{1,15}$/.test(text))
    throw new UsageError(`${option} takes a whole number or \`none\`: ${text}`);
  return Number(text);
}

/** What `nfs info` and `nfs quota` print: one line per fact. */
function shareSummary(info: ShareDetail): string {
  const u = info.usage;
  const limit = (n: number | undefined) => (n === undefined ? "no limit" : String(n));
  return [
    `${info.name} (${info.env})  version ${info.version}${info.ephemeral ? "  ephemeral" : ""}`,
    `files        ${u.files}  (quota: ${limit(info.quota.files)})`,
    `directories  ${u.directories}`,
    `bytes        ${u.bytes}  (quota: ${limit(info.quota.bytes)}, counting history; ${u.inlineBytes} inline)`,
    `history      ${u.historyBytes} bytes kept for older versions and snapshots`,
    `storage      ${info.storage.bytes} of ${info.storage.limit} bytes of metadata`,
  ].join("\n");
}

export function registerNfs(program: Command, common: (c: Command) => Command): void {
  const nfs = program.command("nfs").description("network file systems (shares), like `modal nfs`");

  common(
    nfs
      .command("list")
      .description("list the shares of an environment")
      .option("--json", "print JSON"),
  ).action(listShares);

  common(
    nfs.command("create").argument("<name>").description("create a share (no-op if it exists)"),
  ).action(async (name: string, o: Common) => {
    const info = await share(name, o, true).info();
    console.log(`${info.name} (${info.env})`);
  });

  common(
    nfs
      .command("info")
      .argument("<name>")
      .option("--json", "print JSON")
      .description("a share's usage, quota and version"),
  ).action(async (name: string, o: Common & { json?: boolean }) => {
    const info = await share(name, o).info();
    if (o.json) return void console.log(JSON.stringify(info, null, 2));
    console.log(shareSummary(info));
  });

  common(
    nfs
      .command("quota")
      .argument("<name>")
      .option("--bytes <n>", "the most bytes the share's files may hold (`none` clears)")
      .option("--files <n>", "the most files the share may hold (`none` clears)")
      .description("set a share's quota: writes past it fail with ENOSPC, deletes always work"),
  ).action(async (name: string, o: Common & { bytes?: string; files?: string }) => {
    if (o.bytes === undefined && o.files === undefined) {
      throw new UsageError("give --bytes, --files or both (a number, or `none` to clear)");
    }
    const quota: { bytes?: number | null; files?: number | null } = {};
    if (o.bytes !== undefined) quota.bytes = quotaValue("--bytes", o.bytes);
    if (o.files !== undefined) quota.files = quotaValue("--files", o.files);
    console.log(shareSummary(await share(name, o).setQuota(quota)));
  });

  common(lsCommand(nfs).description("list a directory, a file, or a glob's matches")).action(
    async (name: string, path: string, o: LsOptions) => {
      await listEntries(atOption(share(name, o), o.at), path, o);
    },
  );

  common(
    nfs
      .command("put")
      .argument("<name>")
      .argument("<local>", 'a file or a directory; "-" reads stdin')
      .argument(
        "[remote]",
        "where it goes; a trailing / means into that directory under its own name",
      )
      .option("--lease <id>", "a lease the write holds (repeatable)", collect)
      .description("upload a file, a directory tree, or stdin"),
  ).action(
    async (
      name: string,
      local: string,
      remote: string | undefined,
      o: Common & { lease?: string[] },
    ) => {
      if (local === "-") return putStdin(share(name, o), remote, o);
      return putLocal(name, local, remote, o);
    },
  );

  async function putStdin(
    fs: NetworkFileSystem,
    remote: string | undefined,
    o: Common & { lease?: string[] },
  ) {
    if (remote === undefined || remote.endsWith("/")) {
      throw new UsageError(
        '"-" (stdin) needs the remote file path, e.g. `put SHARE - /logs/today.txt`',
      );
    }
    const bytes = await fs.writeFile(
      remote,
      Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>,
      held(o),
    );
    if (!o.quiet) console.error(`uploaded ${humanSize(bytes)} from stdin to ${remote}`);
  }

  async function putLocal(
    name: string,
    local: string,
    remote: string | undefined,
    o: Common & { lease?: string[] },
  ) {
    if (!existsSync(local)) throw new UsageError(`no such file or directory: ${local}`);
    const fs = share(name, o);
    if (statSync(local).isDirectory()) {
      const bar = progressBar(o.quiet ?? false, basename(local), 0);
      let total = 0;
      try {
        const done = await fs.addLocalDir(local, remote, {
          ...held(o),
          onProgress: (p) => {
            if (p.totalBytes !== total) total = p.totalBytes;
            bar.update(p.bytes, `${p.files}/${plural(p.totalFiles, "file")}`);
          },
        });
        bar.stop();
        if (!o.quiet)
          console.error(`uploaded ${plural(done.files, "file")}, ${humanSize(done.bytes)}`);
      } finally {
        bar.stop();
      }
      return;
    }
    const size = statSync(local).size;
    const bar = progressBar(o.quiet ?? false, basename(local), size);
    try {
      await fs.addLocalFile(local, remote, { ...held(o), onProgress: (p) => bar.update(p.bytes) });
    } finally {
      bar.stop();
    }
  }

  common(
    getCommand(nfs).description(
      "download a file, or every file a glob matches (keeping their paths)",
    ),
  ).action(async (name: string, remote: string, dest: string, o: GetOptions) => {
    await getFiles(atOption(share(name, o), o.at), remote, dest, o);
  });

  common(
    nfs
      .command("rm")
      .argument("<name>")
      .argument("<path>")
      .option("-r, --recursive", "delete a directory and everything in it")
      .option("--lease <id>", "a lease the delete holds (repeatable)", collect)
      .description("delete a file or a directory"),
  ).action(
    async (name: string, path: string, o: Common & { recursive?: boolean; lease?: string[] }) => {
      await share(name, o).removeFile(path, { recursive: o.recursive ?? false, ...held(o) });
    },
  );

  common(
    nfs
      .command("presign")
      .argument("<name>")
      .argument("<path>", "one file (it need not exist yet for PUT)")
      .option("--method <method>", "GET (read it) or PUT (upload to it)", "GET")
      .option("--expires-in <seconds>", "how long the URL works (default 3600, at most 7 days)")
      .option("--json", "print JSON")
      .description("a URL that reads or writes one file with no token: plain curl or a browser"),
  ).action(
    async (
      name: string,
      path: string,
      o: Common & { method: string; expiresIn?: string; json?: boolean },
    ) => {
      const method = o.method.toUpperCase();
      if (method !== "GET" && method !== "PUT") {
        throw new UsageError(`--method takes GET or PUT, not ${o.method}`);
      }
      const expiresIn =
        o.expiresIn === undefined ? undefined : wholeSeconds("--expires-in", o.expiresIn);
      const signed = await share(name, o).presign(path, {
        method,
        ...(expiresIn === undefined ? {} : { expiresIn }),
      });
      if (o.json) return void console.log(JSON.stringify(signed, null, 2));
      console.log(signed.url);
      if (!o.quiet) {
        console.error(
          `${signed.method} ${signed.path} until ${new Date(signed.expiresAt).toISOString()}`,
        );
      }
    },
  );

  common(
    nfs
      .command("watch")
      .argument("<name>")
      .argument("[glob]", "only changes whose path (or destination) match, e.g. '/data/**/*.csv'")
      .option("--since <version>", "start after this version (or a cursor); default: from now")
      .option("--until <path>", "stop after the first change of this path")
      .option("--json", "one JSON event per line")
      .description("print the share's changes as they are committed, until Ctrl-C"),
  ).action(
    async (
      name: string,
      glob: string | undefined,
      o: Common & { since?: string; until?: string; json?: boolean },
    ) => {
      const fs = share(name, o);
      const since = o.since === undefined ? undefined : sinceOption(o.since);
      const until = o.until === undefined ? undefined : plainPath(o.until);
      // Ctrl-C (or a pipe's reader going away) ends the watch: exit 0, not a crash.
      const stop = new AbortController();
      const end = () => stop.abort();
      const broken = (e: NodeJS.ErrnoException) => {
        if (e.code === "EPIPE") end();
      };
      process.once("SIGINT", end);
      process.once("SIGTERM", end);
      process.stdout.on("error", broken);
      let width = 0;
      try {
        const watch = fs.watch(glob, {
          ...(since === undefined ? {} : { since }),
          signal: stop.signal,
        });
        for await (const change of watch) {
          if (o.json) console.log(JSON.stringify(change));
          else {
            width = Math.max(width, `v${change.version}`.length);
            console.log(changeLine(change, width));
          }
          if (
            until !== undefined &&
            (plainPath(change.path) === until ||
              (change.to !== undefined && plainPath(change.to) === until))
          )
            break;
        }
      } finally {
        process.off("SIGINT", end);
        process.off("SIGTERM", end);
        process.stdout.off("error", broken);
      }
    },
  );

  common(
    nfs
      .command("wait")
      .argument("<name>")
      .argument("<path>", "a file or directory that need not exist yet")
      .option("--timeout <seconds>", "give up after this long (exit 1, ETIMEDOUT)")
      .option("--json", "print the entry as JSON")
      .description("wait until a path exists, then print its entry"),
  ).action(async (name: string, path: string, o: Common & { timeout?: string; json?: boolean }) => {
    const timeout = o.timeout === undefined ? undefined : wholeSeconds("--timeout", o.timeout);
    if (timeout === 0) throw new UsageError("--timeout takes at least 1 second");
    const entry = await share(name, o).waitFor(path, timeout === undefined ? {} : { timeout });
    if (o.json) return void console.log(JSON.stringify(entry, null, 2));
    console.log(entryTable([entry]));
  });

  common(
    nfs
      .command("delete")
      .argument("<name>")
      .option("-y, --yes", "do not ask")
      .description("delete a share and all its files"),
  ).action((name: string, o: Common & { yes?: boolean }) => deleteShare(name, o, "share"));
}

/** `ls` of a group (nfs, volume): its arguments and options. */
export function lsCommand(group: Command): Command {
  return group
    .command("ls")
    .argument("<name>")
    .argument("[path]", "a directory, a file or a glob", "/")
    .option("-r, --recursive", "the whole subtree")
    .option("--json", "print JSON")
    .option(AT_FLAGS, AT_HELP);
}

/** `get` of a group (nfs, volume): its arguments and options. */
export function getCommand(group: Command): Command {
  return group
    .command("get")
    .argument("<name>")
    .argument("<remote>", "a file, or a glob (* within a segment, ** across)")
    .argument("[dest]", 'a local path or directory; "-" writes a file to stdout', ".")
    .option("--force", "overwrite local files")
    .option(AT_FLAGS, AT_HELP);
}

export type LsOptions = Common & { json?: boolean; recursive?: boolean; at?: string };
export type GetOptions = Common & { force?: boolean; at?: string };

/** `ls`: a directory, a file or a glob's matches, as a table or JSON. */
export async function listEntries(fs: NetworkFileSystem, path: string, o: LsOptions) {
  const entries = await fs.listdir(path, { recursive: o.recursive ?? false });
  if (o.json) return void console.log(JSON.stringify(entries, null, 2));
  if (entries.length > 0) console.log(entryTable(entries));
}

/** `get`: one file (to a path, into a directory, or to stdout with "-"), or every file of a glob. */
export async function getFiles(fs: NetworkFileSystem, remote: string, dest: string, o: GetOptions) {
  if (dest === "-") {
    if (isGlob(remote)) throw new UsageError('"-" (stdout) takes one file, not a glob');
    // stdout stays open: a script's next command may share it (a socket, not a pipe).
    await pipeline(
      Readable.fromWeb((await fs.readFile(remote).stream()) as never),
      process.stdout,
      { end: false },
    );
    return;
  }
  if (!isGlob(remote)) {
    const target =
      existsSync(dest) && statSync(dest).isDirectory() ? join(dest, basename(remote)) : dest;
    await download(fs, remote, target, o);
    return;
  }
  const localPathOf = localPathsFor(dest, remote, nodePath);
  let count = 0;
  for await (const batch of batches(fs.iterdir(remote), BATCH)) {
    // The server names these paths: every one of a batch must resolve
    // inside dest before anything of the batch is created or written.
    const targets = batch
      .filter((entry) => entry.type === "file")
      .map((entry) => ({ remote: entry.path, local: localPathOf(entry.path) }));
    for (const t of targets) {
      await download(fs, t.remote, t.local, { ...o, quiet: true });
      count++;
    }
  }
  if (count === 0) throw new UsageError(`no file matches ${remote}`);
  if (!o.quiet) console.error(`downloaded ${plural(count, "file")} to ${dest}`);
}

/** `delete`: the share and all its data, asking first on a terminal (else only with --yes). */
export async function deleteShare(name: string, o: Common & { yes?: boolean }, noun: string) {
  share(name, o);
  if (!o.yes) {
    if (!process.stdin.isTTY) throw new UsageError(`refusing to delete ${name} without --yes`);
    const { createInterface } = await import("node:readline/promises");
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Delete ${noun} ${name} and all its files? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError("not deleted");
  }
  await NetworkFileSystem.delete(name, clientOptions(o));
}

/** `list`: the shares of an environment. */
export async function listShares(o: Common & { json?: boolean }) {
  const shares = await NetworkFileSystem.list(clientOptions(o));
  if (o.json) return void console.log(JSON.stringify(shares, null, 2));
  for (const s of shares) {
    const when = new Date(s.createdAt).toISOString().slice(0, 19).replace("T", " ");
    console.log(`${s.name.padEnd(40)}  ${when}${s.ephemeral ? "  ephemeral" : ""}`);
  }
}
