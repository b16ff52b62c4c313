import type { Command } from "commander";
import type { HookInfo } from "../core/changes.js";
import { type Common, client } from "./admin.js";
import { UsageError } from "./output.js";

const hooksRoute = (share: string) => `/v1/shares/${encodeURIComponent(share)}/hooks`;

/** `hook add|list|remove`: a share's webhooks (admin; docs/api.md "Webhooks"). */
export function registerHooks(program: Command, common: (c: Command) => Command): void {
  const hook = program.command("hook").description("webhooks: a share's changes POSTed to a URL");
  common(
    hook
      .command("add")
      .argument("<share>")
      .argument("<url>", "the receiver (https, on a public host)")
      .option("--path <glob>", "only changes at or below this path, or matching this glob")
      .option("--secret-env <name>", "read the signing secret from this environment variable")
      .option(
        "--secret <secret>",
        "the signing secret, 16-256 characters (visible in `ps`: prefer --secret-env)",
      )
      .option("--json", "print JSON")
      .description("deliver the share's changes from now on"),
  ).action(
    async (
      share: string,
      url: string,
      o: Common & { path?: string; secret?: string; secretEnv?: string },
    ) => {
      const secret = o.secretEnv !== undefined ? process.env[o.secretEnv] : o.secret;
      if (!secret) throw new UsageError("give the signing secret: --secret-env NAME (or --secret)");
      const created = await client(o).json<HookInfo>("POST", hooksRoute(share), {
        body: JSON.stringify({ url, secret, ...(o.path ? { path: o.path } : {}) }),
      });
      if (o.json) console.log(JSON.stringify(created, null, 2));
      else console.log(created.id);
    },
  );
  common(
    hook
      .command("list")
      .argument("<share>")
      .option("--json", "print JSON")
      .description("the share's hooks"),
  ).action(async (share: string, o: Common) => {
    const { hooks } = await client(o).json<{ hooks: HookInfo[] }>("GET", hooksRoute(share));
    if (o.json) {
      console.log(JSON.stringify(hooks, null, 2));
      return;
    }
    for (const h of hooks) {
      const state =
        h.failures > 0
          ? `failing ×${h.failures}: ${h.lastError ?? ""}`
          : `delivered to v${h.delivered}`;
      console.log(`${h.id}  ${h.url}${h.path ? `  ${h.path}` : ""}  ${state}`);
    }
  });
  common(
    hook.command("remove").argument("<share>").argument("<id>").description("delete a hook"),
  ).action(async (share: string, id: string, o: Common) => {
    await client(o).request("DELETE", `${hooksRoute(share)}/${encodeURIComponent(id)}`);
  });
}
