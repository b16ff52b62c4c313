/**
 * Which S3 endpoints a bucket mount may reach. A mount makes the gateway send
 * requests to a URL an admin typed: without a rule that is a way into the
 * gateway's own network (loopback services, cloud metadata at 169.254.169.254,
 * private ranges) or back into the gateway itself. Refused unless the
 * operator lists the host in EDGEFS_MOUNT_ALLOW_HOSTS (for local tests and
 * private MinIO): loopback, unspecified, private, link-local, CGNAT and
 * reserved addresses, local names, and the gateway's own host.
 *
 * Only the URL is checked. Workers cannot resolve DNS, so a public name that
 * points at a private address is not caught here (on Cloudflare, Workers'
 * fetch cannot reach private networks anyway).
 */

export const ALLOW_VAR = "EDGEFS_MOUNT_ALLOW_HOSTS";

/** One allow-list entry: a host, and a port or null for any port. */
export interface AllowedHost {
  host: string;
  port: string | null;
}

/**
 * EDGEFS_MOUNT_ALLOW_HOSTS: comma-separated `host` or `host:port` entries
 * (IPv6 in brackets: `[::1]:9000`). Hosts are normalised as URLs normalise
 * them, so `0x7f.1` and `127.0.0.1` are one entry. Unparsable entries are
 * dropped: they could never match a URL's host.
 */
export function parseAllowHosts(value: string | undefined): AllowedHost[] {
  const out: AllowedHost[] = [];
  for (const raw of (value ?? "").split(",")) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    // A port follows the last ":" unless that ":" is inside an unbracketed IPv6 address.
    const m = /^(.*):(\d{1,5})$/.exec(entry);
    const hasPort = m !== null && (!m[1]?.includes(":") || m[1].startsWith("["));
    const host = hasPort && m ? (m[1] as string) : entry;
    try {
      const url = new URL(
        `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}/`,
      );
      out.push({ host: bare(url.hostname), port: hasPort && m ? String(Number(m[2])) : null });
    } catch {}
  }
  return out;
}

/** A hostname without brackets or a trailing dot: "[::1]" → "::1", "localhost." → "localhost". */
function bare(hostname: string): string {
  const h = hostname.toLowerCase().replace(/\.$/, "");
  return h.startsWith("[") ? h.slice(1, -1) : h;
}

function portOf(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

function ipv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

/** Why an IPv4 address is not public, or null. */
function ipv4Refusal([a, b]: number[]): string | null {
  if (a === undefined || b === undefined) return null;
  if (a === 127) return "a loopback address";
  if (a === 0) return "an unspecified address";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168))
    return "a private address";
  if (a === 169 && b === 254) return "a link-local address (cloud metadata lives there)";
  if (a === 100 && b >= 64 && b <= 127) return "a carrier-grade NAT address";
  if ((a === 198 && (b === 18 || b === 19)) || a >= 224) return "a reserved address";
  return null;
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6(host: string): number[] | null {
  if (!host.includes(":")) return null;
  let text = host;
  // A trailing dotted IPv4 (URL parsing rewrites it to hex, but be safe).
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = ipv4(v4[2] as string);
    if (!p) return null;
    text = `${v4[1]}${((p[0] as number) * 256 + (p[1] as number)).toString(16)}:${((p[2] as number) * 256 + (p[3] as number)).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const all = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return all.map((g) => Number.parseInt(g, 16));
}

function ipv6Refusal(g: number[]): string | null {
  const [g0 = 0, , , , , g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const embedded = () => ipv4Refusal([g6 >> 8, g6 & 255, g7 >> 8, g7 & 255]);
  if (zeroUpTo(7) && g7 === 1) return "a loopback address";
  if (zeroUpTo(8)) return "an unspecified address";
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64).
  if (zeroUpTo(5) && (g5 === 0xffff || g5 === 0)) return embedded();
  if (g0 === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embedded();
  if ((g0 & 0xfe00) === 0xfc00) return "a private (unique local) address";
  if ((g0 & 0xffc0) === 0xfe80 || (g0 & 0xffc0) === 0xfec0) return "a link-local address";
  if ((g0 & 0xff00) === 0xff00) return "a multicast address";
  return null;
}

/** Why a name (not an address) is local, or null. */
function nameRefusal(host: string): string | null {
  if (host === "localhost" || host.endsWith(".localhost")) return "a loopback name";
  if (host.endsWith(".local") || host.endsWith(".internal") || host === "internal")
    return "a local network name";
  if (!host.includes(".")) return "a local network name (no dot)";
  return null;
}

/** Why `host` (bare, lower-case) is not a public address or name, or null. */
function hostRefusal(host: string): string | null {
  const v4 = ipv4(host);
  if (v4) return ipv4Refusal(v4);
  const v6 = ipv6(host);
  if (v6) return ipv6Refusal(v6);
  return nameRefusal(host);
}

/**
 * Why a mount may not use `endpoint`, or null when it may. `gatewayHost` is
 * the Host of the request being served (a mount onto the gateway itself
 * would loop); `virtualHost` is the bucket name when requests go to
 * bucket.endpoint-host. Credentials in the URL are refused outright: they
 * would be stored and shown in clear with the mount.
 */
export function endpointRefusal(
  endpoint: string,
  options: { allow: AllowedHost[]; gatewayHost: string; virtualHost?: string },
): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "endpoint is not a URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "endpoint must be http(s)";
  if (url.username || url.password)
    return "endpoint must not carry user:password@ (store keys in a secret)";
  const host = bare(url.hostname);
  const port = portOf(url);
  if (options.allow.some((a) => a.host === host && (a.port === null || a.port === port)))
    return null;
  const hosts = options.virtualHost ? [host, `${options.virtualHost}.${host}`] : [host];
  const gateway = gatewayHostname(options.gatewayHost);
  for (const h of hosts) {
    const why = h === gateway ? "this gateway's own host" : hostRefusal(h);
    if (why) {
      const entry = url.port ? `${url.hostname}:${url.port}` : url.hostname;
      const named = h === host ? url.hostname : `${h} (the virtual-hosted bucket)`;
      return `endpoint host ${named} is ${why}; an operator can allow it with ${ALLOW_VAR}=${entry}`;
    }
  }
  return null;
}

/** The bare hostname of a Host header value ("edgefs.example:8787" → "edgefs.example"). */
function gatewayHostname(hostHeader: string): string {
  try {
    return bare(new URL(`http://${hostHeader}/`).hostname);
  } catch {
    return "";
  }
}
