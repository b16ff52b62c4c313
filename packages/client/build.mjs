#!/usr/bin/env node
// Builds @edgefs/client into ./dist from the repository's sources (src/client,
// src/cli and the parts of src/core they import), with ./tsconfig.json. One
// file is swapped: src/cli/serve.ts (the embedded gateway, which needs
// Miniflare and the Worker bundle) is compiled from ./src/serve.ts instead,
// so the package's only dependencies are what the SDK and CLI use. Runs on
// `npm pack` / `npm publish` (the "prepare" script), with the repository's
// TypeScript.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const swapped = new Map([[join(repo, "src", "cli", "serve.ts"), join(here, "src", "serve.ts")]]);

const config = ts.getParsedCommandLineOfConfigFile(join(here, "tsconfig.json"), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => fail([d]),
});
if (!config) throw new Error("build: cannot read tsconfig.json");
if (config.errors.length > 0) fail(config.errors);

rmSync(join(here, "dist"), { recursive: true, force: true });

const base = ts.createCompilerHost(config.options);
/** @type {import("typescript").CompilerHost} */
const host = {
  ...base,
  readFile: (file) => base.readFile(swapped.get(resolve(file)) ?? file),
  getSourceFile: (file, language, onError, create) => {
    const source = swapped.get(resolve(file));
    if (!source) return base.getSourceFile(file, language, onError, create);
    return ts.createSourceFile(file, readFileSync(source, "utf8"), language, true);
  },
};

const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });
const diagnostics = ts.getPreEmitDiagnostics(program);
if (diagnostics.length > 0) fail(diagnostics);
const emitted = program.emit();
if (emitted.emitSkipped || emitted.diagnostics.length > 0)
  fail(emitted.diagnostics, "build: emit failed");

for (const file of ["dist/client/index.js", "dist/client/node.js", "dist/cli/main.js"]) {
  if (!existsSync(join(here, file))) fail([], `build: ${file} was not written`);
}
const serve = readFileSync(join(here, "dist", "cli", "serve.js"), "utf8");
if (serve.includes("miniflare"))
  fail([], "build: dist/cli/serve.js is the gateway's, not the client's");
console.error(`built @edgefs/client into ${join(here, "dist")}`);

/**
 * @param {readonly import("typescript").Diagnostic[]} list
 * @param {string} [message]
 * @returns {never}
 */
function fail(list, message) {
  if (list.length > 0) {
    console.error(
      ts.formatDiagnosticsWithColorAndContext(list, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => here,
        getNewLine: () => "\n",
      }),
    );
  }
  if (message) console.error(message);
  process.exit(1);
}
