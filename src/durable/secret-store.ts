import { DurableObject } from "cloudflare:workers";
import type { Sealed } from "../auth/sealed";

export interface SecretInfo {
  name: string;
  /**
   * The shares whose mounts may sign with this secret, or ["*"] for every
   * share of the environment. Set when the secret is stored; managing the
   * secret needs an admin whose scope covers all of them.
   */
  shares: string[];
  updatedAt: number;
}

interface SecretRow {
  name: string;
  shares: string | null;
  updated_at: number;
  [key: string]: SqlStorageValue;
}

/** Secrets stored before shares were recorded belong to the whole environment. */
const sharesOf = (r: SecretRow): string[] =>
  r.shares === null ? ["*"] : (JSON.parse(r.shares) as string[]);

const toInfo = (r: SecretRow): SecretInfo => ({
  name: r.name,
  shares: sharesOf(r),
  updatedAt: r.updated_at,
});

/**
 * The secrets of one environment (credentials for bucket mounts), stored
 * sealed: this object never sees a plaintext value (auth/sealed.ts).
 */
export class SecretStore extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS secrets (
         name TEXT PRIMARY KEY, sealed TEXT NOT NULL, updated_at INTEGER NOT NULL
       ) WITHOUT ROWID`,
    );
    // Added after the first release: which shares may use the secret.
    const columns = this.sql
      .exec<{ name: string }>("SELECT name FROM pragma_table_info('secrets')")
      .toArray();
    if (!columns.some((c) => c.name === "shares")) {
      this.sql.exec("ALTER TABLE secrets ADD COLUMN shares TEXT");
    }
  }

  /** Stores or replaces a secret; true when it is new. */
  async put(
    name: string,
    sealed: Sealed,
    shares: string[],
  ): Promise<{ created: boolean; info: SecretInfo }> {
    const created =
      this.sql.exec("SELECT 1 FROM secrets WHERE name = ?", name).toArray().length === 0;
    const updatedAt = Date.now();
    this.sql.exec(
      "INSERT OR REPLACE INTO secrets (name, sealed, updated_at, shares) VALUES (?, ?, ?, ?)",
      name,
      JSON.stringify(sealed),
      updatedAt,
      JSON.stringify(shares),
    );
    return { created, info: { name, shares, updatedAt } };
  }

  /** The sealed values and who may use them, or null. */
  async get(name: string): Promise<{ sealed: Sealed; info: SecretInfo } | null> {
    const row = this.sql
      .exec<SecretRow & { sealed: string }>(
        "SELECT name, sealed, shares, updated_at FROM secrets WHERE name = ?",
        name,
      )
      .toArray()[0];
    return row ? { sealed: JSON.parse(row.sealed) as Sealed, info: toInfo(row) } : null;
  }

  /** What is known of a secret without its value, or null. */
  async info(name: string): Promise<SecretInfo | null> {
    const row = this.sql
      .exec<SecretRow>("SELECT name, shares, updated_at FROM secrets WHERE name = ?", name)
      .toArray()[0];
    return row ? toInfo(row) : null;
  }

  async list(): Promise<SecretInfo[]> {
    return this.sql
      .exec<SecretRow>("SELECT name, shares, updated_at FROM secrets ORDER BY name")
      .toArray()
      .map(toInfo);
  }

  async delete(name: string): Promise<boolean> {
    return this.sql.exec("DELETE FROM secrets WHERE name = ?", name).rowsWritten > 0;
  }
}

export function secretStore(env: Env, environment: string): DurableObjectStub<SecretStore> {
  return env.SECRETS.get(env.SECRETS.idFromName(environment));
}
