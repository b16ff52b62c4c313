import { DurableObject } from "cloudflare:workers";
import type { Sealed } from "../auth/sealed";

export interface SecretInfo {
  name: string;
  updatedAt: number;
}

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
  }

  /** Stores or replaces a secret; true when it is new. */
  async put(name: string, sealed: Sealed): Promise<{ created: boolean; info: SecretInfo }> {
    const created =
      this.sql.exec("SELECT 1 FROM secrets WHERE name = ?", name).toArray().length === 0;
    const updatedAt = Date.now();
    this.sql.exec(
      "INSERT OR REPLACE INTO secrets (name, sealed, updated_at) VALUES (?, ?, ?)",
      name,
      JSON.stringify(sealed),
      updatedAt,
    );
    return { created, info: { name, updatedAt } };
  }

  async get(name: string): Promise<Sealed | null> {
    const row = this.sql
      .exec<{ sealed: string }>("SELECT sealed FROM secrets WHERE name = ?", name)
      .toArray()[0];
    return row ? (JSON.parse(row.sealed) as Sealed) : null;
  }

  async list(): Promise<SecretInfo[]> {
    return this.sql
      .exec<{ name: string; updated_at: number }>(
        "SELECT name, updated_at FROM secrets ORDER BY name",
      )
      .toArray()
      .map((r) => ({ name: r.name, updatedAt: r.updated_at }));
  }

  async delete(name: string): Promise<boolean> {
    return this.sql.exec("DELETE FROM secrets WHERE name = ?", name).rowsWritten > 0;
  }
}

export function secretStore(env: Env, environment: string): DurableObjectStub<SecretStore> {
  return env.SECRETS.get(env.SECRETS.idFromName(environment));
}
