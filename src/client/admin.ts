// The admin side of the SDK: secrets (credentials of bucket mounts) and
// scoped tokens. Shaped like Modal's static object APIs (`Secret.from_dict`,
// `NetworkFileSystem.delete(name)`): static methods that take the client
// options last. Runtime-agnostic (fetch only).
import { type ClientOptions, HttpClient, jsonBody } from "./http.js";
import { CLIENT_KEYS, checkOptions, checkValue, type KeysOf } from "./options.js";

/** A secret as the server lists it: never its values. */
export interface SecretInfo {
  name: string;
  /** The shares whose mounts may sign with it, or ["*"]: every share of the environment. */
  shares: string[];
  updatedAt: number;
}

/** Options of Secret.put(): the client's, and the shares the secret is for. */
export type SecretPutOptions = ClientOptions & {
  /**
   * The shares whose mounts may use it (names, or ["*"]); default: the
   * shares of the admin token that stores it.
   */
  shares?: string[];
};

const SECRET_PUT_KEYS = {
  ...CLIENT_KEYS,
  shares: true,
} as const satisfies KeysOf<SecretPutOptions>;

const isNameList = (v: unknown) =>
  Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === "string");

/**
 * Secrets of an environment: KEY=value pairs (mounts use AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION), encrypted at rest
 * and never returned.
 *
 * ```ts
 * await Secret.put("aws-data", { AWS_ACCESS_KEY_ID: "AKIA…", AWS_SECRET_ACCESS_KEY: "…" }, { shares: ["results"] });
 * ```
 */
export class Secret {
  private constructor() {}

  /** Stores or replaces a secret (admin). */
  static async put(
    name: string,
    values: Record<string, string>,
    options?: SecretPutOptions,
  ): Promise<SecretInfo & { env: string }> {
    const { shares, ...client } = checkOptions("Secret.put", options, SECRET_PUT_KEYS);
    checkValue("Secret.put", "shares", shares, isNameList, "a non-empty array of share names");
    checkValue(
      "Secret.put",
      "values",
      values,
      (v) =>
        typeof v === "object" &&
        v !== null &&
        !Array.isArray(v) &&
        !Object.hasOwn(v, "shares") &&
        Object.values(v).every((x) => typeof x === "string"),
      "an object of KEY: string value pairs (the shares go in options.shares)",
    );
    const body = shares === undefined ? values : { ...values, shares };
    return new HttpClient(client).json("PUT", `/v1/secrets/${encodeURIComponent(name)}`, {
      ...jsonBody(body),
    });
  }

  /** The secrets this token may manage (names, shares and update times). */
  static async list(options?: ClientOptions): Promise<SecretInfo[]> {
    const client = checkOptions("Secret.list", options, CLIENT_KEYS);
    const { secrets } = await new HttpClient(client).json<{ secrets: SecretInfo[] }>(
      "GET",
      "/v1/secrets",
    );
    return secrets;
  }

  /** Deletes a secret (mounts that use it stop signing). */
  static async delete(name: string, options?: ClientOptions): Promise<void> {
    const client = checkOptions("Secret.delete", options, CLIENT_KEYS);
    await new HttpClient(client).send("DELETE", `/v1/secrets/${encodeURIComponent(name)}`);
  }
}

export type Permission = "read" | "write" | "admin";

/** What a token may do: environments, shares (or "*") and permissions. */
export interface TokenScope {
  envs: string[];
  shares: string[];
  permissions: Permission[];
}

/** An issued token as listings show it: never the token itself. */
export interface TokenInfo {
  tokenId: string;
  name: string | null;
  scope: TokenScope;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  /** "root", the id of the admin token that minted it, or null (minted before issuers were kept). */
  issuer: string | null;
}

/** A new token: the only time `token` is shown. */
export interface MintedToken extends TokenInfo {
  token: string;
  /** With `s3: true`: the S3 key pair, shown in this answer only (docs/s3.md). */
  s3?: { accessKeyId: string; secretAccessKey: string };
}

/** Options of Token.create(): the client's, and the new token's scope. */
export type TokenCreateOptions = ClientOptions & {
  /** read, write, admin: each one it needs (they do not imply each other). */
  permissions: Permission[];
  /** Shares it may use, or ["*"] (default). */
  shares?: string[];
  /** Environments it may use, or ["*"]; default ["main"]. */
  envs?: string[];
  /** Lifetime in seconds: 60 to one year, default one day (never past the minting token's). */
  expiresIn?: number;
  /** A label shown in listings. */
  name?: string;
  /** Also mint an S3 key pair for the S3 API; the token must then name exactly one environment. */
  s3?: boolean;
};

const TOKEN_CREATE_KEYS = {
  ...CLIENT_KEYS,
  permissions: true,
  shares: true,
  envs: true,
  expiresIn: true,
  name: true,
  s3: true,
} as const satisfies KeysOf<TokenCreateOptions>;

/**
 * Scoped tokens (admin): minted within the minting token's own scope and
 * lifetime; revoking one revokes every token minted under it.
 *
 * ```ts
 * const { token } = await Token.create({ permissions: ["read"], shares: ["results"], name: "ci" });
 * ```
 */
export class Token {
  private constructor() {}

  /** Mints a token; its secret `token` is in this answer only. */
  static async create(options: TokenCreateOptions): Promise<MintedToken> {
    const { permissions, shares, envs, expiresIn, name, s3, ...client } = checkOptions(
      "Token.create",
      options,
      TOKEN_CREATE_KEYS,
    );
    const what = "Token.create";
    // Required: undefined is checked as null, so a missing list is refused too.
    checkValue(
      what,
      "permissions",
      permissions ?? null,
      isNameList,
      'an array of "read", "write", "admin"',
    );
    checkValue(what, "shares", shares, isNameList, "a non-empty array of share names");
    checkValue(what, "envs", envs, isNameList, "a non-empty array of environment names");
    checkValue(
      what,
      "expiresIn",
      expiresIn,
      (v) => typeof v === "number" && Number.isSafeInteger(v),
      "whole seconds",
    );
    checkValue(what, "name", name, (v) => typeof v === "string", "a string");
    checkValue(what, "s3", s3, (v) => typeof v === "boolean", "true or false");
    const body = {
      permissions,
      ...(shares === undefined ? {} : { shares }),
      ...(envs === undefined ? {} : { envs }),
      ...(expiresIn === undefined ? {} : { expiresIn }),
      ...(name === undefined ? {} : { name }),
      ...(s3 === undefined ? {} : { s3 }),
    };
    return new HttpClient(client).json<MintedToken>("POST", "/v1/tokens", jsonBody(body));
  }

  /** Tokens within this token's scope, revoked ones included (pages through cursors). */
  static async list(options?: ClientOptions): Promise<TokenInfo[]> {
    const http = new HttpClient(checkOptions("Token.list", options, CLIENT_KEYS));
    const tokens: TokenInfo[] = [];
    let cursor: string | undefined;
    do {
      const page: { tokens: TokenInfo[]; cursor?: string } = await http.json("GET", "/v1/tokens", {
        query: { cursor },
      });
      tokens.push(...page.tokens);
      cursor = page.cursor === cursor || page.cursor === "" ? undefined : page.cursor;
    } while (cursor !== undefined);
    return tokens;
  }

  /** Revokes a token by id, and every token minted under it, with their presigned URLs. */
  static async revoke(tokenId: string, options?: ClientOptions): Promise<void> {
    const client = checkOptions("Token.revoke", options, CLIENT_KEYS);
    await new HttpClient(client).send("DELETE", `/v1/tokens/${encodeURIComponent(tokenId)}`);
  }
}
