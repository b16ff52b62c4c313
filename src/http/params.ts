import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { z } from "zod";
import type { FileAttributes, ReadOptions } from "../core/backend";
import { FsError, invalid } from "../core/errors";
import { type FsPath, parseUrlPath } from "../core/paths";
import { concat, readUpTo } from "../core/streams";

/** Share and environment names (docs/api.md, its opening section). */
export const NAME = /^(?!\.)[A-Za-z0-9._-]{1,64}$/;

export function checkName(value: string | undefined, what: string): string {
  if (value === undefined || !NAME.test(value)) {
    throw invalid(`invalid ${what} name: use 1-64 of A-Z a-z 0-9 . _ -, not starting with "."`);
  }
  return value;
}

/** A Content-Length header: absent (chunked) or a plain decimal number. */
export function contentLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (!/^\d{1,16}$/.test(header.trim()))
    throw invalid(`invalid Content-Length: ${header.slice(0, 40)}`);
  return Number(header);
}

/**
 * Whether a request carries at least one body byte: its Content-Length says,
 * and a body of unknown length (chunked) is read just far enough to tell.
 */
export async function carriesBytes(request: Request, length: number | undefined): Promise<boolean> {
  if (length !== undefined) return length > 0;
  if (!request.body) return false;
  const reader = request.body.getReader();
  const { size } = await readUpTo(reader, 0);
  await reader.cancel().catch(() => undefined);
  return size > 0;
}

/** User metadata travels as `Edgefs-Meta-{name}: value` headers, both ways. */
export const META_HEADER_PREFIX = "edgefs-meta-";

/**
 * Content types that say nothing about the bytes: `curl -d` and
 * `--data-binary` send application/x-www-form-urlencoded with every body,
 * so storing it would label files wrongly; the type is then guessed from
 * the name instead, as for a PUT without one.
 */
const NOT_A_FILE_TYPE = new Set(["application/x-www-form-urlencoded"]);

/**
 * A write's attributes from its request headers: the Content-Type the
 * client sent (not a form encoding) and every `Edgefs-Meta-*` header as
 * user metadata (names lower-cased; core/attributes.ts checks them).
 */
export function attributesFrom(headers: Headers): FileAttributes {
  const a: FileAttributes = {};
  const type = headers.get("content-type")?.trim();
  if (type && !NOT_A_FILE_TYPE.has(type.split(";", 1)[0]?.trim().toLowerCase() ?? "")) {
    a.contentType = type;
  }
  const metadata: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith(META_HEADER_PREFIX) && name.length > META_HEADER_PREFIX.length) {
      metadata[name.slice(META_HEADER_PREFIX.length)] = value;
    }
  }
  if (Object.keys(metadata).length > 0) a.metadata = metadata;
  return a;
}

/** What a GET or HEAD asks of a file: its range and conditional headers (RFC 9110). */
export function readOptionsFrom(
  header: (name: string) => string | undefined,
  headOnly: boolean,
): ReadOptions {
  return {
    headOnly,
    range: header("range"),
    ifRange: header("if-range"),
    ifMatch: header("if-match"),
    ifNoneMatch: header("if-none-match"),
    ifModifiedSince: header("if-modified-since"),
  };
}

const LEASE_ID = /^[0-9a-f]{32}$/;

/** `Edgefs-Lease: id[, id…]`: the leases a writer holds. */
export function heldLeases(header: string | undefined): string[] {
  if (header === undefined || header.trim() === "") return [];
  const ids = header.split(",").map((s) => s.trim());
  if (ids.length > 16 || !ids.every((id) => LEASE_ID.test(id))) {
    throw invalid("malformed Edgefs-Lease header: up to 16 lease ids, comma-separated");
  }
  return ids;
}

/** `?env=`, default "main". */
export function environmentOf(query: (key: string) => string | undefined): string {
  return checkName(query("env") ?? "main", "environment");
}

