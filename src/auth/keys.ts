import { FsError } from "../core/errors";

/**
 * The secrets of edgefs, from Worker secrets. Each has a `_PREVIOUS`
 * companion that is still accepted (never used to sign), so a key or the
 * root token can be rotated without a moment where clients fail.
 */
export interface Keys {
  rootTokens: string[];
  /** The key that signs; the previous one only verifies. */
  signing?: string;
  verifying: string[];
}

const present = (...values: (string | undefined)[]) =>
  values.filter((v): v is string => typeof v === "string" && v.length > 0);

export function keysFrom(env: Env): Keys {
  const keys: Keys = {
    rootTokens: present(env.EDGEFS_ROOT_TOKEN, env.EDGEFS_ROOT_TOKEN_PREVIOUS),
    verifying: present(env.EDGEFS_SIGNING_KEY, env.EDGEFS_SIGNING_KEY_PREVIOUS),
  };
  if (env.EDGEFS_SIGNING_KEY) keys.signing = env.EDGEFS_SIGNING_KEY;
  return keys;
}

export function signingKey(keys: Keys): string {
  if (!keys.signing) {
    throw new FsError(
      "ENOTSUP",
      "scoped tokens and presigned URLs need the EDGEFS_SIGNING_KEY secret",
    );
  }
  return keys.signing;
}
