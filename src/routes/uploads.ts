import { Hono } from "hono";
import { z } from "zod";
import { invalid } from "../core/errors";
import { parsePath } from "../core/paths";
import { writeConditionsFrom } from "../core/preconditions";
import {
  checkDeclaredSize,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  partSizeFor,
} from "../core/uploads";
import { can } from "../http/auth";
import { backendFor, shareStorageFor } from "../http/backend";
import type { AppEnv } from "../http/env";
import { writtenResponse } from "../http/file-response";
import { contentLength, jsonBody } from "../http/params";

/**
 * Multipart uploads, for files over the request-body cap of the Cloudflare
 * plan (100 MB on Free and Pro) and for uploads that must survive a broken
 * connection: create, send parts in any order and in parallel, ask what
 * arrived, complete (atomic, like a PUT) or abort.
 */
export const uploads = new Hono<AppEnv>();

/** 64 MiB parts fit under every plan's body cap; 64 MiB × 10,000 parts = 625 GiB. */
export const DEFAULT_PART_SIZE = 64 * 1024 * 1024;

const createBody = z.strictObject({
  path: z.string(),
  partSize: z.number().int().min(MIN_PART_SIZE).max(MAX_PART_SIZE).optional(),
  /** The file's size in bytes, if known: parts and completion are checked against it. */
  size: z.number().int().min(0).optional(),
  /** A staged upload: complete stores it, a batch commit's put op commits it (routes/commit.ts). */
  stage: z.boolean().optional(),
});

uploads.post("/:share/uploads", can("write"), async (c) => {
  const body = await jsonBody(c.req.raw, createBody);
  const conditions = writeConditionsFrom({
    ifMatch: c.req.header("if-match"),
    ifNoneMatch: c.req.header("if-none-match"),
  });
  const path = parsePath(body.path);
  // Without a partSize, a declared size big enough for 10,000 parts of the default gets bigger parts.
  const partSize = partSizeFor(body.size, body.partSize, DEFAULT_PART_SIZE);
  if (body.size !== undefined) checkDeclaredSize(body.size, partSize);
  if (body.stage) {
    if (conditions.ifMatch !== undefined || conditions.ifNoneMatch !== undefined) {
      throw invalid(
        "a staged upload takes no If-Match or If-None-Match: the batch commit that puts it decides (force, ifVersion)",
      );
    }
    const storage = await shareStorageFor(c, [{ path, label: "staged upload" }]);
    const sizing = body.size === undefined ? { partSize } : { partSize, size: body.size };
    return c.json(await storage.createStagedUpload(path, sizing), 201);
  }
  const info = await (await backendFor(c, path)).createUpload(
    path,
    body.size === undefined ? { partSize, conditions } : { partSize, conditions, size: body.size },
  );
  return c.json(info, 201);
});

uploads.get("/:share/uploads/:id", can("write"), async (c) => {
  return c.json(await (await backendFor(c)).uploadStatus(uploadIdOf(c.req.param("id"))));
});

uploads.put("/:share/uploads/:id/parts/:n", can("write"), async (c) => {
  const n = Number(c.req.param("n"));
  if (!/^\d{1,5}$/.test(c.req.param("n")) || n < 1 || n > MAX_PARTS) {
    throw invalid(`part numbers run from 1 to ${MAX_PARTS}`);
  }
  const length = contentLength(c.req.header("content-length"));
  if (length === undefined)
    throw invalid("a part needs a Content-Length (R2 stores parts of known size)");
  const body = c.req.raw.body ?? new Blob([]).stream();
  const part = await (await backendFor(c)).uploadPart(
    uploadIdOf(c.req.param("id")),
    n,
    body,
    length,
  );
  return c.json(part);
});

uploads.post("/:share/uploads/:id/complete", can("write"), async (c) => {
  // Upload ids live in the share's own storage, whatever path they write.
  const done = await (await shareStorageFor(c, [])).completeOrStage(uploadIdOf(c.req.param("id")));
  if ("staged" in done) return c.json(done);
  return writtenResponse(done.entry, done.created, done.version);
});

uploads.delete("/:share/uploads/:id", can("write"), async (c) => {
  await (await backendFor(c)).abortUpload(uploadIdOf(c.req.param("id")));
  return c.body(null, 204);
});

function uploadIdOf(value: string | undefined): string {
  if (value === undefined || !/^[0-9a-f]{32}$/.test(value)) throw invalid("malformed upload id");
  return value;
}
