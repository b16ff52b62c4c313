import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { registerAdmin } from "./admin.js";
import { saveProfile } from "./config.js";
import { registerNfs } from "./nfs.js";
import { report, UsageError } from "./output.js";
import { registerServe } from "./serve.js";

/**
 * The `edgefs` command line, shaped like `modal nfs`. Connection settings
 * come from flags, then EDGEFS_URL / EDGEFS_TOKEN, then the profile that
 * `edgefs login` saved.
 */
const version = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

const program = new Command("edgefs")
  .version(version)
  .description("edgefs: shared file systems over HTTPS");
program.exitOverride();

/** The options every command that talks to a server takes. */
const common = (c: Command) =>
  c
    .option("-e, --env <environment>", "environment (default: main)")
    .option("--url <url>", "gateway URL (default: $EDGEFS_URL or the login profile)")
    .option("--token <token>", "token (default: $EDGEFS_TOKEN or the login profile)")
    .option("--profile <name>", "login profile to use", undefined)
    .option("-q, --quiet", "no progress bars or summaries");

program
  .command("login")
  .description("save the gateway URL and token in your config directory (mode 0600)")
  .requiredOption("--url <url>", "gateway URL, e.g. https://edgefs.example.workers.dev")
  .requiredOption("--token <token>", "a root or scoped token")
  .option("--profile <name>", "profile name", "default")
  .action((o: { url: string; token: string; profile: string }) => {
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      throw new UsageError(`not a URL: ${o.url}`);
    }
    const file = saveProfile(o.profile, { url: url.toString().replace(/\/$/, ""), token: o.token });
    console.error(`saved profile ${o.profile} in ${file}`);
  });

registerNfs(program, common);
registerServe(program);
registerAdmin(program, common);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed help, the version or its own usage error.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = report(e);
  }
}
