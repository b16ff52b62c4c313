import type { Command } from "commander";
import type { Lease } from "../client/node.js";
import { share, wholeSeconds } from "./nfs.js";
import { UsageError } from "./output.js";

/** Options every lease command takes (see `common` in main.ts). */
interface Common {
  env?: string;
  url?: string;
  token?: string;
  profile?: string;
  quiet?: boolean;
  json?: boolean;
}

const until = (l: Lease) => new Date(l.expiresAt).toISOString();

/** `edgefs lease …`: advisory locks of cooperating writers; `put`/`rm --lease ID` hold them. */
export function registerLease(program: Command, common: (c: Command) => Command): void {
  const lease = program
    .command("lease")
    .description("path leases: advisory locks for cooperating writers (put/rm --lease ID)");

  common(
    lease
      .command("acquire")
      .argument("<share>")
      .argument("<path>", "what to lease (it need not exist yet)")
      .option("--ttl <seconds>", "expires unless renewed (1 to 86400, default 60)")
      .option("--shared", "a shared lease: coexists with other shared leases")
      .option("--depth <depth>", '"infinity" (the path and below, default) or "0" (the path alone)')
      .option("--owner <text>", "who holds it, shown in listings")
      .option("--json", "print JSON")
      .description("take a lease; prints its id on stdout"),
  ).action(
    async (
      name: string,
      path: string,
      o: Common & { ttl?: string; shared?: boolean; depth?: string; owner?: string },
    ) => {
      if (o.depth !== undefined && o.depth !== "0" && o.depth !== "infinity") {
        throw new UsageError(`--depth takes 0 or infinity, not ${o.depth}`);
      }
      const taken = await share(name, o).acquireLease(path, {
        ...(o.ttl === undefined ? {} : { ttlSeconds: wholeSeconds("--ttl", o.ttl) }),
        ...(o.shared ? { exclusive: false } : {}),
        ...(o.depth === undefined ? {} : { depth: o.depth }),
        ...(o.owner === undefined ? {} : { owner: o.owner }),
      });
      if (o.json) return void console.log(JSON.stringify(taken, null, 2));
      console.log(taken.leaseId);
      if (!o.quiet) console.error(`leased ${taken.path} until ${until(taken)}`);
    },
  );

  common(
    lease
      .command("renew")
      .argument("<share>")
      .argument("<id>", "the lease id")
      .option("--ttl <seconds>", "from now (default: the lease's own ttl)")
      .option("--json", "print JSON")
      .description("extend a lease"),
  ).action(async (name: string, id: string, o: Common & { ttl?: string }) => {
    const renewed = await share(name, o).renewLease(
      id,
      o.ttl === undefined ? {} : { ttlSeconds: wholeSeconds("--ttl", o.ttl) },
    );
    if (o.json) return void console.log(JSON.stringify(renewed, null, 2));
    if (!o.quiet) console.error(`renewed ${renewed.path} until ${until(renewed)}`);
  });

  common(
    lease
      .command("release")
      .argument("<share>")
      .argument("<id>", "the lease id")
      .description("release a lease now"),
  ).action(async (name: string, id: string, o: Common) => {
    await share(name, o).releaseLease(id);
  });

  common(
    lease
      .command("list")
      .argument("<share>")
      .argument("[path]", "only leases on, above or below this path")
      .option("--json", "print JSON")
      .description("active leases of a share"),
  ).action(async (name: string, path: string | undefined, o: Common) => {
    const leases = await share(name, o).listLeases(path === undefined ? {} : { path });
    if (o.json) return void console.log(JSON.stringify(leases, null, 2));
    for (const l of leases) {
      const kind = `${l.exclusive ? "exclusive" : "shared"}${l.depth === "0" ? ", depth 0" : ""}`;
      console.log(
        `${l.leaseId}  ${l.path.padEnd(30)}  ${kind.padEnd(20)}  until ${until(l)}${l.owner ? `  ${l.owner}` : ""}`,
      );
    }
  });
}
