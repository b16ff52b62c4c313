// Secrets are not in wrangler.jsonc, so `wrangler types` cannot see them.
// Production: `wrangler secret put EDGEFS_ROOT_TOKEN`; locally scripts/start.mjs sets it.
interface __BaseEnv_Env {
  EDGEFS_ROOT_TOKEN: string;
}

interface __BaseEnv_Env {
  /** Still accepted while rotating to a new root token. */
  EDGEFS_ROOT_TOKEN_PREVIOUS?: string;
  /** HMAC key for scoped tokens (HS256) and presigned URLs. */
  EDGEFS_SIGNING_KEY?: string;
  /** Still verifies while rotating to a new signing key. */
  EDGEFS_SIGNING_KEY_PREVIOUS?: string;
  /** Encrypts stored secrets (bucket credentials) at rest. */
  EDGEFS_SECRETS_KEY?: string;
}
