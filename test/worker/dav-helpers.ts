import { SaxesParser } from "saxes";
import { expect } from "vitest";
import { api, TOKEN } from "./helpers";

/**
 * What the WebDAV worker tests share: requests as OS clients send them
 * (Basic, token as password), a namespace-aware reading of multistatus and
 * lockdiscovery bodies, and LOCK/PROPPATCH/PROPFIND shorthands.
 */

export const ORIGIN = "http://edgefs.test";
export const basic = (password: string, user = "anyone") => `Basic ${btoa(`${user}:${password}`)}`;

/** A WebDAV request, by default authenticated the way OS clients do (Basic, token as password). */
export function dav(
  method: string,
  share: string,
  path: string,
  init: { body?: BodyInit | null; headers?: Record<string, string>; auth?: string | null } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  const auth = init.auth === undefined ? basic(TOKEN) : init.auth;
  if (auth !== null) headers.authorization = auth;
  return api(method, `/dav/main/${share}${path}`, { token: null, headers, body: init.body });
}
export const href = (share: string, path: string) => `/dav/main/${share}${path}`;

export interface El {
  ns: string;
  local: string;
  attrs: Record<string, string>;
  children: (El | string)[];
}

export function parseXml(text: string): El {
  const parser = new SaxesParser({ xmlns: true });
  const stack: El[] = [];
  let root: El | undefined;
  parser.on("opentag", (tag) => {
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix !== "xmlns" && a.name !== "xmlns") attrs[`{${a.uri}}${a.local}`] = a.value;
    }
    const el: El = { ns: tag.uri ?? "", local: tag.local ?? tag.name, attrs, children: [] };
    stack.at(-1)?.children.push(el);
    stack.push(el);
  });
  parser.on("closetag", () => {
    const done = stack.pop();
    if (stack.length === 0) root = done;
  });
  parser.on("text", (t) => stack.at(-1)?.children.push(t));
  parser.write(text).close();
  if (!root) throw new Error("no root element");
  return root;
}

export const key = (el: El) => `{${el.ns}}${el.local}`;
export const elements = (el: El) => el.children.filter((c): c is El => typeof c !== "string");
export const child = (el: El, k: string) => elements(el).find((c) => key(c) === k);
export const textOf = (el: El | undefined): string =>
  el === undefined ? "" : el.children.map((c) => (typeof c === "string" ? c : textOf(c))).join("");

export interface DavResource {
  href: string;
  /** Clark name → the property element and the status of its propstat. */
  props: Map<string, { status: number; el: El }>;
}

/** A 207 body as one entry per DAV:response. */
export async function multistatus(res: Response): Promise<DavResource[]> {
  const body = await res.text();
  expect(res.status, body).toBe(207);
  expect(res.headers.get("content-type")).toMatch(/xml/);
  const root = parseXml(body);
  expect(key(root)).toBe("{DAV:}multistatus");
  return elements(root)
    .filter((r) => key(r) === "{DAV:}response")
    .map((r) => {
      const props = new Map<string, { status: number; el: El }>();
      for (const ps of elements(r).filter((e) => key(e) === "{DAV:}propstat")) {
        const status = Number(/HTTP\/1\.1 (\d{3})/.exec(textOf(child(ps, "{DAV:}status")))?.[1]);
        for (const p of elements(child(ps, "{DAV:}prop") as El))
          props.set(key(p), { status, el: p });
      }
      return { href: textOf(child(r, "{DAV:}href")), props };
    });
}

/** A property's value (text) when its propstat is 200, else undefined. */
export const propText = (r: DavResource | undefined, k: string) => {
  const p = r?.props.get(k);
  return p?.status === 200 ? textOf(p.el) : undefined;
};

/** Asserts an error as WebDAV clients see it: the status and an XML DAV:error body. */
export async function expectDavError(res: Response, status: number): Promise<string> {
  const body = await res.text();
  expect({ status: res.status, body }).toMatchObject({ status });
  expect(res.headers.get("content-type")).toMatch(/xml/);
  expect(body).toContain("<D:error");
  expect(key(parseXml(body))).toBe("{DAV:}error");
  return body;
}

export const PROPFIND_ALL =
  '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';
export const propfindOf = (...props: string[]) =>
  `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop>${props.join("")}</D:prop></D:propfind>`;

export function propfind(
  share: string,
  path: string,
  depth: string,
  body: string | null = PROPFIND_ALL,
) {
  return dav("PROPFIND", share, path, {
    body,
    headers: { depth, "content-type": "application/xml" },
  });
}

export const proppatchBody = (ops: string) =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x">${ops}</D:propertyupdate>`;
export const setProps = (props: string) => `<D:set><D:prop>${props}</D:prop></D:set>`;
export const removeProps = (props: string) => `<D:remove><D:prop>${props}</D:prop></D:remove>`;

export function proppatch(
  share: string,
  path: string,
  ops: string,
  headers: Record<string, string> = {},
) {
  return dav("PROPPATCH", share, path, { body: proppatchBody(ops), headers });
}

/** The 200 value of {urn:x}name on a path (Depth 0 PROPFIND), or undefined. */
export async function deadProp(
  share: string,
  path: string,
  name: string,
): Promise<string | undefined> {
  const [r] = await multistatus(await propfind(share, path, "0", propfindOf(`<X:${name}/>`)));
  return propText(r, `{urn:x}${name}`);
}

export async function nativeEtag(share: string, path: string): Promise<string> {
  const res = await api("HEAD", `/v1/shares/${share}/files${path}`);
  expect(res.status).toBe(200);
  return res.headers.get("etag") as string;
}

export const LOCKINFO = (
  scope: "exclusive" | "shared",
  owner = "<D:href>mailto:ann@example.com</D:href>",
) =>
  `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;

export interface Locked {
  status: number;
  token: string;
  activelock: El;
}

export async function lock(
  share: string,
  path: string,
  opts: { scope?: "exclusive" | "shared"; depth?: string; timeout?: string; owner?: string } = {},
): Promise<Locked> {
  const headers: Record<string, string> = { "content-type": "application/xml" };
  if (opts.depth !== undefined) headers.depth = opts.depth;
  if (opts.timeout !== undefined) headers.timeout = opts.timeout;
  const res = await dav("LOCK", share, path, {
    body: LOCKINFO(opts.scope ?? "exclusive", opts.owner),
    headers,
  });
  const body = await res.text();
  expect([200, 201], body).toContain(res.status);
  const token = /^<(.*)>$/.exec(res.headers.get("lock-token") ?? "")?.[1] ?? "";
  expect(token).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return { status: res.status, token, activelock: activeLockOf(body, token) };
}

export function activeLockOf(body: string, token: string): El {
  const root = parseXml(body);
  expect(key(root)).toBe("{DAV:}prop");
  const discovery = child(root, "{DAV:}lockdiscovery") as El;
  const found = elements(discovery).find(
    (a) => textOf(child(child(a, "{DAV:}locktoken") as El, "{DAV:}href")).trim() === token,
  );
  expect(found, body).toBeDefined();
  return found as El;
}

export const secondsOf = (activelock: El) =>
  Number(/^Second-(\d+)$/.exec(textOf(child(activelock, "{DAV:}timeout")).trim())?.[1]);
export const leaseIdOfToken = (token: string) => token.replace(/^urn:uuid:/, "").replace(/-/g, "");
export const ifToken = (token: string) => ({ if: `(<${token}>)` });
