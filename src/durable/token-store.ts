import { DurableObject } from "cloudflare:workers";
import type { Scope } from "../auth/scope";
import type { ListPage } from "../core/types";

/** What is known of an issued token: never the token itself. */
export interface TokenInfo {
  tokenId: string;
  name: string | null;
  scope: Scope;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  /**
   * Who minted it: "root", or the id of the admin token that did. Tokens
   * minted before issuers were recorded have null (revoking their minter
   * does not reach them).
   */
  issuer: string | null;
  /** Minted with `"s3": true`: its S3 key pair is valid (auth/s3-keys.ts). */
  s3?: boolean;
}

interface TokenRow {
  id: string;
  name: string | null;
  scope: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  issuer: string | null;
  s3: number | null;
  [key: string]: SqlStorageValue;
}

const toInfo = (r: TokenRow): TokenInfo => ({
  tokenId: r.id,
  name: r.name,
  scope: JSON.parse(r.scope) as Scope,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  issuer: r.issuer,
  ...(r.s3 ? { s3: true } : {}),
});

/** Expired tokens are kept this long for the listing, then forgotten. */
const KEEP_EXPIRED_MS = 30 * 86_400_000;

/**
 * The ledger of issued scoped tokens (one object per deployment), for
 * listing and revocation. Verifying a token never reads it; each isolate
 * fetches the revocation list now and then (auth/revocations.ts).
 */
export class TokenStore extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS tokens (
         id TEXT PRIMARY KEY, name TEXT, scope TEXT NOT NULL,
         created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER
       ) WITHOUT ROWID`,
    );
    // Added after the first release: the token that minted each token.
    const columns = this.sql
      .exec<{ name: string }>("SELECT name FROM pragma_table_info('tokens')")
      .toArray();
    if (!columns.some((c) => c.name === "issuer")) {
      this.sql.exec("ALTER TABLE tokens ADD COLUMN issuer TEXT");
      this.sql.exec("CREATE INDEX tokens_by_issuer ON tokens (issuer)");
    }
    if (!columns.some((c) => c.name === "s3")) {
      this.sql.exec("ALTER TABLE tokens ADD COLUMN s3 INTEGER");
    }
  }

  async record(info: TokenInfo): Promise<void> {
    this.sql.exec(
      "INSERT INTO tokens (id, name, scope, created_at, expires_at, revoked_at, issuer, s3) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
      info.tokenId,
      info.name,
      JSON.stringify(info.scope),
      info.createdAt,
      info.expiresAt,
      info.issuer,
      info.s3 ? 1 : null,
    );
    this.sql.exec("DELETE FROM tokens WHERE expires_at < ?", Date.now() - KEEP_EXPIRED_MS);
  }

  async list(limit: number, after: string): Promise<ListPage<TokenInfo> & { last?: string }> {
    const rows = this.sql
      .exec<TokenRow>("SELECT * FROM tokens WHERE id > ? ORDER BY id LIMIT ?", after, limit + 1)
      .toArray();
    const more = rows.length > limit;
    const entries = (more ? rows.slice(0, limit) : rows).map(toInfo);
    const last = entries[entries.length - 1]?.tokenId;
    return more && last ? { entries, last } : { entries };
  }

  async get(id: string): Promise<TokenInfo | null> {
    const row = this.sql.exec<TokenRow>("SELECT * FROM tokens WHERE id = ?", id).toArray()[0];
    return row ? toInfo(row) : null;
  }

  /**
   * Marks a token revoked, and every token minted by it, transitively
   * (idempotent: an earlier revocation time is kept). Returns the ids now
   * revoked — empty for an id never issued.
   */
  async revoke(id: string): Promise<string[]> {
    const now = Date.now();
    return this.ctx.storage.transactionSync(() => {
      const ids = this.sql
        .exec<{ id: string }>(
          `WITH RECURSIVE minted(id) AS (
             SELECT id FROM tokens WHERE id = ?
             UNION SELECT t.id FROM tokens t JOIN minted m ON t.issuer = m.id
           ) SELECT id FROM minted`,
          id,
        )
        .toArray()
        .map((r) => r.id);
      for (const revoked of ids) {
        this.sql.exec(
          "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
          now,
          revoked,
        );
      }
      return ids;
    });
  }

  /** Ids revoked and not yet expired: the only ones a verifier must refuse. */
  async revokedIds(): Promise<string[]> {
    return this.sql
      .exec<{ id: string }>(
        "SELECT id FROM tokens WHERE revoked_at IS NOT NULL AND expires_at > ?",
        Date.now(),
      )
      .toArray()
      .map((r) => r.id);
  }
}

export function tokenStore(env: Env): DurableObjectStub<TokenStore> {
  return env.TOKENS.get(env.TOKENS.idFromName("tokens"));
}