/**
 * The part of the raw (still percent-encoded) URL path after its first
 * `skip` segments. Paths are decoded per segment by parseUrlPath, so the
 * raw form must be used: a decoded "%2F" would be indistinguishable from "/".
 */
export function filePathOf(url: string, skip: number): { path: FsPath; trailingSlash: boolean } {
  const pathname = rawPathname(url);
  let at = 0;
  for (let i = 0; i < skip; i++) {
    const next = pathname.indexOf("/", at + 1);
    if (next === -1) return parseUrlPath("");
    at = next;
  }
  return parseUrlPath(pathname.slice(at));
}

/**
 * The file path a share route names: the rest of the URL after
 * `/v1/shares/{share}/{resource}/` (resource: files, stat, list, mounts).
 * The one place that knows how many segments come first.
 */
export function sharePathOf(url: string): { path: FsPath; trailingSlash: boolean } {
  return filePathOf(url, 4);
}

/** An absolute URL's path, query and fragment, as written; other text unchanged. */
export function withoutOrigin(url: string): string {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "");
}

/**
 * The request-target's path exactly as sent. `new URL()` would resolve
 * "/a/../b" and "/a/%2e%2e/b" to "/b" silently; the contract rejects them.
 */
function rawPathname(url: string): string {
  return withoutOrigin(url).split(/[?#]/, 1)[0] ?? "";
}

/** A boolean query parameter: true/false or 1/0. */
export const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

export const listQuery = z.object({
  env: z.string().optional(),
  version: z.string().optional(),
  snapshot: z.string().optional(),
  recursive: bool.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  cursor: z.string().max(16_384).optional(),
});

export const recursiveQuery = z.object({ env: z.string().optional(), recursive: bool.optional() });

/**
 * The most a JSON request body may hold unless its route documents more: every
 * /v1 body is a small object (a path, a name, a scope). Read with the cap, so
 * a huge body costs the Worker at most this much memory.
 */
export const JSON_BODY_MAX_BYTES = 64 * 1024;

/**
 * Parses a JSON request body against a schema, whatever its Content-Type:
 * `curl -d '{"from":…}'` sends application/x-www-form-urlencoded, and Hono's
 * json validator would silently see `{}` there. Hand-written for that reason.
 * Over `maxBytes` → 413 ETOOLARGE, refused by Content-Length before reading
 * when it is declared, else as soon as the cap is passed.
 */
export async function jsonBody<T extends z.ZodType>(
  req: Request,
  schema: T,
  maxBytes = JSON_BODY_MAX_BYTES,
): Promise<z.output<T>> {
  return parseJson(await cappedText(req, maxBytes), schema);
}

/** Like jsonBody, for routes where the body may be left out entirely. */
export async function optionalJsonBody<T extends z.ZodType>(
  req: Request,
  schema: T,
  maxBytes = JSON_BODY_MAX_BYTES,
): Promise<z.output<T> | undefined> {
  const text = await cappedText(req, maxBytes);
  return text.trim() === "" ? undefined : parseJson(text, schema);
}

async function cappedText(req: Request, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new FsError("ETOOLARGE", `the JSON body is over its limit of ${maxBytes} bytes`);
  const declared = contentLength(req.headers.get("content-length") ?? undefined);
  if (declared !== undefined && declared > maxBytes) throw tooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const { chunks, size, done } = await readUpTo(reader, maxBytes);
  if (!done) {
    await reader.cancel().catch(() => undefined);
    throw tooLarge();
  }
  return new TextDecoder().decode(concat(chunks, size));
}

function parseJson<T extends z.ZodType>(text: string, schema: T): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid("the request body is not valid JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalid(`invalid body: ${describe(parsed.error)}`);
  return parsed.data;
}

function describe(error: { issues: readonly { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue?.message ?? "bad value"}`;
}

/** zValidator whose failures become EINVAL with zod's own description. */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw invalid(`invalid ${target}: ${describe(result.error)}`);
  });
}
