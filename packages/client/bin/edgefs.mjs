#!/usr/bin/env node
// The edgefs command of @edgefs/client: the CLI compiled into dist/ by build.mjs.
import "../dist/cli/main.js";
