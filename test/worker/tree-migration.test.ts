import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { FsPath } from "../../src/core/paths";
import { migrate } from "../../src/durable/schema";
import {
  api,
  json,
  newShare,
  put,
  rebuildAtSchemaVersion,
  runAllGc,
  sha256,
  stub,
} from "./helpers";

// Migration 9 turns a deployed share's path-keyed `entries` into nodes. A
// share written before it must read, list, rename and delete exactly as it
// did, with its properties and its totals.

/** The last schema version whose tree was `entries`, keyed by path. */
const BEFORE_NODES = 8;

interface Old {
  type: "file" | "directory";
  data?: string;
  blob?: string;
}

const TREE: Record<string, Old> = {
  "/docs": { type: "directory" },
  "/docs/a.txt": { type: "file", data: "alpha" },
  "/docs/b.txt": { type: "file", data: "beta!" },
  "/docs/deep": { type: "directory" },
  "/docs/deep/er": { type: "directory" },
  "/docs/deep/er/c.txt": { type: "file", data: "gamma" },
  "/docs-2": { type: "directory" },
  "/docs-2/empty": { type: "file" },
  "/top.bin": { type: "file", blob: "b1" },
};

const text = (s: string) => new TextEncoder().encode(s);

describe("migrating a share from path-keyed entries to nodes", () => {
  it("keeps every file, directory, property and byte, with the right totals", async () => {
    const s = await newShare();
    // The blob a file of the old share points at, as R2 holds it.
    expect((await put(s, "/seed-blob", new Uint8Array(70_000).fill(7))).status).toBe(201);
    await runInDurableObject(stub(s), (_instance, state) => {
      const sql = state.storage.sql;
      const blob = sql.exec<{ id: string; key: string }>("SELECT id, key FROM blobs").one();
      rebuildAtSchemaVersion(sql, BEFORE_NODES);
      sql.exec("INSERT INTO blobs (id, key, refs) VALUES (?, ?, 1)", blob.id, blob.key);
      for (const [path, e] of Object.entries(TREE)) {
        const parent = path.slice(0, path.lastIndexOf("/")) || "/";
        const name = path.slice(path.lastIndexOf("/") + 1);
        const inline = e.data
          ? sql
              .exec<{ id: number }>(
                "INSERT INTO inline_data (refs, data) VALUES (1, ?) RETURNING id",
                text(e.data).buffer,
              )
              .one().id
          : null;
        sql.exec(
          `INSERT INTO entries (path, parent, name, type, size, mtime, etag, blob_id, inline_id)
           VALUES (?, ?, ?, ?, ?, 5, ?, ?, ?)`,
          path,
          parent,
          name,
          e.type,
          e.blob ? 70_000 : (e.data?.length ?? 0),
          e.type === "file" ? `"old-${name}"` : null,
          e.blob ? blob.id : null,
          inline,
        );
      }
      sql.exec(
        "INSERT INTO properties (path, ns, name, value, lang) VALUES ('/docs/deep', 'urn:x', 'color', 'blue', NULL)",
      );
      migrate(sql);
    });

    const list = await json<{ entries: { path: string; type: string; size: number }[] }>(
      await api("GET", `/v1/shares/${s}/list/?recursive=true`),
    );
    expect(list.entries.map((e) => e.path).sort()).toEqual(
      Object.keys(TREE)
        .map((p) => p.slice(1))
        .sort(),
    );
    for (const [path, e] of Object.entries(TREE)) {
      if (!e.data) continue;
      const res = await api("GET", `/v1/shares/${s}/files${path}`);
      expect(await res.text()).toBe(e.data);
      expect(res.headers.get("etag")).toBe(`"old-${path.slice(path.lastIndexOf("/") + 1)}"`);
    }
    const big = await api("GET", `/v1/shares/${s}/files/top.bin`);
    expect(await sha256(await big.arrayBuffer())).toBe(
      await sha256(new Uint8Array(70_000).fill(7)),
    );
    const info = await json<{ usage: Record<string, number> }>(await api("GET", `/v1/shares/${s}`));
    expect(info.usage).toEqual({
      files: 5,
      directories: 4,
      bytes: 5 + 5 + 5 + 70_000,
      inlineBytes: 15,
      historyBytes: 0,
      // A share from before the change feed keeps no events of its past.
      feedEvents: 0,
      feedBytes: 0,
    });
    const props = await stub(s).properties(["/docs/deep" as FsPath]);
    expect(props).toEqual({
      ok: true,
      value: { "/docs/deep": [{ ns: "urn:x", name: "color", value: "blue", lang: null }] },
    });

    // The migrated tree behaves like a new one: rename, then delete.
    const moved = await api("POST", `/v1/shares/${s}/move`, {
      body: JSON.stringify({ from: "/docs", to: "/archive/docs" }),
    });
    expect(moved.status).toBe(200);
    expect(
      await (await api("GET", `/v1/shares/${s}/files/archive/docs/deep/er/c.txt`)).text(),
    ).toBe("gamma");
    expect(await stub(s).properties(["/archive/docs/deep" as FsPath])).toMatchObject({
      value: { "/archive/docs/deep": [{ value: "blue" }] },
    });
    expect((await api("DELETE", `/v1/shares/${s}/files/?recursive=true`)).status).toBe(204);
    await runAllGc(s);
    expect(await stub(s).usage()).toMatchObject({ entries: 0, blobs: 0 });
  });
});
