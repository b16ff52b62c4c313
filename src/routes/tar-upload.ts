import type { Context } from "hono";
import { mountAt } from "../backends/resolve";
import { FsError, invalid } from "../core/errors";
import type { FsPath } from "../core/paths";
import { shareOf, shareStorageFor, VERSION_HEADER } from "../http/backend";
import type { AppEnv } from "../http/env";
import { bool } from "../http/params";
import { BATCH_LIMITS } from "./commit";

/** Whether a PUT's Content-Type asks for a tar upload (application/x-tar, parameters aside). */
export function isTarUpload(contentType: string | undefined): boolean {
  return contentType?.split(";", 1)[0]?.trim().toLowerCase() === "application/x-tar";
}

/**
 * `PUT /v1/shares/{s}/files/{dir}/` with `Content-Type: application/x-tar`:
 * the archive's files and directories under `dir` as one version
 * (share-tar.ts). `?force=false` refuses to replace existing files. A tar
 * upload, like a batch commit, changes share storage only: `dir` under a
 * bucket mount is 501 ENOTSUP.
 */
export async function tarUpload(
  c: Context<AppEnv>,
  dir: FsPath,
  trailingSlash: boolean,
): Promise<Response> {
  if (!trailingSlash) {
    throw invalid(
      "a tar upload extracts into a directory: end the path in '/' (…/files/dest/)",
      dir,
    );
  }
  const force = bool.safeParse(c.req.query("force") ?? "true");
  if (!force.success) throw invalid("force must be true or false");
  const storage = await shareStorageFor(c, [{ path: dir, label: "tar upload" }]);
  const target = shareOf(c);
  // A bucket mounted below `dir`: an entry that lands in it is refused as a batch op there is.
  const guard = async (path: FsPath, label: string) => {
    const mount = await mountAt(target, path);
    if (mount) {
      throw new FsError(
        "ENOTSUP",
        `${label}: ${path} is under the bucket mount at ${mount.path}; a tar upload changes share storage only; nothing was written`,
        path,
      );
    }
  };
  const result = await storage.uploadTar(
    dir,
    c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (s) => s.close() }),
    { force: force.data },
    { entries: BATCH_LIMITS.ops, heldBytes: BATCH_LIMITS.bodyBytes, guard },
  );
  c.header(VERSION_HEADER, String(result.version));
  return c.json(result);
}
