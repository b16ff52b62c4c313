import type { Command } from "commander";
import { encodePath, HttpClient, Secret } from "../client/node.js";
import { loggedIn } from "./config.js";
import { UsageError } from "./output.js";

/** Options every admin command takes (see `common` in main.ts). */
export interface Common {
  env?: string;
  url?: string;
  token?: string;
  profile?: string;
  json?: boolean;
}

/** The logged-in client an admin command talks to the server with. */
export function client(o: Common): HttpClient {
  const { url, token } = loggedIn(o);
  return new HttpClient({
    ...(url ? { url } : {}),
    token,
    ...(o.env ? { environment: o.env } : {}),
  });
}

/** `--shares a,b --shares c`: names, comma-separated and repeatable. */
const collectNames = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== ""),
];

const collect = (value: string, previous: string[] = []) => [...previous, value];
const mountRoute = (share: string, path: string) =>
  `/v1/shares/${encodeURIComponent(share)}/mounts/${encodePath(path)}`;
const print = (o: Common, value: unknown, human: () => string) =>
  console.log(o.json ? JSON.stringify(value, null, 2) : human());

/** `secret`, `mount` and `token`: the admin side of the server, one command per route. */
export function registerAdmin(program: Command, common: (c: Command) => Command): void {
  const secret = program
    .command("secret")
    .description("credentials for bucket mounts (encrypted at rest)");
  common(
    secret
      .command("put")
      .argument("<name>")
      .argument(
        "[pairs...]",
        "KEY=VALUE pairs (values land in your shell history: prefer --from-env)",
      )
      .option("--from-env <key>", "take KEY's value from the environment (repeatable)", collect)
      .option(
        "--shares <names>",
        'the shares whose mounts may use it, comma-separated or repeated, or "*" (default: your token\'s shares)',
        collectNames,
      )
      .description("store or replace a secret"),
  ).action(
    async (
      name: string,
      pairs: string[],
      o: Common & { fromEnv?: string[]; shares?: string[] },
    ) => {
      const values: Record<string, string> = {};
      for (const pair of pairs) {
        const at = pair.indexOf("=");
        if (at < 1) throw new UsageError(`expected KEY=VALUE, got ${pair}`);
        values[pair.slice(0, at)] = pair.slice(at + 1);
      }
      for (const key of o.fromEnv ?? []) {
        const value = process.env[key];
        if (!value) throw new UsageError(`${key} is not set in the environment`);
        values[key] = value;
      }
      if (Object.keys(values).length === 0)
        throw new UsageError("give KEY=VALUE pairs or --from-env KEY");
      if (o.shares !== undefined && o.shares.length === 0) {
        throw new UsageError('--shares takes share names, or "*"');
      }
      const { url, token } = loggedIn(o);
      const stored = await Secret.put(name, values, {
        ...(url ? { url } : {}),
        token,
        ...(o.env ? { environment: o.env } : {}),
        ...(o.shares ? { shares: o.shares } : {}),
      });
      console.error(`stored secret ${name} for ${stored.shares.join(", ")}`);
    },
  );
  common(
    secret
      .command("list")
      .option("--json", "print JSON")
      .description("secret names and update times"),
  ).action(async (o: Common) => {
    const { secrets } = await client(o).json<{ secrets: { name: string; updatedAt: number }[] }>(
      "GET",
      "/v1/secrets",
    );
    print(o, secrets, () =>
      secrets.map((s) => `${s.name.padEnd(40)}  ${new Date(s.updatedAt).toISOString()}`).join("\n"),
    );
  });
  common(secret.command("delete").argument("<name>").description("delete a secret")).action(
    async (name: string, o: Common) => {
      await client(o).request("DELETE", `/v1/secrets/${encodeURIComponent(name)}`);
    },
  );

  const mount = program
    .command("mount")
    .description("S3-compatible buckets mounted at a path of a share");
  common(
    mount
      .command("add")
      .argument("<share>")
      .argument("<path>", "where the bucket appears in the share")
      .requiredOption("--bucket <bucket>", "bucket name")
      .option("--endpoint <url>", "S3-compatible endpoint (default: AWS S3 of the region)")
      .option("--region <region>", "region (default: the secret's AWS_REGION, else us-east-1)")
      .option("--prefix <prefix>", "only keys below this prefix (ends with /)")
      .option(
        "--secret <name>",
        "secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (omit for public buckets)",
      )
      .option("--read-only", "refuse every write")
      .option("--requester-pays", "send x-amz-request-payer")
      .option("--path-style", "path-style URLs (MinIO and most non-AWS endpoints)")
      .description("mount a bucket"),
  ).action(
    async (
      share: string,
      path: string,
      o: Common & {
        bucket: string;
        endpoint?: string;
        region?: string;
        prefix?: string;
        secret?: string;
        readOnly?: boolean;
        requesterPays?: boolean;
        pathStyle?: boolean;
      },
    ) => {
      const body = {
        bucket: o.bucket,
        ...(o.endpoint ? { endpoint: o.endpoint } : {}),
        ...(o.region ? { region: o.region } : {}),
        ...(o.prefix !== undefined ? { keyPrefix: o.prefix } : {}),
        ...(o.secret ? { secret: o.secret } : {}),
        readOnly: o.readOnly ?? false,
        requesterPays: o.requesterPays ?? false,
        forcePathStyle: o.pathStyle ?? false,
      };
      const m = await client(o).json<{ path: string }>("PUT", mountRoute(share, path), {
        body: JSON.stringify(body),
      });
      console.error(`mounted ${o.bucket} at ${m.path}`);
    },
  );
  common(
    mount
      .command("list")
      .argument("<share>")
      .option("--json", "print JSON")
      .description("the share's mounts"),
  ).action(async (share: string, o: Common) => {
    const { mounts } = await client(o).json<{
      mounts: { path: string; bucket: string; keyPrefix: string; readOnly: boolean }[];
    }>("GET", `/v1/shares/${encodeURIComponent(share)}/mounts`);
    print(o, mounts, () =>
      mounts
        .map(
          (m) =>
            `${m.path.padEnd(30)}  ${m.bucket}/${m.keyPrefix}${m.readOnly ? "  (read-only)" : ""}`,
        )
        .join("\n"),
    );
  });
  common(
    mount.command("remove").argument("<share>").argument("<path>").description("unmount"),
  ).action(async (share: string, path: string, o: Common) => {
    await client(o).request("DELETE", mountRoute(share, path));
  });

  const token = program.command("token").description("scoped tokens");
  common(
    token
      .command("create")
      .requiredOption("-p, --permission <permission>", "read, write or admin (repeatable)", collect)
      .option("--share <name>", 'a share it may use, or "*" (repeatable; default "*")', collect)
      .option(
        "--scope-env <name>",
        'an environment it may use, or "*" (repeatable; default main)',
        collect,
      )
      .option("--expires-in <seconds>", "lifetime in seconds (default one day)")
      .option("--name <label>", "a label shown in listings")
      .option("--s3", "also mint an S3 key pair (for one --scope-env); printed once, on stdout")
      .option("--json", "print JSON")
      .description("mint a token; prints it once, on stdout"),
  ).action(
    async (
      o: Common & {
        permission: string[];
        share?: string[];
        scopeEnv?: string[];
        expiresIn?: string;
        name?: string;
        s3?: boolean;
      },
    ) => {
      const expiresIn = o.expiresIn === undefined ? undefined : Number(o.expiresIn);
      if (expiresIn !== undefined && !Number.isInteger(expiresIn))
        throw new UsageError("--expires-in takes whole seconds");
      const body = {
        permissions: o.permission,
        ...(o.share ? { shares: o.share } : {}),
        ...(o.scopeEnv ? { envs: o.scopeEnv } : {}),
        ...(expiresIn !== undefined ? { expiresIn } : {}),
        ...(o.name ? { name: o.name } : {}),
        ...(o.s3 ? { s3: true } : {}),
      };
      const minted = await client(o).json<{
        token: string;
        tokenId: string;
        expiresAt: number;
        s3?: { accessKeyId: string; secretAccessKey: string };
      }>("POST", "/v1/tokens", {
        body: JSON.stringify(body),
      });
      if (o.json) return void console.log(JSON.stringify(minted, null, 2));
      console.log(minted.token);
      if (minted.s3) {
        console.log(`AWS_ACCESS_KEY_ID=${minted.s3.accessKeyId}`);
        console.log(`AWS_SECRET_ACCESS_KEY=${minted.s3.secretAccessKey}`);
      }
      console.error(`token ${minted.tokenId}, expires ${new Date(minted.expiresAt).toISOString()}`);
    },
  );
  common(
    token
      .command("list")
      .option("--json", "print JSON")
      .description("issued tokens (never the tokens themselves)"),
  ).action(async (o: Common) => {
    const { tokens } = await client(o).json<{
      tokens: {
        tokenId: string;
        name: string | null;
        scope: { permissions: string[]; shares: string[] };
        expiresAt: number;
        revokedAt: number | null;
      }[];
    }>("GET", "/v1/tokens");
    print(o, tokens, () =>
      tokens
        .map(
          (t) =>
            `${t.tokenId}  ${(t.name ?? "").padEnd(20)}  ${t.scope.permissions.join(",").padEnd(16)}  ${t.scope.shares.join(",")}  ${
              t.revokedAt ? "revoked" : `until ${new Date(t.expiresAt).toISOString()}`
            }`,
        )
        .join("\n"),
    );
  });
  common(token.command("revoke").argument("<id>").description("revoke a token by id")).action(
    async (id: string, o: Common) => {
      await client(o).request("DELETE", `/v1/tokens/${encodeURIComponent(id)}`);
    },
  );
}
