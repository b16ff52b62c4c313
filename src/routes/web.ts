import { Hono } from "hono";
import type { AppEnv } from "../http/env";
import { APP_CSS, APP_JS, APP_VERSION } from "../web/generated/bundle";

/**
 * The web file browser (docs/web.md): `GET /` from a browser is its page,
 * and its script and stylesheet come from this Worker under content-hashed
 * names, so they can be cached forever and a deploy never mixes versions.
 * Everything the page does afterwards goes through the same /v1 API as
 * curl, with the token the person typed.
 *
 * The page runs under a strict Content-Security-Policy: scripts and styles
 * only from this origin (no inline code, so an injected string can never
 * run), connections only to this origin, and nothing may frame it. Blob
 * URLs are allowed for image and PDF previews, which the app makes from
 * bytes it fetched itself with a type it chose; media plays from presigned
 * URLs of this origin. File bytes are never rendered as a page of this
 * origin: their responses carry `Content-Security-Policy: sandbox` and
 * active types come as attachments (src/http/file-response.ts).
 */
export const web = new Hono<AppEnv>();

export const APP_SCRIPT_PATH = `/_app/app-${APP_VERSION}.js`;
export const APP_STYLE_PATH = `/_app/app-${APP_VERSION}.css`;

export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "media-src 'self'",
  "frame-src blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  // Every form is handled by the script: nothing is ever submitted, so a
  // token typed into the sign-in form can never end up in a URL.
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": APP_CSP,
  "cache-control": "no-cache",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>edgefs</title>
<link rel="stylesheet" href="${APP_STYLE_PATH}">
<script type="module" src="${APP_SCRIPT_PATH}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The edgefs file browser needs JavaScript. The HTTP API is at /v1 (docs/api.md).</noscript>
</body>
</html>
`;

/** A browser asks for a page; curl, SDKs and WebDAV clients do not. */
const wantsPage = (accept: string | undefined) => (accept ?? "").includes("text/html");

web.get("/", async (c, next) => {
  if (!wantsPage(c.req.header("accept"))) return next();
  return c.body(PAGE, 200, PAGE_HEADERS);
});

const ASSETS: Record<string, { body: string; type: string }> = {
  [APP_SCRIPT_PATH]: { body: APP_JS, type: "text/javascript; charset=utf-8" },
  [APP_STYLE_PATH]: { body: APP_CSS, type: "text/css; charset=utf-8" },
};

web.get("/_app/:file", async (c, next) => {
  const asset = ASSETS[new URL(c.req.url).pathname];
  // An old page asking for a previous deploy's asset gets the 404 of any
  // unknown route; reloading the page fetches the current names.
  if (!asset) return next();
  return c.body(asset.body, 200, {
    "content-type": asset.type,
    "cache-control": "public, max-age=31536000, immutable",
    "x-content-type-options": "nosniff",
  });
});
