import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import {
  AuthenticationError,
  EdgefsError,
  HttpClient,
  NetworkError,
  PermissionError,
} from "../client/node.js";
import { registerAdmin } from "./admin.js";
import { saveProfile } from "./config.js";
import { registerHooks } from "./hooks.js";
import { registerLease } from "./lease.js";
import { registerNfs } from "./nfs.js";
import { networkReason, report, UsageError } from "./output.js";
import { registerServe } from "./serve.js";
import { registerVersions } from "./versions.js";
import { registerVolume } from "./volume.js";

/**
 * The `edgefs` command line, shaped like `modal nfs` and `modal volume`. Connection settings
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
  .option("--no-verify", "save without asking the server whether it takes the token")
  .action(async (o: { url: string; token: string; profile: string; verify: boolean }) => {
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      throw new UsageError(`not a URL: ${o.url}`);
    }
    const base = url.toString().replace(/\/$/, "");
    if (o.verify) await verifyLogin(base, o.token);
    const file = saveProfile(o.profile, { url: base, token: o.token });
    console.error(`saved profile ${o.profile} in ${file}`);
  });

/** Login failed: one line, exit 1, and nothing saved. */
class LoginError extends Error {}

/**
 * Asks the server whether it takes the token before it is saved: any
 * answer but 401 means the token is good (a scoped token without read on
 * "main" gets 403, and is still a token of this gateway).
 */
async function verifyLogin(url: string, token: string): Promise<void> {
  const http = new HttpClient({ url, token, retries: 0 });
  try {
    await http.send("GET", "/v1/shares", { query: { limit: 1 } });
  } catch (e) {
    if (e instanceof PermissionError) return;
    const unsaved = "nothing saved";
    if (e instanceof AuthenticationError) {
      throw new LoginError(`${url} refused the token (${e.message}); ${unsaved}`);
    }
    if (e instanceof NetworkError) {
      throw new LoginError(
        `cannot reach ${url}${networkReason(e)}; ${unsaved} (--no-verify saves it anyway)`,
      );
    }
    const what = e instanceof EdgefsError ? `${e.code}: ${e.message}` : String(e);
    throw new LoginError(`${url} does not answer as an edgefs gateway (${what}); ${unsaved}`);
  }
}

registerNfs(program, common);
registerVolume(program, common);
registerVersions(program, common);
registerLease(program, common);
registerHooks(program, common);
registerServe(program);
registerAdmin(program, common);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof LoginError) {
    process.stderr.write(`edgefs: login: ${e.message}\n`);
    process.exitCode = 1;
  } else if (e instanceof CommanderError) {
    // Commander already printed help, the version or its own usage error.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = report(e);
  }
}
