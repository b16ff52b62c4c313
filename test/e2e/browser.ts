// Debian's Chromium driven by playwright-core (which uses the system
// browser: its own downloads do not run here), for the web browser's
// end-to-end tests. Each page records what would show a broken page to a
// person: script errors and Content-Security-Policy refusals.
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import type { Edgefs } from "./helpers.js";

export const CHROMIUM = process.env.EDGEFS_CHROMIUM ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
    ],
  });
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  /** Script errors and CSP refusals seen so far. */
  problems: string[];
}

export async function openTab(
  browser: Browser,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<Tab> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    const text = m.text();
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
  });
  return { context, page, problems };
}

/** Signs in through the form, as a person does, and waits for the share list. */
export async function signIn(tab: Tab, server: Edgefs, token = server.token): Promise<void> {
  await tab.page.goto(`${server.url}/`);
  await tab.page.getByLabel("Access token").fill(token);
  await tab.page.getByRole("button", { name: "Sign in" }).click();
  await tab.page.getByRole("heading", { name: /^Shares in / }).waitFor();
}

/** Opens a folder of a share by its address (the app keeps where it is in the fragment). */
export async function openFolder(
  tab: Tab,
  server: Edgefs,
  share: string,
  path = "/",
): Promise<void> {
  const segs = path
    .split("/")
    .filter((s) => s)
    .map(encodeURIComponent);
  await tab.page.goto(`${server.url}/#/main/${share}${segs.length ? `/${segs.join("/")}` : ""}`);
  await tab.page.getByRole("table", { name: "Files" }).waitFor();
  await expect.poll(() => tab.page.locator(".count").textContent()).not.toMatch(/^$/);
}

/** The names in the file table, in order (as drawn: the visible window). */
export async function rowNames(page: Page): Promise<string[]> {
  return page.locator("tbody .row .name").allTextContents();
}

/** The button that opens an entry (its accessible name says the name and kind). */
export const entry = (page: Page, name: string) =>
  page.getByRole("button", {
    name: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")},`),
  });

export function expectNoProblems(tab: Tab): void {
  expect(tab.problems, tab.problems.join("\n")).toEqual([]);
}
