// Where the person is, kept in the URL's fragment so reload, back and
// bookmarks work: #/<env>/<share>/<path…>?snapshot=<name>. The token is
// never part of it.

export interface Route {
  env: string;
  share: string | null;
  path: string;
  snapshot: string | null;
}

export function parseRoute(hash: string): Route {
  const [rawPath = "", rawQuery = ""] = hash.replace(/^#/, "").split("?");
  const parts = rawPath
    .split("/")
    .filter((p) => p !== "")
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const q = new URLSearchParams(rawQuery);
  const [env = "main", share = null, ...rest] = parts;
  return { env, share, path: `/${rest.join("/")}`, snapshot: q.get("snapshot") };
}

export function formatRoute(r: Route): string {
  const segs = [r.env, ...(r.share ? [r.share, ...r.path.split("/").filter((p) => p)] : [])];
  const q = r.snapshot ? `?snapshot=${encodeURIComponent(r.snapshot)}` : "";
  return `#/${segs.map((s) => encodeURIComponent(s)).join("/")}${q}`;
}

export function go(r: Route): void {
  const next = formatRoute(r);
  if (location.hash !== next) location.hash = next;
}
