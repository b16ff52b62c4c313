import { Hono } from "hono";
import { z } from "zod";
import type { BatchRequestOp } from "../backends/share-batch";
import { FsError, invalid } from "../core/errors";
import { type FsPath, parsePath } from "../core/paths";
import { can } from "../http/auth";
import { shareStorageFor } from "../http/backend";
import type { AppEnv } from "../http/env";
import { jsonBody } from "../http/params";

/**
 * `POST /v1/shares/{share}/commit`: many changes as one version, all or
 * nothing (docs/api.md "Batch commits"). The route checks the whole batch
 * before anything is stored — its size, every op's shape, path and
 * content — so a bad batch writes nothing at all.
 */
export const commit = new Hono<AppEnv>();

const MiB = 1024 * 1024;
/** The documented limits of one batch. */
export const BATCH_LIMITS = { bodyBytes: 16 * MiB, ops: 10_000, contentBytes: MiB } as const;

const envelope = z.strictObject({
  ops: z.array(z.unknown()),
  force: z.boolean().optional(),
  ifVersion: z.number().int().min(0).optional(),
});

const UPLOAD_ID = /^[0-9a-f]{32}$/;

const opSchema = z.discriminatedUnion("op", [
  z
    .strictObject({
      op: z.literal("put"),
      path: z.string(),
      content: z.string().optional(),
      uploadId: z.string().regex(UPLOAD_ID, "malformed upload id").optional(),
    })
    .refine((p) => (p.content === undefined) !== (p.uploadId === undefined), {
      message: 'a put takes either "content" (base64) or "uploadId" (a staged upload)',
    }),
  z.strictObject({ op: z.literal("mkdir"), path: z.string() }),
  z.strictObject({ op: z.literal("delete"), path: z.string(), recursive: z.boolean().optional() }),
  z.strictObject({ op: z.literal("move"), from: z.string(), to: z.string() }),
  z.strictObject({
    op: z.literal("copy"),
    from: z.string(),
    to: z.string(),
    recursive: z.boolean().optional(),
  }),
]);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 (padded, no whitespace) to bytes; EINVAL or 413 naming the op. */
function decodeContent(text: string, label: string): Uint8Array {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const size = (text.length / 4) * 3 - padding;
  if (size > BATCH_LIMITS.contentBytes) {
    throw new FsError(
      "ETOOLARGE",
      `${label}: its content is over ${BATCH_LIMITS.contentBytes} bytes (1 MiB), the most one put of a batch carries: stage bigger files (POST …/uploads with "stage": true) and put them by uploadId`,
    );
  }
  if (!BASE64.test(text)) {
    throw invalid(`${label}: content is not valid base64 (standard alphabet, padded)`);
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue?.message ?? "bad value"}`;
}

/** Parses op `i`: shape, paths, content. */
function parseOp(raw: unknown, i: number): BatchRequestOp {
  const kind =
    typeof raw === "object" && raw !== null && "op" in raw ? String(raw.op).slice(0, 20) : "?";
  const parsed = opSchema.safeParse(raw);
  if (!parsed.success) throw invalid(`op ${i} (${kind}): ${describe(parsed.error)}`);
  const op = parsed.data;
  const path = (p: string): FsPath => {
    try {
      return parsePath(p);
    } catch (e) {
      if (e instanceof FsError) throw new FsError(e.code, `op ${i} (${op.op}): ${e.message}`, p);
      throw e;
    }
  };
  switch (op.op) {
    case "put": {
      const at = path(op.path);
      if (op.uploadId !== undefined) return { op: "put", path: at, uploadId: op.uploadId };
      const content = decodeContent(op.content ?? "", `op ${i} (put ${at})`);
      return { op: "put", path: at, content };
    }
    case "mkdir":
      return { op: "mkdir", path: path(op.path) };
    case "delete":
      return { op: "delete", path: path(op.path), recursive: op.recursive ?? false };
    case "move":
      return { op: "move", from: path(op.from), to: path(op.to) };
    case "copy":
      return { op: "copy", from: path(op.from), to: path(op.to), recursive: op.recursive ?? false };
  }
}

const pathsOf = (op: BatchRequestOp): FsPath[] => ("path" in op ? [op.path] : [op.from, op.to]);

commit.post("/:share/commit", can("write"), async (c) => {
  let body: z.output<typeof envelope>;
  try {
    body = await jsonBody(c.req.raw, envelope, BATCH_LIMITS.bodyBytes);
  } catch (e) {
    if (e instanceof FsError && e.code === "ETOOLARGE") {
      throw new FsError(
        "ETOOLARGE",
        `a batch commit's body is at most ${BATCH_LIMITS.bodyBytes} bytes (16 MiB): split the batch, or stage big files (POST …/uploads with "stage": true); nothing was committed`,
      );
    }
    throw e;
  }
  if (body.ops.length > BATCH_LIMITS.ops) {
    throw new FsError(
      "ETOOLARGE",
      `a batch commit holds at most ${BATCH_LIMITS.ops} ops, not ${body.ops.length}: split it; nothing was committed`,
    );
  }
  const ops = body.ops.map(parseOp);
  const storage = await shareStorageFor(
    c,
    ops.flatMap((op, i) => pathsOf(op).map((path) => ({ path, label: `op ${i} (${op.op})` }))),
  );
  const options =
    body.ifVersion === undefined
      ? { force: body.force ?? true }
      : { force: body.force ?? true, ifVersion: body.ifVersion };
  const result = await storage.commitBatch(ops, options);
  c.header("Edgefs-Version", String(result.version));
  return c.json(result);
});
