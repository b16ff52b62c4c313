#!/usr/bin/env node
// The edgefs command (package "bin"): runs the CLI built into dist/ — by
// `npm install` in a checkout (the "prepare" script) or `npm run build`.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "edgefs: the CLI is not built (no dist/cli/main.js); in the repository, run `npm run build`\n",
  );
  process.exit(2);
}
await import(main.href);
