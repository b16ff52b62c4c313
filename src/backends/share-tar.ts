import { createTarDecoder, type TarHeader } from "modern-tar";
import { FsError, invalid } from "../core/errors";
import { type FsPath, joinPath, parsePath, ROOT } from "../core/paths";
import { concat, readUpTo } from "../core/streams";
import type { BatchOptions } from "../durable/batch-commit";
import { putKnownLength } from "../r2/blob-store";
import { type BatchStorage, commitBatch, type Placeable } from "./share-batch";

/** What a tar upload answers: the version it made, the files it wrote and their bytes. */
export interface TarResult {
  version: number;
  files: number;
  bytes: number;
}

export interface TarLimits {
  /** Entries (files and directories) one archive may hold. */
  entries: number;
  /** Bytes of small files held in memory until the commit; past it they go to R2 too. */
  heldBytes: number;
  /** The biggest file one R2 put stores. */
  fileBytes: number;
  /** Refuses a path the upload may not change (one under a bucket mount), before anything is stored. */
  guard: (path: FsPath, label: string) => Promise<void>;
}

/** Blob keys reserved in one ShareDO call at most (they are reserved as big files arrive). */
const RESERVE_MAX = 64;

/**
 * A tar upload into a share (docs/api.md "Tar uploads"): the archive is
 * read as it arrives, never whole. Each directory entry becomes a mkdir,
 * each small file is held in memory (up to `limits.heldBytes` in all), and
 * each bigger file streams from its entry straight into a reserved R2 blob.
 * Then everything commits as ONE batch (share-batch.ts): one version, all
 * or nothing. Anything refused — a link, device or FIFO, a name outside
 * `dir`, a truncated or corrupt archive, too many entries, a refused
 * commit — abandons the blobs already put, so nothing is written and only
 * reclaimable pending blobs can ever be left (by a crash).
 */
export async function commitTar(
  s: BatchStorage,
  dir: FsPath,
  body: ReadableStream<Uint8Array>,
  options: BatchOptions,
  limits: TarLimits,
): Promise<TarResult> {
  const blobs = new Reservations(s, options);
  const ops: Placeable[] = dir === ROOT ? [] : [{ op: "mkdir", path: dir }];
  const decoder = createTarDecoder({ strict: true });
  // The decoder's errors reach the entries' reader too; this keeps the pipe's own quiet.
  const piping = body.pipeTo(decoder.writable).then(
    () => undefined,
    (e: unknown) => e ?? new Error("the request body was aborted"),
  );
  const entries = decoder.readable.getReader();
  let files = 0;
  let bytes = 0;
  let held = 0;
  let count = 0;
  try {
    for (;;) {
      const next = await entries.read().catch((e: unknown) => {
        throw corrupt(e);
      });
      if (next.done) break;
      const { header, body: content } = next.value;
      count++;
      if (count > limits.entries) {
        throw new FsError(
          "ETOOLARGE",
          `a tar upload holds at most ${limits.entries} entries (files and directories): split the archive; nothing was written`,
        );
      }
      const label = `entry ${count} (${header.name.slice(0, 200)})`;
      refuseKind(header, label);
      const path = entryPath(dir, header.name, label);
      await limits.guard(path, label);
      if (header.type === "directory") {
        await content.cancel();
        if (path !== ROOT) ops.push({ op: "mkdir", path });
        continue;
      }
      if (path === dir) throw invalid(`${label}: a file entry names the target directory itself`);
      const size = header.size;
      if (size > limits.fileBytes) {
        throw new FsError(
          "ETOOLARGE",
          `${label}: ${size} bytes is more than the ${limits.fileBytes} one file of a tar upload may hold; upload it on its own (multipart); nothing was written`,
          path,
        );
      }
      files++;
      bytes += size;
      if (size <= s.config.inlineMaxBytes && held + size <= limits.heldBytes) {
        const { chunks } = await readUpTo(content.getReader(), size).catch((e: unknown) => {
          throw corrupt(e);
        });
        held += size;
        ops.push({ op: "put", path, content: concat(chunks, size) });
        continue;
      }
      const blob = await blobs.take(path);
      s.subrequests.take(1, `storing ${label} in R2`);
      const etag = await putKnownLength(s.bucket, blob.key, content, size).catch((e: unknown) => {
        throw e instanceof FsError && e.code === "EINVAL" ? corrupt(e) : e;
      });
      ops.push({ op: "put", path, blobId: blob.blobId, size, etag });
    }
    const broken = await piping;
    if (broken !== undefined) throw corrupt(broken);
  } catch (e) {
    await Promise.all([entries.cancel(e).catch(() => undefined), blobs.abandon("all")]);
    throw e;
  }
  let result: Awaited<ReturnType<typeof commitBatch>>;
  try {
    [result] = await Promise.all([commitBatch(s, ops, options), blobs.abandon("unused")]);
  } catch (e) {
    // A refused commit has abandoned them already; this covers the rest (abandoning is idempotent).
    await blobs.abandon("all");
    throw e;
  }
  return { version: result.version, files, bytes };
}

