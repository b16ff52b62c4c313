// Secrets are not in wrangler.jsonc, so `wrangler types` cannot see them.
// Production: `wrangler secret put EDGEFS_ROOT_TOKEN`; locally scripts/start.mjs sets it.
interface __BaseEnv_Env {
  EDGEFS_ROOT_TOKEN: string;
}
