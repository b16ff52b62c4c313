// edgefs SDK for Node: everything of ./index.js, and a NetworkFileSystem that
// also moves local files and directory trees in and out.
import { randomBytes } from "node:crypto";
import { createWriteStream, openAsBlob } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { IsADirectoryError, NotADirectoryError } from "./errors.js";
import type { LeaseRef } from "./leases.js";
import { NetworkFileSystem as Base } from "./nfs.js";
import { checkOptions, checkValue, type KeysOf } from "./options.js";
import { type Progress, WRITE_KEYS, type WriteOptions } from "./uploads.js";
import {
  Volume as BaseVolume,
  VolumeBatch as BaseVolumeBatch,
  type BatchUploadOptions,
  type PlannedOp,
  type PutData,
} from "./volume.js";

export * from "./index.js";

/** Progress of addLocalDir: files and bytes done so far, and the file that just finished. */
export interface LocalDirProgress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
  path: string;
}

export interface AddLocalDirOptions {
  /** Files uploaded at once, default 8. */
  concurrency?: number;
  onProgress?: (p: LocalDirProgress) => void;
  /** The lease (or leases) every file's write holds. */
  lease?: LeaseRef | readonly LeaseRef[];
}

/** Options of readFileTo(). */
export interface ReadFileToOptions {
  onProgress?: (p: Progress) => void;
}

const DIR_KEYS = {
  concurrency: true,
  onProgress: true,
  lease: true,
} as const satisfies KeysOf<AddLocalDirOptions>;
const READ_TO_KEYS = { onProgress: true } as const satisfies KeysOf<ReadFileToOptions>;
const DEFAULT_DIR_CONCURRENCY = 8;

/** NetworkFileSystem with Node's local-file helpers (Modal's add_local_file / add_local_dir). */
export class NetworkFileSystem extends Base {
  /**
   * Uploads one local file, streamed from disk (never read into memory); big
   * files go up in parallel multipart parts, each read from disk again on a
   * retry. remotePath defaults to "/" + its name; a trailing "/" puts it in
   * that directory under its own name.
   */
  async addLocalFile(
    localPath: string,
    remotePath?: string,
    options?: WriteOptions,
  ): Promise<number> {
    // Refuse an unknown option before touching the disk (writeFile checks the values).
    checkOptions("addLocalFile", options, WRITE_KEYS);
    const info = await stat(localPath);
    if (info.isDirectory()) {
      throw new IsADirectoryError(`${localPath} is a directory (use addLocalDir)`, {
        status: 0,
        path: localPath,
      });
    }
    // A Blob backed by the file: sized, sliceable and streamed from disk on demand.
    const blob = await openAsBlob(localPath);
    return this.writeFile(remotePath ?? `/${basename(localPath)}`, blob, {
      name: basename(localPath),
      ...options,
    });
  }

  /**
   * Uploads a local directory tree (files, and empty directories) with
   * bounded concurrency. remotePath defaults to "/" + the directory's name.
   * Symbolic links to files are followed; links to directories are skipped.
   */
  async addLocalDir(
    localPath: string,
    remotePath?: string,
    options?: AddLocalDirOptions,
  ): Promise<{ files: number; bytes: number }> {
    const checked = checkOptions("addLocalDir", options, DIR_KEYS);
    const isFunction = (v: unknown) => typeof v === "function";
    checkValue("addLocalDir", "onProgress", checked.onProgress, isFunction, "a function");
    const root = remotePath ?? `/${basename(localPath.replace(/[/\\]+$/, "")) || ""}`;
    const { files, emptyDirs } = await walk(localPath);
    const totalFiles = files.length;
    const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
    const remoteOf = (local: string) => joinRemote(root, relative(localPath, local).split(sep));
    const held = checked.lease === undefined ? {} : { lease: checked.lease };
    for (const dir of emptyDirs) await this.mkdir(remoteOf(dir), held);
    let done = 0;
    let bytes = 0;
    let next = 0;
    const concurrency = Math.max(1, Math.floor(checked.concurrency ?? DEFAULT_DIR_CONCURRENCY));
    let failed = false;
    const worker = async () => {
      for (let file = files[next++]; file !== undefined && !failed; file = files[next++]) {
        const remote = remoteOf(file.path);
        const written = await this.writeFile(remote, await openAsBlob(file.path), held);
        done++;
        bytes += written;
        checked.onProgress?.({ files: done, totalFiles, bytes, totalBytes, path: remote });
      }
    };
    const guarded = () =>
      worker().catch((e: unknown) => {
        failed = true; // the other workers finish their current file and stop
        throw e;
      });
    const results = await Promise.allSettled(Array.from({ length: concurrency }, guarded));
    for (const r of results) if (r.status === "rejected") throw r.reason;
    return { files: done, bytes };
  }

  /**
   * Downloads a file to localPath atomically: into a temporary file beside it,
   * renamed over it once complete. Parent directories are created.
   */
  async readFileTo(
    remotePath: string,
    localPath: string,
    options?: ReadFileToOptions,
  ): Promise<number> {
    const checked = checkOptions("readFileTo", options, READ_TO_KEYS);
    await mkdir(dirname(localPath), { recursive: true });
    const temp = join(
      dirname(localPath),
      `.${basename(localPath)}.${randomBytes(6).toString("hex")}.edgefs-tmp`,
    );
    const { stream, size } = await this.openRead(remotePath);
    let bytes = 0;
    const onProgress = checked.onProgress;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.byteLength;
        onProgress?.(size === undefined ? { bytes } : { bytes, total: size });
        callback(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(stream as NodeWebReadableStream<Uint8Array>),
        counter,
        createWriteStream(temp, { flags: "wx" }),
      );
      await rename(temp, localPath);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    if (bytes === 0) onProgress?.({ bytes: 0, total: 0 });
    return bytes;
  }
}

