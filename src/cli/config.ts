import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { UsageError } from "./output.js";

/** Where `edgefs login` keeps profiles: $XDG_CONFIG_HOME/edgefs/config.json (mode 0600). */
export function configPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "edgefs", "config.json");
}

interface Profile {
  url: string;
  token: string;
}
interface ConfigFile {
  profiles: Record<string, Profile>;
}

function readConfig(): ConfigFile {
  try {
    const parsed = JSON.parse(readFileSync(configPath(), "utf8")) as Partial<ConfigFile>;
    return { profiles: parsed.profiles ?? {} };
  } catch {
    return { profiles: {} };
  }
}

export function saveProfile(name: string, profile: Profile): string {
  const file = configPath();
  const config = readConfig();
  config.profiles[name] = profile;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // also when the file existed with looser permissions
  return file;
}

/** Connection settings: flags, then EDGEFS_URL / EDGEFS_TOKEN, then the profile. */
export function connection(flags: { url?: string; token?: string; profile?: string }): {
  url?: string;
  token?: string;
} {
  const profile = readConfig().profiles[flags.profile || process.env.EDGEFS_PROFILE || "default"];
  return {
    // An empty variable counts as unset, as shells make it easy to leave one so.
    url: flags.url || process.env.EDGEFS_URL || profile?.url,
    token: flags.token || process.env.EDGEFS_TOKEN || profile?.token,
  };
}

/** What a user without any token is told: how to get one in. */
export const NOT_LOGGED_IN =
  "not logged in: run `edgefs login --url … --token …` or set EDGEFS_TOKEN";

/**
 * Connection settings of a command that talks to a server: refused before
 * any request when no token is given by flag, environment or profile (the
 * server would only answer 401, or nothing at all when no URL is set either).
 */
export function loggedIn(flags: { url?: string; token?: string; profile?: string }): {
  url?: string;
  token: string;
} {
  const { url, token } = connection(flags);
  if (!token) {
    const profile = flags.profile || process.env.EDGEFS_PROFILE;
    throw new UsageError(
      profile && profile !== "default"
        ? `${NOT_LOGGED_IN} (no profile ${profile} in ${configPath()})`
        : NOT_LOGGED_IN,
    );
  }
  return url ? { url, token } : { token };
}
