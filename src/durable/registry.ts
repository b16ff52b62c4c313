import { DurableObject } from "cloudflare:workers";
import type { ListPage, ShareInfo } from "../core/types";

/**
 * The list of shares of one environment. ShareDOs tell it when they are
 * created or deleted, and an ephemeral share's heartbeat at most once per
 * ttl/2 (share-lifecycle.ts); only `GET /v1/shares` reads it, so it is never
 * on the path of a file operation.
 */
export class Registry extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS shares (name TEXT PRIMARY KEY, id TEXT NOT NULL, info TEXT NOT NULL) WITHOUT ROWID",
    );
  }

  /**
   * Lists the share, or updates its entry. Within one incarnation (same id)
   * an expiry only grows, so announcements that arrive out of order never
   * shorten it; a new incarnation replaces the entry whole.
   */
  async add(info: ShareInfo): Promise<void> {
    this.sql.exec(
      `INSERT INTO shares (name, id, info) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET id = excluded.id, info = excluded.info
       WHERE shares.id <> excluded.id
          OR coalesce(json_extract(excluded.info, '$.expiresAt'), 0)
             >= coalesce(json_extract(shares.info, '$.expiresAt'), 0)`,
      info.name,
      info.id,
      JSON.stringify(info),
    );
  }

  /** Removes the entry only if it still names that incarnation of the share. */
  async remove(name: string, id: string): Promise<void> {
    this.sql.exec("DELETE FROM shares WHERE name = ? AND id = ?", name, id);
  }

  async list(limit: number, after: string): Promise<ListPage<ShareInfo> & { last?: string }> {
    const rows = this.sql
      .exec<{ name: string; info: string }>(
        "SELECT name, info FROM shares WHERE name > ? ORDER BY name LIMIT ?",
        after,
        limit + 1,
      )
      .toArray();
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    // An expired ephemeral share is gone at once, even before its alarm removes it here.
    const now = Date.now();
    const entries = page
      .map((r) => JSON.parse(r.info) as ShareInfo)
      .filter((info) => info.expiresAt === undefined || info.expiresAt > now);
    const last = page[page.length - 1]?.name;
    return more && last !== undefined ? { entries, last } : { entries };
  }
}

export function registryFor(env: Env, environment: string): DurableObjectStub<Registry> {
  return env.REGISTRY.get(env.REGISTRY.idFromName(environment));
}
