// The web file browser in a real browser (issue 20, docs/web.md): Debian's
// Chromium, driven by playwright-core, against the shared `wrangler dev`.
// Each test does what a person does — types, clicks, picks files, drops
// them — and checks what they would see, and what the gateway then holds.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  entry,
  expectNoProblems,
  launchChromium,
  openFolder,
  openTab,
  rowNames,
  signIn,
  type Tab,
} from "./browser.js";
import { Edgefs, MiB, uniqueName } from "./helpers.js";
import { pdf, png, wav } from "./web-fixtures.js";

const server = Edgefs.shared();
let browser: Browser;
const tabs: Tab[] = [];
const scratch = mkdtempSync(join(tmpdir(), "edgefs-web-"));

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function tab(viewport?: { width: number; height: number }): Promise<Tab> {
  const t = await openTab(browser, viewport ? { viewport } : {});
  tabs.push(t);
  return t;
}

async function put(share: string, path: string, body: string | Uint8Array): Promise<void> {
  const res = await server.fetch(server.route(share, "files", path), {
    method: "PUT",
    body: body as string | Uint8Array<ArrayBuffer>,
  });
  expect(res.status, await res.text()).toBeLessThan(300);
}

async function text(share: string, path: string): Promise<{ status: number; body: string }> {
  const res = await server.fetch(server.route(share, "files", path));
  return { status: res.status, body: await res.text() };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function mint(scope: Record<string, unknown>): Promise<string> {
  return (await mintWithId(scope)).token;
}

async function mintWithId(
  scope: Record<string, unknown>,
): Promise<{ token: string; tokenId: string }> {
  const { status, body } = await server.json<{ token: string; tokenId: string }>("/v1/tokens", {
    method: "POST",
    body: JSON.stringify({ expiresIn: 3600, ...scope }),
  });
  expect(status).toBe(201);
  return body;
}

describe("signing in", () => {
  it("a wrong token is refused in words; the right one is kept for this tab only", async () => {
    const share = uniqueName("web-in");
    await server.createShare(share);
    const t = await tab();
    await t.page.goto(`${server.url}/`);
    await t.page.getByLabel("Access token").fill("efs_not-a-token");
    await t.page.getByRole("button", { name: "Sign in" }).click();
    await expect
      .poll(() => t.page.getByRole("alert").textContent())
      .toMatch(/^The token was not accepted: /);

    await signIn(t, server);
    await t.page.getByRole("link", { name: share }).waitFor();
    // Never in the address, never in storage that outlives the tab.
    expect(t.page.url()).not.toContain(server.token);
    const stored = await t.page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
    }));
    expect(stored.local).not.toContain(server.token);
    expect(stored.session).toContain(server.token);
    // A reload keeps the tab signed in; another tab (a new context) is not.
    await t.page.reload();
    await t.page.getByRole("link", { name: share }).waitFor();
    const other = await tab();
    await other.page.goto(`${server.url}/`);
    await other.page.getByLabel("Access token").waitFor();
    // Signing out forgets it.
    await t.page.getByRole("button", { name: "Sign out" }).click();
    await t.page.getByLabel("Access token").waitFor();
    expect(await t.page.evaluate(() => JSON.stringify({ ...sessionStorage }))).not.toContain(
      server.token,
    );
    expectNoProblems(t);
  });

  it("a scoped token sees only its shares, and a read-only one is offered no changes", async () => {
    const mine = uniqueName("web-mine");
    const theirs = uniqueName("web-theirs");
    await server.createShare(mine);
    await server.createShare(theirs);
    await put(mine, "/report.txt", "numbers");
    const token = await mint({ envs: ["main"], shares: [mine], permissions: ["read"] });
    const t = await tab();
    await signIn(t, server, token);
    await t.page.getByRole("link", { name: mine }).waitFor();
    expect(await t.page.getByRole("link", { name: theirs }).count()).toBe(0);
    await t.page.getByRole("link", { name: mine }).click();
    await entry(t.page, "report.txt").click();
    await t.page.getByRole("heading", { name: "report.txt" }).waitFor();
    await expect.poll(() => t.page.locator(".preview pre").textContent()).toBe("numbers");
    for (const action of ["Upload files", "Upload folder", "New folder"]) {
      expect(await t.page.getByText(action, { exact: true }).count()).toBe(0);
    }
    for (const action of ["Delete", "Rename or move"]) {
      expect(await t.page.getByRole("button", { name: action }).count()).toBe(0);
    }
    // Typing the other share's address shows the gateway's refusal, in words.
    await openFolder(t, server, theirs).catch(() => undefined);
    await expect
      .poll(() => t.page.getByRole("alert").first().textContent())
      .toMatch(/^Not allowed with this token: /);
    expectNoProblems(t);
  });

  it("a token revoked while the page is open sends it back to the sign-in, saying why", async () => {
    const share = uniqueName("web-revoked");
    await server.createShare(share);
    const minted = await mintWithId({ envs: ["main"], shares: [share], permissions: ["read"] });
    const t = await tab();
    await signIn(t, server, minted.token);
    await openFolder(t, server, share);
    // Everything the folder asks for (mounts, leases, snapshots, usage) is in:
    // the refusal comes from the click below.
    await t.page.waitForLoadState("networkidle");
    const revoked = await server.fetch(`/v1/tokens/${minted.tokenId}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);
    await t.page.getByRole("button", { name: "Refresh" }).click();
    await t.page.getByLabel("Access token").waitFor();
    await expect
      .poll(() => t.page.getByRole("alert").textContent())
      .toMatch(/^The token was not accepted: .* Sign in again\.$/);
    expect(await t.page.evaluate(() => JSON.stringify({ ...sessionStorage }))).not.toContain(
      minted.token,
    );
    expectNoProblems(t);
  });
});

describe("browsing", () => {
  it("breadcrumbs, sorting, a glob filter, bucket and lease badges, and the keyboard", async () => {
    const share = uniqueName("web-browse");
    await server.createShare(share);
    await put(share, "/alpha.txt", "a".repeat(10));
    await put(share, "/beta.csv", "b".repeat(3000));
    await put(share, "/gamma.bin", "c".repeat(200));
    await put(share, "/locked.txt", "mine");
    await put(share, "/sub/deep.csv", "d");
    await put(share, "/sub/inner/deeper.csv", "e");
    const mount = await server.fetch(`/v1/shares/${share}/mounts/bucket`, {
      method: "PUT",
      body: JSON.stringify({
        bucket: "team-data",
        endpoint: "https://s3.example.com",
        region: "auto",
      }),
    });
    expect(mount.status, await mount.text()).toBe(201);
    const lease = await server.fetch(`/v1/shares/${share}/leases`, {
      method: "POST",
      body: JSON.stringify({ path: "/locked.txt", owner: "ci-job", ttlSeconds: 600 }),
    });
    expect(lease.status).toBe(201);

    const t = await tab();
    await signIn(t, server);
    await openFolder(t, server, share);
    await expect
      .poll(() => rowNames(t.page))
      .toEqual(["alpha.txt", "beta.csv", "bucket/", "gamma.bin", "locked.txt", "sub/"]);
    expect(await t.page.locator(".count").textContent()).toBe("6 entries");
    const row = (name: string) => t.page.locator("tbody .row", { has: entry(t.page, name) });
    expect(await row("bucket").locator(".badge").textContent()).toBe("bucket");
    expect(await row("locked.txt").locator(".badge").textContent()).toBe("leased by ci-job");

    // Size: biggest first; again: smallest first.
    await t.page.getByRole("button", { name: /^Size/ }).click();
    await expect.poll(async () => (await rowNames(t.page))[0]).toBe("beta.csv");
    expect(await t.page.getByRole("columnheader", { name: /Size/ }).getAttribute("aria-sort")).toBe(
      "descending",
    );
    await t.page.getByRole("button", { name: /^Size/ }).click();
    await expect.poll(async () => (await rowNames(t.page)).slice(-1)[0]).toBe("beta.csv");
    await t.page.getByRole("button", { name: /^Name/ }).click();

    // A glob with Modal's rules: ** crosses folders, * stays in one.
    const filter = t.page.getByRole("searchbox", { name: "Filter" });
    await filter.fill("**/*.csv");
    await filter.press("Enter");
    await expect
      .poll(() => rowNames(t.page))
      .toEqual(["beta.csv", "sub/deep.csv", "sub/inner/deeper.csv"]);
    await filter.fill("*.csv");
    await filter.press("Enter");
    await expect.poll(() => rowNames(t.page)).toEqual(["beta.csv"]);
    // Plain text filters the names as it is typed.
    await filter.fill("ta");
    await expect.poll(() => rowNames(t.page)).toEqual(["beta.csv"]);
    await filter.fill("");
    await expect.poll(async () => (await rowNames(t.page)).length).toBe(6);

    // The keyboard: arrows move, End goes last, Enter opens a folder.
    await entry(t.page, "alpha.txt").focus();
    await t.page.keyboard.press("ArrowDown");
    const focused = () => t.page.evaluate(() => document.activeElement?.textContent);
    await expect.poll(focused).toBe("beta.csv");
    await t.page.keyboard.press("End");
    await expect.poll(focused).toBe("sub/");
    await t.page.keyboard.press("Enter");
    await expect.poll(() => rowNames(t.page)).toEqual(["deep.csv", "inner/"]);
    const crumbs = t.page.getByRole("navigation", { name: "Breadcrumbs" });
    expect(await crumbs.locator("[aria-current=page]").textContent()).toBe("sub");
    await entry(t.page, "inner").click();
    await expect.poll(() => rowNames(t.page)).toEqual(["deeper.csv"]);
    await crumbs.getByRole("link", { name: share }).click();
    await expect.poll(async () => (await rowNames(t.page)).length).toBe(6);
    // Back goes where the person was.
    await t.page.goBack();
    await expect.poll(() => rowNames(t.page)).toEqual(["deeper.csv"]);
    expectNoProblems(t);
  });
});

/** The upload panel's item for a path. */
const uploadItem = (t: Tab, path: string) => t.page.locator(`.uploads li[data-path="${path}"]`);

/** What this browser keeps about unfinished uploads (never the token). */
async function storedUploads(t: Tab): Promise<{ path: string; uploadId?: string }[]> {
  return t.page.evaluate(() => JSON.parse(localStorage.getItem("edgefs.uploads") ?? "[]"));
}

/** Slows this tab's uploads, so a test can act while one runs. */
async function throttleUploads(t: Tab, bytesPerSecond: number): Promise<void> {
  const cdp = await t.context.newCDPSession(t.page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

describe("uploading", () => {
  it("files by the picker, a folder with its structure, and files dropped on the list", async () => {
    const share = uniqueName("web-up");
    await server.createShare(share);
    const t = await tab();
    await signIn(t, server);
    await openFolder(t, server, share);

    await t.page.getByLabel("Upload files").setInputFiles([
      { name: "one.txt", mimeType: "text/plain", buffer: Buffer.from("first file") },
      { name: "two words.md", mimeType: "text/markdown", buffer: Buffer.from("# second") },
    ]);
    await expect.poll(() => rowNames(t.page)).toEqual(["one.txt", "two words.md"]);
    expect(await text(share, "/one.txt")).toEqual({ status: 200, body: "first file" });
    expect((await text(share, "/two words.md")).body).toBe("# second");

    const folder = join(scratch, "photos");
    mkdirSync(join(folder, "2024"), { recursive: true });
    writeFileSync(join(folder, "cover.txt"), "cover");
    writeFileSync(join(folder, "2024", "a.txt"), "a from 2024");
    await t.page.getByLabel("Upload folder").setInputFiles(folder);
    await expect.poll(() => rowNames(t.page)).toContain("photos/");
    await expect
      .poll(async () => (await text(share, "/photos/2024/a.txt")).body)
      .toBe("a from 2024");
    expect((await text(share, "/photos/cover.txt")).body).toBe("cover");

    // A drop: the files a DataTransfer carries, onto the list.
    await t.page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" }));
      const target = document.querySelector(".browser") as Element;
      target.dispatchEvent(
        new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }),
      );
      target.dispatchEvent(
        new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }),
      );
    });
    await expect.poll(() => rowNames(t.page)).toContain("dropped.txt");
    expect((await text(share, "/dropped.txt")).body).toBe("dropped bytes");
    expectNoProblems(t);
  });

  it("a large file in parts: paused, the page reloaded, the same file picked again, resumed to the last byte", async () => {
    const share = uniqueName("web-big");
    await server.createShare(share);
    const big = randomBytes(40 * MiB);
    const bigPath = join(scratch, "big.bin");
    writeFileSync(bigPath, big);
    mkdirSync(join(scratch, "other"), { recursive: true });
    writeFileSync(join(scratch, "other", "big.bin"), randomBytes(MiB));

    const t = await tab();
    await signIn(t, server);
    await openFolder(t, server, share);
    await throttleUploads(t, 8 * MiB);
    const parts: string[] = [];
    t.page.on("request", (r) => {
      const m = /\/parts\/(\d+)/.exec(r.url());
      if (m && r.method() === "PUT") parts.push(m[1] as string);
    });
    await t.page.getByLabel("Upload files").setInputFiles(bigPath);
    const item = uploadItem(t, "/big.bin");
    // Pause once the gateway has a part or more (and not all of them).
    await expect
      .poll(async () => (await storedUploads(t))[0]?.uploadId, { timeout: 30_000 })
      .toBeTruthy();
    const [record] = await storedUploads(t);
    expect(record?.path).toBe("/big.bin");
    const statusNow = () =>
      server.json<{ received: number; parts: { partNumber: number }[] }>(
        `/v1/shares/${share}/uploads/${record?.uploadId}`,
      );
    await expect
      .poll(async () => (await statusNow()).body.received, { timeout: 60_000 })
      .toBeGreaterThan(0);
    await item.getByRole("button", { name: /^Pause/ }).click();
    await expect.poll(() => item.locator(".upload-state").textContent()).toMatch(/^paused/);
    const status = await statusNow();
    // Paused, the panel shows the parts the gateway holds whole (a part that
    // arrived as the pause cut its answer off may be missing from it).
    const shown = Number(await item.locator("progress").getAttribute("value"));
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThanOrEqual(Math.floor((status.body.received / big.length) * 100));
    expect(status.status).toBe(200);
    expect(status.body.received).toBeGreaterThan(0);
    expect(status.body.received).toBeLessThan(big.length);
    const sentBefore = new Set(parts);
    // Nothing is visible before it completes.
    expect((await text(share, "/big.bin")).status).toBe(404);

    await t.page.reload();
    const again = uploadItem(t, "/big.bin");
    await expect
      .poll(() => again.locator(".upload-state").textContent())
      .toMatch(/choose the file again/);
    // Another file of the same name is refused, in words.
    await again
      .getByLabel("Choose big.bin to resume")
      .setInputFiles(join(scratch, "other", "big.bin"));
    await expect
      .poll(() => again.getByRole("alert").textContent())
      .toMatch(/^That is not the same file/);
    parts.length = 0;
    await again.getByLabel("Choose big.bin to resume").setInputFiles(bigPath);
    await expect
      .poll(async () => (await text(share, "/big.bin")).status, { timeout: 90_000 })
      .toBe(200);
    const got = new Uint8Array(
      await (await server.fetch(server.route(share, "files", "/big.bin"))).arrayBuffer(),
    );
    expect(sha(got)).toBe(sha(big));
    // Parts the gateway already had were not sent again.
    const had = status.body.parts.map((p) => String(p.partNumber));
    expect(had.length).toBeGreaterThan(0);
    expect(parts.filter((n) => had.includes(n))).toEqual([]);
    expect(sentBefore.size).toBeGreaterThanOrEqual(had.length);
    expect(await storedUploads(t)).toEqual([]);
    expectNoProblems(t);
  });

  it("cancel stops a running upload and releases what it stored", async () => {
    const share = uniqueName("web-cancel");
    await server.createShare(share);
    const path = join(scratch, "cancel.bin");
    writeFileSync(path, randomBytes(30 * MiB));
    const t = await tab();
    await signIn(t, server);
    await openFolder(t, server, share);
    await throttleUploads(t, 4 * MiB);
    await t.page.getByLabel("Upload files").setInputFiles(path);
    const item = uploadItem(t, "/cancel.bin");
    await expect
      .poll(async () => (await storedUploads(t))[0]?.uploadId, { timeout: 30_000 })
      .toBeTruthy();
    const [record] = await storedUploads(t);
    await item.getByRole("button", { name: /^Cancel/ }).click();
    await expect.poll(() => item.count()).toBe(0);
    await expect
      .poll(
        async () => (await server.fetch(`/v1/shares/${share}/uploads/${record?.uploadId}`)).status,
      )
      .toBe(404);
    expect((await text(share, "/cancel.bin")).status).toBe(404);
    expect(await storedUploads(t)).toEqual([]);
    expectNoProblems(t);
  });
});

describe("changing files", () => {
  it("new folder, rename, delete with confirmation, a link with an expiry, a quota", async () => {
    const share = uniqueName("web-change");
    await server.createShare(share);
    await put(share, "/draft.txt", "draft text");
    await put(share, "/old.txt", "to delete");
    const t = await tab();
    await signIn(t, server);
    await openFolder(t, server, share);
    const dialog = t.page.getByRole("dialog");

    await t.page.getByRole("button", { name: "New folder" }).click();
    await dialog.getByLabel("Folder name").fill("reports");
    await dialog.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => rowNames(t.page)).toContain("reports/");
    expect((await server.stat(share, "/reports")).body.type).toBe("directory");
    // Again: refused in words.
    await t.page.getByRole("button", { name: "New folder" }).click();
    await dialog.getByLabel("Folder name").fill("reports");
    await dialog.getByRole("button", { name: "Create" }).click();
    await expect
      .poll(() => t.page.locator(".notice.error").textContent())
      .toMatch(/^Already exists/);

    // Rename into the new folder (F2 on the row opens the same dialog).
    await entry(t.page, "draft.txt").focus();
    await t.page.keyboard.press("F2");
    await dialog.getByLabel("New path").fill("/reports/final.txt");
    await dialog.getByRole("button", { name: "Move" }).click();
    await expect.poll(() => rowNames(t.page)).not.toContain("draft.txt");
    expect((await text(share, "/reports/final.txt")).body).toBe("draft text");
    expect((await text(share, "/draft.txt")).status).toBe(404);

    // Delete asks first; Cancel keeps the file.
    await entry(t.page, "old.txt").click();
    await t.page.getByRole("complementary").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => dialog.getByRole("heading").textContent()).toBe("Delete old.txt?");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect((await text(share, "/old.txt")).status).toBe(200);
    await t.page.getByRole("complementary").getByRole("button", { name: "Delete" }).click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => rowNames(t.page)).toEqual(["reports/"]);
    expect((await text(share, "/old.txt")).status).toBe(404);

    // A link for a day: works with no token, and says so in its expiry.
    await entry(t.page, "reports").click();
    await entry(t.page, "final.txt").click();
    const details = t.page.getByRole("complementary");
    await details.getByLabel("Expires after").selectOption({ label: "1 day" });
    await details.getByRole("button", { name: "Copy link" }).click();
    const link = details.getByLabel(/^Link/);
    await link.waitFor();
    const url = new URL(await link.inputValue());
    const expires = Number(url.searchParams.get("X-Edgefs-Expires"));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("draft text");
    expect(Math.abs(expires * 1000 - (Date.now() + 86_400_000))).toBeLessThan(120_000);

    // A quota, set by an admin, and what a write past it says.
    await t.page.locator(".share-panel summary").click();
    await t.page.getByLabel("Max files").fill("1");
    await t.page.getByRole("button", { name: "Save quota" }).click();
    await expect
      .poll(
        async () =>
          (await server.json<{ quota: { files?: number } }>(`/v1/shares/${share}`)).body.quota,
      )
      .toEqual({ files: 1 });
    await t.page.getByLabel("Upload files").setInputFiles({
      name: "more.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("one too many"),
    });
    await expect
      .poll(() => uploadItem(t, "/reports/more.txt").getByRole("alert").textContent())
      .toMatch(/^The share is full: /);
    expectNoProblems(t);
  });
});

describe("previews", () => {
  it("images, text with a size cap, PDF, audio by range requests, video; HTML and SVG never run", async () => {
    const share = uniqueName("web-look");
    await server.createShare(share);
    await put(share, "/pic.png", png(64, 32));
    const log = `${"a log line\n".repeat(40_000)}`;
    await put(share, "/big.log", log);
    await put(share, "/doc.pdf", pdf("Hello from edgefs"));
    await put(share, "/tone.wav", wav(10));
    await put(
      share,
      "/page.html",
      "<h1>hi</h1><script>window.parent.__ran = true; document.title = 'ran'</script>",
    );
    await put(
      share,
      "/logo.svg",
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>parent.__ran=true</script><rect width="10" height="10"/></svg>',
    );
    const t = await tab();
    await signIn(t, server);
    await openFolder(t, server, share);
    const preview = t.page.locator(".preview");

    await entry(t.page, "pic.png").click();
    const img = preview.getByRole("img", { name: "Preview of pic.png" });
    await img.waitFor();
    await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(64);

    await entry(t.page, "big.log").click();
    await expect
      .poll(() => preview.locator("figcaption").textContent())
      .toMatch(/^The first 256 KB of /);
    const shownText = (await preview.locator("pre").textContent()) ?? "";
    expect(shownText.length).toBe(256 * 1024);
    expect(log.startsWith(shownText)).toBe(true);

    await entry(t.page, "doc.pdf").click();
    const frame = preview.locator("iframe");
    await frame.waitFor();
    const src = (await frame.getAttribute("src")) ?? "";
    expect(src).toMatch(/^blob:/);
    // Chromium's viewer shows it: the frame's document is the PDF.
    const pdfFrame = await (await frame.elementHandle())?.contentFrame();
    await expect.poll(() => pdfFrame?.evaluate(() => document.contentType)).toBe("application/pdf");

    const ranges: (string | null)[] = [];
    t.page.on("request", (r) => {
      if (r.url().includes("/tone.wav")) ranges.push(r.headers().range ?? null);
    });
    await entry(t.page, "tone.wav").click();
    const audio = preview.locator("audio");
    await audio.waitFor();
    await expect
      .poll(() =>
        audio.evaluate((a: HTMLAudioElement) =>
          Number.isFinite(a.duration) ? Math.round(a.duration) : 0,
        ),
      )
      .toBe(10);
    // The player streams it from a presigned URL, by ranges; it seeks without a full download.
    await audio.evaluate((a: HTMLAudioElement) => {
      a.currentTime = 8;
    });
    await expect.poll(() => ranges.filter((r) => r !== null).length).toBeGreaterThan(0);

    // A video, recorded here by Chromium itself (a canvas through MediaRecorder): it plays.
    const clip = await t.page.evaluate(async () => {
      const canvas = document.createElement("canvas");
      canvas.width = 64;
      canvas.height = 48;
      const g = canvas.getContext("2d") as CanvasRenderingContext2D;
      const recorder = new MediaRecorder(canvas.captureStream(10), { mimeType: "video/webm" });
      const chunks: Blob[] = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      recorder.start(100);
      for (let i = 0; i < 15; i++) {
        g.fillStyle = `hsl(${i * 24} 80% 50%)`;
        g.fillRect(0, 0, 64, 48);
        await new Promise((r) => setTimeout(r, 60));
      }
      const stopped = new Promise((r) => {
        recorder.onstop = r;
      });
      recorder.stop();
      await stopped;
      return [...new Uint8Array(await new Blob(chunks).arrayBuffer())];
    });
    await put(share, "/clip.webm", Uint8Array.from(clip));
    await t.page.getByRole("button", { name: "Refresh" }).click();
    await entry(t.page, "clip.webm").click();
    const video = preview.locator("video");
    await video.waitFor();
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBe(64);

    // HTML shows as its source; nothing in it runs here.
    await entry(t.page, "page.html").click();
    await expect.poll(() => preview.locator("pre").textContent()).toContain("<script>");
    await entry(t.page, "logo.svg").click();
    await preview.getByRole("img", { name: "Preview of logo.svg" }).waitFor();
    await t.page.waitForTimeout(300);
    expect(
      await t.page.evaluate(() => (window as unknown as { __ran?: boolean }).__ran),
    ).toBeUndefined();
    expect(await t.page.title()).toBe("edgefs");
    // Opened directly (a download link), an HTML file is an attachment in a sandbox.
    const signed = await server.json<{ url: string }>(`/v1/shares/${share}/presign`, {
      method: "POST",
      body: JSON.stringify({ path: "/page.html", method: "GET" }),
    });
    const direct = await fetch(signed.body.url);
    expect(direct.headers.get("content-disposition")).toMatch(/^attachment/);
    expect(direct.headers.get("content-security-policy")).toBe("sandbox");
    expectNoProblems(t);
  });
});

describe("versions", () => {
  it("a file's history restores an older version; a snapshot is browsed read-only and restored from", async () => {
    const share = uniqueName("web-versions");
    await server.createShare(share);
    await put(share, "/notes.txt", "first draft");
    await put(share, "/gone.txt", "keep me");
    const snap = await server.fetch(`/v1/shares/${share}/snapshots`, {
      method: "POST",
      body: JSON.stringify({ name: "monday" }),
    });
    expect(snap.status).toBe(201);
    await put(share, "/notes.txt", "second draft");
    expect(
      (await server.fetch(server.route(share, "files", "/gone.txt"), { method: "DELETE" })).status,
    ).toBe(204);

    const t = await tab();
    await signIn(t, server);
    await openFolder(t, server, share);
    await expect.poll(() => rowNames(t.page)).toEqual(["notes.txt"]);
    await entry(t.page, "notes.txt").click();
    const details = t.page.getByRole("complementary");
    await details.getByRole("button", { name: "Show versions" }).click();
    const versions = details.locator(".versions li");
    await expect.poll(() => versions.count()).toBe(2);
    expect(await versions.first().textContent()).toContain("(current)");
    await details.getByRole("button", { name: /^Restore version / }).click();
    await expect.poll(async () => (await text(share, "/notes.txt")).body).toBe("first draft");

    // The snapshot, read-only: the deleted file is there, and no change is offered.
    await t.page
      .getByLabel("Viewing", { exact: true })
      .selectOption({ label: "Snapshot monday (v3)" });
    await expect
      .poll(() => t.page.getByRole("note").textContent())
      .toMatch(/^Read-only: the snapshot monday/);
    await expect.poll(() => rowNames(t.page)).toEqual(["gone.txt", "notes.txt"]);
    expect(await t.page.getByText("Upload files", { exact: true }).count()).toBe(0);
    await entry(t.page, "gone.txt").click();
    await expect.poll(() => t.page.locator(".preview pre").textContent()).toBe("keep me");
    expect(await details.getByRole("button", { name: "Delete" }).count()).toBe(0);
    await details.getByRole("button", { name: "Restore from this snapshot" }).click();
    await expect.poll(async () => (await text(share, "/gone.txt")).body).toBe("keep me");
    await t.page.getByRole("link", { name: "Back to the live share" }).click();
    await expect.poll(() => rowNames(t.page)).toEqual(["gone.txt", "notes.txt"]);
    expectNoProblems(t);
  });
});
