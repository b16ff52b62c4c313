/// <reference types="vite/client" />
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { backendAt, featuresAt, type Runtime, shareTarget } from "../../src/backends/resolve";
import type { Backend } from "../../src/core/backend";
import { SubrequestBudget } from "../../src/core/budget";
import { FsError } from "../../src/core/errors";
import type { FsPath } from "../../src/core/paths";
import { mountUnreachableBucket, newShare, put } from "./helpers";

// The raw source of the WebDAV front-end, to check what it may import (a
// layer rule that holds without the linter's help).
const davSources = import.meta.glob("../../src/dav/*.ts", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

const rt: Runtime = {
  env,
  waitUntil: () => undefined,
  caller: { host: "edgefs.test", viaMount: false },
  subrequests: new SubrequestBudget(10_000),
};

/** The FsError code a call fails with, thrown or rejected. */
async function code(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
  return "resolved";
}

describe("each backend's features match what it does", () => {
  let share: string;
  let shareStorage: Backend;
  let mount: Backend;

  beforeAll(async () => {
    share = await newShare("features");
    await mountUnreachableBucket(share);
    const target = shareTarget(env, "main", share);
    shareStorage = await backendAt(rt, target, "/f" as FsPath, []);
    mount = await backendAt(rt, target, "/bucket/x" as FsPath, []);
  });

  it("capabilities are present exactly where features declare them", () => {
    for (const backend of [shareStorage, mount]) {
      expect(backend.leases !== undefined).toBe(backend.features.leases);
      expect(backend.properties !== undefined).toBe(backend.features.deadProperties);
    }
    expect(shareStorage.features).toMatchObject({ rename: true, leases: true, multipart: true });
    expect(mount.features).toMatchObject({ rename: false, leases: false, multipart: false });
  });

  it("featuresAt answers for a path what the backend serving it declares", async () => {
    const target = shareTarget(env, "main", share);
    expect(await featuresAt(target, "/f" as FsPath)).toEqual(shareStorage.features);
    expect(await featuresAt(target, "/bucket/x" as FsPath)).toEqual(mount.features);
  });

  it("without rename, multipart or conditional writes: ENOTSUP, before any bucket request", async () => {
    const x = "/bucket/x" as FsPath;
    expect(await code(() => mount.move(x, "/bucket/y" as FsPath, { overwrite: false }))).toBe(
      "ENOTSUP",
    );
    expect(
      await code(() => mount.createUpload(x, { partSize: 5 * 1024 * 1024, conditions: {} })),
    ).toBe("ENOTSUP");
    expect(
      await code(() => mount.write(x, { stream: null, length: 0 }, { ifNoneMatch: ["*"] })),
    ).toBe("ENOTSUP");
  });

  it("with rename, leases and dead properties, they work", async () => {
    expect((await put(share, "/f", "hello")).status).toBe(201);
    const leases = shareStorage.leases;
    const properties = shareStorage.properties;
    if (!leases || !properties) throw new Error("share storage declares leases and properties");
    const lease = await leases.acquire({
      path: "/f" as FsPath,
      exclusive: true,
      depth: "0",
      owner: null,
      ttlMs: 60_000,
    });
    expect((await leases.byIds([lease.leaseId])).map((l) => l.path)).toEqual(["/f"]);
    expect((await leases.placement("/f" as FsPath)).entry?.size).toBe(5);
    // The lease binds writers that do not hold it, this backend among them.
    expect(await code(() => shareStorage.remove("/f" as FsPath, { recursive: false }))).toBe(
      "ELOCKED",
    );
    await leases.release(lease.leaseId);
    await properties.patch("/f" as FsPath, [
      { op: "set", ns: "urn:t", name: "p", value: "v", lang: null },
    ]);
    expect((await properties.of(["/f" as FsPath]))["/f"]?.map((p) => p.value)).toEqual(["v"]);
    const moved = await shareStorage.move("/f" as FsPath, "/g" as FsPath, { overwrite: false });
    expect(moved.entry.path).toBe("/g");
    expect((await properties.of(["/g" as FsPath]))["/g"]?.length).toBe(1);
  });
});

describe("the WebDAV front-end asks features, never the storage's kind", () => {
  it("imports nothing from durable/ and has no mount checks", () => {
    const files = Object.keys(davSources);
    expect(files.length).toBeGreaterThan(5);
    for (const [file, text] of Object.entries(davSources)) {
      expect(text, file).not.toMatch(/durable/);
      expect(text, file).not.toMatch(/\b(mountAt|mountsOf|inMount|isMount)\b/);
    }
  });
});
