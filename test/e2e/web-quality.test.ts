// The web file browser's quality in Chromium (issue 20): an accessibility
// audit (axe-core, WCAG 2.1 A/AA and best practices) of every screen, a
// phone-sized screen, and a 100,000-entry folder that stays fast: a page
// of the listing at a time, only the rows in view drawn.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  entry,
  expectNoProblems,
  launchChromium,
  openFolder,
  openTab,
  rowNames,
  signIn,
} from "./browser.js";
import { Edgefs, uniqueName } from "./helpers.js";

const server = Edgefs.shared();
const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's findings on the page as it is now. It is evaluated through the
 * DevTools protocol, which the page's CSP does not govern (an injected
 * <script> would be refused, as it should be).
 */
async function audit(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run: (o: unknown) => Promise<{ violations: unknown[] }> } }
    ).axe;
    const result = await axe.run({
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
      },
    });
    return result.violations;
  })) as Violation[];
  return violations.map(
    (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
  );
}

describe("accessibility", () => {
  it("every screen passes axe-core's WCAG 2.1 AA and best-practice rules, light and dark", async () => {
    const share = uniqueName("web-a11y");
    await server.createShare(share);
    for (const [path, body] of [
      ["/readme.md", "# hello"],
      ["/data/table.csv", "a,b\n1,2"],
    ]) {
      const res = await server.fetch(server.route(share, "files", path as string), {
        method: "PUT",
        body,
      });
      expect(res.status).toBe(201);
    }
    for (const scheme of ["light", "dark"] as const) {
      const t = await openTab(browser);
      await t.page.emulateMedia({ colorScheme: scheme });
      await t.page.goto(`${server.url}/`);
      await t.page.getByLabel("Access token").waitFor();
      expect(await audit(t.page), `${scheme}: sign-in`).toEqual([]);
      await signIn(t, server);
      await t.page.getByRole("link", { name: share }).waitFor();
      expect(await audit(t.page), `${scheme}: shares`).toEqual([]);
      await openFolder(t, server, share);
      await expect.poll(() => rowNames(t.page)).toContain("readme.md");
      await entry(t.page, "readme.md").click();
      await t.page.locator(".preview pre").waitFor();
      await t.page.getByRole("button", { name: "Show versions" }).click();
      await t.page.locator(".share-panel summary").click();
      expect(await audit(t.page), `${scheme}: folder with details`).toEqual([]);
      await t.page.getByRole("button", { name: "New folder" }).click();
      await t.page.getByRole("dialog").waitFor();
      expect(await audit(t.page), `${scheme}: dialog`).toEqual([]);
      await t.page.keyboard.press("Escape");
      await t.page.getByLabel("Upload files").setInputFiles({
        name: `up-${scheme}.txt`,
        mimeType: "text/plain",
        buffer: Buffer.from("x"),
      });
      await t.page.locator(".notice").first().waitFor();
      expect(await audit(t.page), `${scheme}: notices`).toEqual([]);
      expectNoProblems(t);
      await t.context.close();
    }
  });
});

describe("on a phone", () => {
  it("fits a 390 px screen: nothing scrolls sideways, and details open over the list", async () => {
    const share = uniqueName("web-phone");
    await server.createShare(share);
    const long = `/a-rather-long-folder-name-for-a-small-screen/${"x".repeat(80)}.txt`;
    expect(
      (await server.fetch(server.route(share, "files", long), { method: "PUT", body: "small" }))
        .status,
    ).toBe(201);
    const t = await openTab(browser, { viewport: { width: 390, height: 844 } });
    await signIn(t, server);
    await openFolder(t, server, share, "/a-rather-long-folder-name-for-a-small-screen");
    const fits = () =>
      t.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await fits()).toBe(true);
    await t.page.getByText("Upload files", { exact: true }).waitFor();
    expect(await t.page.getByText("Upload files", { exact: true }).isVisible()).toBe(true);
    await entry(t.page, `${"x".repeat(80)}.txt`).click();
    const details = t.page.getByRole("complementary");
    await details.waitFor();
    const box = await details.boundingBox();
    expect(box?.width).toBeGreaterThanOrEqual(380);
    expect(await fits()).toBe(true);
    await details.getByRole("button", { name: "Close details" }).click();
    expect(await details.count()).toBe(0);
    expect(await audit(t.page)).toEqual([]);
    expectNoProblems(t);
    await t.context.close();
  });
});

describe("a 100,000-entry folder", () => {
  it("shows its first rows after one page, draws only what is in view, and scrolls to the last entry by its cursors", async () => {
    const share = uniqueName("web-big-dir");
    await server.createShare(share);
    const seeded = await server.json(
      `/_dev/seed/${share}?dir=/many&count=100000&prefix=f&content=x`,
      {
        method: "POST",
      },
    );
    expect(seeded.status).toBe(200);
    const t = await openTab(browser);
    await signIn(t, server);
    const lists: string[] = [];
    t.page.on("request", (r) => {
      if (r.url().includes(`/v1/shares/${share}/list/`)) lists.push(r.url());
    });
    await openFolder(t, server, share, "/many");
    await expect
      .poll(() => t.page.locator(".count").textContent())
      .toMatch(/loaded, more as you scroll/);
    expect(lists.length).toBeLessThanOrEqual(2);
    const drawn = () => t.page.locator("tbody .row").count();
    expect(await drawn()).toBeLessThan(80);

    // To the bottom: each page is asked for with the cursor of the one before.
    const body = t.page.locator(".file-scroll");
    for (let i = 0; i < 400; i++) {
      const done = await t.page.locator(".count").textContent();
      if (done === "100,000 entries") break;
      await body.evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      await t.page.waitForTimeout(25);
    }
    await expect
      .poll(() => t.page.locator(".count").textContent(), { timeout: 60_000 })
      .toBe("100,000 entries");
    expect(await drawn()).toBeLessThan(80);
    expect(lists.every((u, i) => i === 0 || new URL(u).searchParams.has("cursor"))).toBe(true);
    // The last entry in the listing's byte order, drawn at the bottom.
    await body.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await expect.poll(async () => (await rowNames(t.page)).slice(-1)[0]).toBe("f00099999");
    expect(await t.page.locator("table").getAttribute("aria-rowcount")).toBe("100001");

    // Sorting by size needs every entry: streamed in one request, then sorted.
    lists.length = 0;
    await t.page.getByRole("button", { name: /^Modified/ }).click();
    await expect
      .poll(() => t.page.locator(".count").textContent(), { timeout: 60_000 })
      .toBe("100,000 entries");
    expect(lists.length).toBeLessThanOrEqual(3);
    expect(await drawn()).toBeLessThan(80);
    expectNoProblems(t);
    await t.context.close();
  });
});
