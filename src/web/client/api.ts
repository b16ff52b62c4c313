// The gateway's /v1 API as the browser app uses it: one fetch wrapper that
// adds the token and turns every error answer into a sentence a person
// can read (the server's own message, with what the code means).

// The wire's types are the gateway's own (type-only imports: nothing of
// src/core is bundled), so the app cannot drift from what the API sends.
import type { Lease } from "../../core/leases";
import type { Mount } from "../../core/mount";
import type {
  FileEntry as Entry,
  PathVersion as HistoryEntry,
  ShareDetail,
  ShareInfo,
  SnapshotInfo as Snapshot,
} from "../../core/types";

export type { Entry, HistoryEntry, Lease, Mount, ShareDetail, ShareInfo, Snapshot };

/** GET /v1/whoami (src/routes/whoami.ts). */
export interface Principal {
  kind: "root" | "token";
  envs: string[];
  shares: string[];
  permissions: string[];
  expiresAt?: number;
}

/** Where a read looks: the live share, or a snapshot (read-only). */
export type Reading = { snapshot: string } | null;

/** What each error code means, for people; the server's message says the rest. */
const MEANING: Record<string, string> = {
  ENOENT: "Not found",
  EEXIST: "Already exists",
  EACCES: "Not allowed with this token",
  EUNAUTHENTICATED: "The token was not accepted",
  ENOTEMPTY: "The folder is not empty",
  ENOTDIR: "Not a folder",
  EISDIR: "That is a folder",
  ELOCKED: "Someone holds a lease on it",
  EPRECONDITION: "It changed in the meantime",
  ENOSPC: "The share is full",
  ETOOLARGE: "Too large",
  EEXPIRED: "No longer available",
  EINVAL: "That was not accepted",
  ENOTSUP: "Not supported here",
  EBUSY: "Busy, try again",
  ETIMEDOUT: "Timed out",
  EINTERNAL: "The gateway failed",
};

export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${MEANING[code] ?? "It did not work"}: ${detail}`);
    this.name = "ApiError";
  }
}

/** The error an answer carries, as an ApiError (the contract's {error:{code,message}}). */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.code) {
      return new ApiError(body.error.code, res.status, body.error.message ?? res.statusText);
    }
  } catch {
    // Not JSON: a proxy's page, say.
  }
  return new ApiError(
    "EINTERNAL",
    res.status,
    `the gateway answered ${res.status} ${res.statusText}`,
  );
}

let onRefused: ((e: ApiError) => void) | null = null;

/** Told when the gateway refuses the token itself (401): it expired or was revoked. */
export function whenTokenRefused(listener: ((e: ApiError) => void) | null): void {
  onRefused = listener;
}

/** A person-readable sentence for anything thrown. */
export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof TypeError) return "The gateway could not be reached. Check your connection.";
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Encodes a share path for a URL, segment by segment ("/a b/c" → "/a%20b/c"). */
export const encodePath = (path: string) =>
  path
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");

export class Api {
  constructor(
    readonly token: string,
    readonly env: string,
  ) {}

  withEnv(env: string): Api {
    return new Api(this.token, env);
  }

  headers(extra?: Record<string, string>): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  /** A URL under /v1 with the environment (and any other query) set. */
  url(path: string, query: Record<string, string | number | boolean | undefined> = {}): string {
    const q = new URLSearchParams();
    if (this.env !== "main") q.set("env", this.env);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const s = q.toString();
    return `/v1${path}${s ? `?${s}` : ""}`;
  }

  async request(
    method: string,
    path: string,
    init: {
      query?: Record<string, string | number | boolean | undefined>;
      body?: unknown;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    const headers = this.headers(init.headers);
    let body: BodyInit | undefined;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers["content-type"] = "application/json";
    }
    const res = await fetch(this.url(path, init.query), {
      method,
      headers,
      body,
      signal: init.signal,
    });
    if (!res.ok) {
      const error = await errorOf(res);
      if (res.status === 401) onRefused?.(error);
      throw error;
    }
    return res;
  }

  async json<T>(method: string, path: string, init?: Parameters<Api["request"]>[2]): Promise<T> {
    const res = await this.request(method, path, init);
    return (await res.json()) as T;
  }

  whoami(): Promise<Principal> {
    return this.json("GET", "/whoami");
  }

  async shares(): Promise<ShareInfo[]> {
    const all: ShareInfo[] = [];
    let cursor: string | undefined;
    // Bounded: an environment with more than 50,000 shares shows the first ones.
    for (let i = 0; i < 50; i++) {
      const page = await this.json<{ shares: ShareInfo[]; cursor?: string }>("GET", "/shares", {
        query: { limit: 1000, cursor },
      });
      all.push(...page.shares);
      cursor = page.cursor;
      if (!cursor) break;
    }
    return all;
  }

  share(name: string): Promise<ShareDetail> {
    return this.json("GET", `/shares/${encodeURIComponent(name)}`);
  }

  list(
    share: string,
    path: string,
    opts: { cursor?: string; limit?: number; reading?: Reading; signal?: AbortSignal },
  ): Promise<{ entries: Entry[]; cursor?: string }> {
    return this.json("GET", `/shares/${encodeURIComponent(share)}/list${encodePath(path)}`, {
      query: { limit: opts.limit ?? 500, cursor: opts.cursor, snapshot: opts.reading?.snapshot },
      signal: opts.signal,
    });
  }

  fileUrl(share: string, path: string, reading?: Reading): string {
    return this.url(`/shares/${encodeURIComponent(share)}/files${encodePath(path)}`, {
      snapshot: reading?.snapshot,
    });
  }

  mkdir(share: string, path: string): Promise<Response> {
    return this.request("PUT", `/shares/${encodeURIComponent(share)}/files${encodePath(path)}/`);
  }

  remove(share: string, path: string, recursive: boolean): Promise<Response> {
    return this.request("DELETE", `/shares/${encodeURIComponent(share)}/files${encodePath(path)}`, {
      query: { recursive: recursive || undefined },
    });
  }

  move(share: string, from: string, to: string): Promise<Response> {
    return this.request("POST", `/shares/${encodeURIComponent(share)}/move`, {
      body: { from, to },
    });
  }

  presign(share: string, path: string, method: "GET" | "PUT", expiresIn: number) {
    return this.json<{ url: string; expiresAt: number }>(
      "POST",
      `/shares/${encodeURIComponent(share)}/presign`,
      { body: { path, method, expiresIn } },
    );
  }

  leases(share: string): Promise<{ leases: Lease[] }> {
    return this.json("GET", `/shares/${encodeURIComponent(share)}/leases`);
  }

  mounts(share: string): Promise<{ mounts: Mount[] }> {
    return this.json("GET", `/shares/${encodeURIComponent(share)}/mounts`);
  }

  history(share: string, path: string): Promise<{ versions: HistoryEntry[]; cursor?: string }> {
    return this.json("GET", `/shares/${encodeURIComponent(share)}/history${encodePath(path)}`);
  }

  snapshots(share: string): Promise<{ snapshots: Snapshot[] }> {
    return this.json("GET", `/shares/${encodeURIComponent(share)}/snapshots`);
  }

  restore(share: string, path: string, from: { version: number } | { snapshot: string }) {
    return this.json<{ version: number }>("POST", `/shares/${encodeURIComponent(share)}/restore`, {
      body: { path, ...from },
    });
  }

  setQuota(share: string, quota: { bytes: number | null; files: number | null }) {
    return this.json<ShareDetail>("PUT", `/shares/${encodeURIComponent(share)}/quota`, {
      body: quota,
    });
  }
}
