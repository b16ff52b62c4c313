import { FsError, invalid } from "../core/errors";
import type { FsPath } from "../core/paths";
import type { Live, ShareState } from "./share-state";

/** At most this many files per seeding call: one transaction, a few seconds at most. */
export const SEED_MAX = 100_000;

export interface SeedRequest {
  dir: FsPath;
  count: number;
  /** Names are `${prefix}${index, zero-padded to 8}`. */
  prefix: string;
  /** Every file's content (inline, one shared row); empty files without it. */
  content?: string;
}

/**
 * Bulk seeding for benchmarks and tests at scale (dev routes only): `count`
 * files in one directory, written as rows in one statement instead of
 * `count` requests, with the same ids, references and directory totals a
 * write would leave, so everything afterwards behaves as for real files.
 */
export function seedFiles({ now }: Live, s: ShareState, req: SeedRequest): { files: number } {
  if (!s.config.devRoutes) throw new FsError("ENOTSUP", "seeding needs EDGEFS_DEV_ROUTES=1");
  if (!Number.isSafeInteger(req.count) || req.count < 1 || req.count > SEED_MAX) {
    throw invalid(`count must be 1..${SEED_MAX}`);
  }
  s.tree.mkdir(req.dir, now);
  const dir = s.tree.resolve(req.dir);
  if (dir?.node.type !== "directory") throw invalid(`not a directory: ${req.dir}`, req.dir);
  const bytes = new TextEncoder().encode(req.content ?? "");
  const inlineId = bytes.byteLength > 0 ? s.ledger.keepInline(bytes.buffer as ArrayBuffer) : null;
  if (inlineId !== null && req.count > 1) s.ledger.addInlineRef(inlineId, req.count - 1);
  const first = s.nodes.allocate(req.count);
  s.sql.exec(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
     INSERT INTO nodes (id, parent, name, born, type, size, mtime, etag, inline_id)
     SELECT ?2 + i, ?3, ?4 || printf('%08d', i), ?5, 'file', ?6, ?7, '"seed"', ?8 FROM n`,
    req.count,
    first,
    dir.node.id,
    req.prefix,
    s.nodes.stamp(),
    bytes.byteLength,
    now,
    inlineId,
  );
  const size = bytes.byteLength;
  s.usage.add([...dir.chain, dir.node.id], {
    files: req.count,
    dirs: 0,
    bytes: size * req.count,
    inlineBytes: inlineId !== null ? size * req.count : 0,
  });
  // One event for the lot (a seed may hold more files than a version has events):
  // a recursive put of the directory, which only the dev routes make.
  s.feed.seeded(req.dir, now);
  return { files: req.count };
}
