// `edgefs serve` in @edgefs/client. build.mjs compiles this file in place of
// src/cli/serve.ts (same exports, type-checked against src/cli/main.ts), so
// the client package carries neither Miniflare nor workerd nor the Worker
// bundle. The gateway itself is the repository's package (`npm start`, or
// `npx edgefs serve` there), or a deploy to Cloudflare.
import type { Command } from "commander";

export const SERVE_MISSING =
  "`edgefs serve` runs the gateway, which @edgefs/client (the SDK and CLI) does not include. " +
  "Run it from a clone of the edgefs repository: `npm install && npm start` " +
  "(or `npm run build && npx edgefs serve` there), or deploy it to Cloudflare with " +
  "`npx wrangler deploy`; then point this CLI at it with EDGEFS_URL or `edgefs login`.";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the gateway locally: not in @edgefs/client, see the edgefs repository")
    .option("--port <n>", "port to listen on")
    .option("--data <dir>", "data directory")
    .option("--host <address>", "address to listen on")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new Error(SERVE_MISSING);
    });
}