/**
 * A batch of Node's Volume: putFile also takes a local file's path (streamed
 * from disk, never read into memory), and putDirectory a local tree. Local
 * paths are read when the batch commits.
 */
export class VolumeBatch extends BaseVolumeBatch {
  /** A local file (its path), or bytes, a Blob or a stream, to remotePath. */
  override putFile(data: string | PutData, remotePath: string): this {
    if (typeof data !== "string") return super.putFile(data, remotePath);
    // A trailing "/" puts the file in that directory under its own name.
    const named = remotePath.endsWith("/") ? `${remotePath}${basename(data)}` : remotePath;
    const path = named.startsWith("/") ? named : `/${named}`;
    return this.add(async () => {
      const info = await stat(data);
      if (info.isDirectory()) {
        throw new IsADirectoryError(`${data} is a directory (use putDirectory)`, {
          status: 0,
          path: data,
        });
      }
      return [{ op: "put", path, data: await openAsBlob(data), size: info.size }];
    });
  }

  /** Every file of a local directory tree (and its empty directories) under remoteDir. */
  putDirectory(localDir: string, remoteDir: string): this {
    return this.add(async () => {
      const { files, emptyDirs } = await walk(localDir);
      const remoteOf = (p: string) => joinRemote(remoteDir, relative(localDir, p).split(sep));
      const ops: PlannedOp[] = emptyDirs.map((d) => ({ op: "mkdir", path: remoteOf(d) }));
      for (const f of files) {
        ops.push({
          op: "put",
          path: remoteOf(f.path),
          data: await openAsBlob(f.path),
          size: f.size,
        });
      }
      return ops;
    });
  }
}

/** Volume with Node's local files: batches of local paths and trees, reads into files and streams. */
export class Volume extends BaseVolume {
  override batchUpload(options?: BatchUploadOptions): VolumeBatch;
  override batchUpload(
    fn: (batch: VolumeBatch) => unknown,
    options?: BatchUploadOptions,
  ): Promise<number>;
  override batchUpload(
    fnOrOptions?: ((batch: VolumeBatch) => unknown) | BatchUploadOptions,
    maybeOptions?: BatchUploadOptions,
  ): VolumeBatch | Promise<number> {
    return super.batchUpload(fnOrOptions as never, maybeOptions) as VolumeBatch | Promise<number>;
  }

  protected override newBatch(options: BatchUploadOptions): VolumeBatch {
    return new VolumeBatch(this, options);
  }

  /**
   * Streams a file (as of the pin) into a WritableStream or a Node Writable
   * (a file stream, process.stdout: left open), or atomically into the local
   * file at a path. Answers the bytes written.
   */
  override async readFileInto(
    path: string,
    into: WritableStream<Uint8Array> | NodeJS.WritableStream | string,
  ): Promise<number> {
    if (into instanceof WritableStream) return super.readFileInto(path, into);
    const stream = await this.readFile(path).stream();
    const temp =
      typeof into === "string"
        ? join(dirname(into), `.${basename(into)}.${randomBytes(6).toString("hex")}.edgefs-tmp`)
        : undefined;
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.byteLength;
        callback(null, chunk);
      },
    });
    const source = Readable.fromWeb(stream as NodeWebReadableStream<Uint8Array>);
    if (temp === undefined) {
      await pipeline(source, counter, into as NodeJS.WritableStream, { end: false });
      return bytes;
    }
    await mkdir(dirname(into as string), { recursive: true });
    try {
      await pipeline(source, counter, createWriteStream(temp, { flags: "wx" }));
      await rename(temp, into as string);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    return bytes;
  }
}

/** A remote path: root joined with the segments of a relative local path. */
function joinRemote(root: string, segments: string[]): string {
  const base = root.replace(/\/+$/, "");
  const rest = segments.filter((s) => s !== "" && s !== ".").join("/");
  return rest === "" ? base || "/" : `${base}/${rest}`;
}

interface LocalFile {
  path: string;
  size: number;
}

/** Every file under dir (depth first, sorted), and the directories with nothing in them. */
async function walk(dir: string): Promise<{ files: LocalFile[]; emptyDirs: string[] }> {
  const files: LocalFile[] = [];
  const emptyDirs: string[] = [];
  const visit = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (entries.length === 0) emptyDirs.push(path);
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) await visit(child);
      else if (entry.isFile()) files.push({ path: child, size: (await stat(child)).size });
      else if (entry.isSymbolicLink()) {
        const target = await stat(child).catch(() => undefined);
        if (target?.isFile()) files.push({ path: child, size: target.size });
      }
    }
  };
  const top = await stat(dir);
  if (!top.isDirectory()) {
    throw new NotADirectoryError(`${dir} is not a directory (use addLocalFile)`, {
      status: 0,
      path: dir,
    });
  }
  await visit(dir);
  return { files, emptyDirs };
}
