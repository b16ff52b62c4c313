#!/usr/bin/env node
// The edgefs command (package "bin"): runs the CLI built into dist/ by `npm run build`.
import "../dist/cli/main.js";