/** What a decoder or body failure means to the client: its archive is broken, nothing was written. */
function corrupt(cause: unknown): FsError {
  if (cause instanceof FsError && cause.code !== "EINVAL") return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return invalid(`the tar archive is truncated or corrupt (${detail}); nothing was written`);
}

/** Only files and directories are extracted; anything else refuses the whole archive. */
function refuseKind(header: TarHeader, label: string): void {
  const type = header.type ?? "file";
  if (type !== "file" && type !== "directory") {
    const what: Record<string, string> = {
      link: "a hard link",
      symlink: "a symbolic link",
      "character-device": "a character device",
      "block-device": "a block device",
      fifo: "a FIFO",
    };
    throw invalid(
      `${label} is ${what[type] ?? type}: a tar upload holds only files and directories; nothing was written`,
    );
  }
  if (header.pax && Object.keys(header.pax).some((k) => k.startsWith("GNU.sparse."))) {
    throw invalid(`${label} is a sparse file: archive it without --sparse; nothing was written`);
  }
}

/**
 * Where an entry lands: its name under `dir`. "./" prefixes (as `tar -c .`
 * writes) and "." segments are dropped, "." itself is `dir`; absolute names
 * and ".." segments are refused rather than rewritten, and the rest is
 * judged by the path parser like any other path.
 */
function entryPath(dir: FsPath, name: string, label: string): FsPath {
  if (name.startsWith("/")) {
    throw invalid(
      `${label}: absolute names are refused (archive relative paths); nothing was written`,
    );
  }
  const segments = name.split("/").filter((seg) => seg !== "" && seg !== ".");
  if (segments.includes("..")) {
    throw invalid(`${label}: names with ".." are refused; nothing was written`);
  }
  if (segments.length === 0) return dir;
  try {
    return parsePath(joinPath(dir, segments.join("/")));
  } catch (e) {
    if (e instanceof FsError) throw new FsError(e.code, `${label}: ${e.message}`, e.path);
    throw e;
  }
}

/**
 * The R2 blob keys of one archive's big files, reserved from the ShareDO a
 * few at a time (1, 2, 4, … up to RESERVE_MAX per call) as those files
 * arrive, so a mostly-small archive reserves little and a big one costs
 * few calls. Each reservation checks the batch's preconditions
 * (`?force=false`) for the files seen since the last, failing fast.
 */
class Reservations {
  private readonly free: { blobId: string; key: string }[] = [];
  private readonly all: string[] = [];
  private unchecked: FsPath[] = [];
  private batch = 1;

  constructor(
    private readonly s: BatchStorage,
    private readonly options: BatchOptions,
  ) {}

  async take(path: FsPath): Promise<{ blobId: string; key: string }> {
    this.unchecked.push(path);
    if (this.free.length === 0) {
      this.s.subrequests.take(1, "reserving R2 keys for a tar upload's files");
      const got = await this.s.share.reserveBatch(this.options, this.unchecked, this.batch);
      this.unchecked = [];
      this.batch = Math.min(this.batch * 2, RESERVE_MAX);
      this.free.push(...got);
      this.all.push(...got.map((b) => b.blobId));
    }
    return this.free.shift() as { blobId: string; key: string };
  }

  /** Abandons every reservation (nothing commits) or those never used (after the last file). */
  async abandon(which: "all" | "unused"): Promise<void> {
    const ids = which === "all" ? this.all : this.free.map((b) => b.blobId);
    if (ids.length === 0) return;
    await this.s.share.abortWrites([...ids]).catch((error: unknown) => {
      console.warn("abandoning a tar upload's blobs failed; GC reclaims them at expiry:", error);
    });
  }
}
