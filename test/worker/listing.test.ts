import { describe, expect, it } from "vitest";
import type { FsPath } from "../../src/core/paths";
import { api, expectError, getText, json, newShare, put, stub } from "./helpers";

// Backend-independent cases (the same for every backend and front-end) live in
// test/contract/backend.case.ts; what stays here is what the native API or share
// storage adds: status codes, headers, inline vs R2, blob accounting.

interface Entry {
  path: string;
  absolutePath: string;
  type: string;
  size: number;
}
interface Page {
  entries: Entry[];
  cursor?: string;
}

const textOf = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

async function list(share: string, path: string, query = ""): Promise<Page> {
  const res = await api("GET", `/v1/shares/${share}/list${path}${query}`);
  expect(res.status).toBe(200);
  return json<Page>(res);
}

async function tree(share: string) {
  for (const p of [
    "/data/2024-01.csv",
    "/data/2024-02.csv",
    "/data/2025-01.csv",
    "/data/notes.txt",
    "/data/raw/2024-03.csv",
    "/data/raw/deep/x.csv",
    "/logs/a.log",
    "/.hidden/secret.csv",
    "/top.csv",
  ]) {
    expect((await put(share, p, "x")).status).toBe(201);
  }
}

describe("listing (Modal's rules)", () => {
  it("a directory lists its children with relative names", async () => {
    const s = await newShare();
    await tree(s);
    const page = await list(s, "/data");
    expect(page.entries.map((e) => [e.path, e.type])).toEqual([
      ["2024-01.csv", "file"],
      ["2024-02.csv", "file"],
      ["2025-01.csv", "file"],
      ["notes.txt", "file"],
      ["raw", "directory"],
    ]);
    expect(page.cursor).toBeUndefined();
    const root = await list(s, "/");
    expect(root.entries.map((e) => e.path)).toEqual([".hidden", "data", "logs", "top.csv"]);
  });

  it("a glob returns absolute paths: * within a segment, ** across", async () => {
    const s = await newShare();
    await tree(s);
    const one = await list(s, "/data/*.csv");
    expect(one.entries.map((e) => e.path)).toEqual([
      "/data/2024-01.csv",
      "/data/2024-02.csv",
      "/data/2025-01.csv",
    ]);
    const prefixed = await list(s, "/data/2024-*");
    expect(prefixed.entries.map((e) => e.path)).toEqual(["/data/2024-01.csv", "/data/2024-02.csv"]);
    const deep = await list(s, "/data/**/*.csv");
    expect(deep.entries.map((e) => e.path).sort()).toEqual(
      [
        "/data/2024-01.csv",
        "/data/2024-02.csv",
        "/data/2025-01.csv",
        "/data/raw/2024-03.csv",
        "/data/raw/deep/x.csv",
      ].sort(),
    );
    const everywhere = await list(s, "/**/*.csv");
    expect(everywhere.entries.map((e) => e.path)).toContain("/.hidden/secret.csv");
    expect(everywhere.entries.map((e) => e.path)).toContain("/top.csv");
    expect(everywhere.entries).toHaveLength(7);
    const none = await list(s, "/nothing/*.csv");
    expect(none.entries).toEqual([]);
  });

  it("streams NDJSON, one entry per line, across internal pages", { timeout: 60_000 }, async () => {
    const s = await newShare();
    // More than one internal page (1,000 entries).
    const names = Array.from({ length: 1205 }, (_, i) => `e${String(i).padStart(5, "0")}`);
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(names.slice(i, i + 100).map((n) => put(s, `/nd/${n}`, "")));
    }
    const res = await api("GET", `/v1/shares/${s}/list/nd`, {
      headers: { accept: "application/x-ndjson" },
    });
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await textOf(res)).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as Entry).path)).toEqual(names);
    // With a limit it stops there and ends with a cursor line.
    const limited = await api("GET", `/v1/shares/${s}/list/nd?limit=3`, {
      headers: { accept: "application/x-ndjson" },
    });
    const ll = (await textOf(limited))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(ll).toHaveLength(4);
    expect(ll[3]).toHaveProperty("cursor");
    const rest = await list(s, "/nd", `?limit=2&cursor=${ll[3].cursor}`);
    expect(rest.entries.map((e) => e.path)).toEqual(["e00003", "e00004"]);
  });

  it("missing paths are ENOENT; bad cursors and limits EINVAL", async () => {
    const s = await newShare();
    await put(s, "/d/f", "x");
    await expectError(await api("GET", `/v1/shares/${s}/list/nope`), 404, "ENOENT");
    await expectError(await api("GET", `/v1/shares/${s}/list/d?cursor=!!`), 400, "EINVAL");
    await expectError(await api("GET", `/v1/shares/${s}/list/d?limit=0`), 400, "EINVAL");
    await expectError(await api("GET", `/v1/shares/${s}/list/d?limit=abc`), 400, "EINVAL");
    await expectError(await api("GET", `/v1/shares/${s}/list/d?recursive=maybe`), 400, "EINVAL");
    // NDJSON answers a missing path with a proper error too, not a broken stream.
    await expectError(
      await api("GET", `/v1/shares/${s}/list/missing`, {
        headers: { accept: "application/x-ndjson" },
      }),
      404,
      "ENOENT",
    );
  });

  it("a backtracking-prone glob answers at once; too many wildcards or a bad [ are EINVAL", async () => {
    const s = await newShare();
    await put(s, `/rx/${"a".repeat(60)}`, "x");
    await put(s, `/deep/${Array(100).fill("a").join("/")}/x`, "x");
    expect((await list(s, "/rx/*a*a*a*a*a*a*a*b")).entries).toEqual([]);
    expect((await list(s, "/rx/*a*a*a*a*a*a*a*a")).entries).toHaveLength(1);
    expect((await list(s, "/deep/**/a/**/a/**/a/**/a/**/a/b")).entries).toEqual([]);
    expect((await list(s, "/deep/**/a/**/a/**/a/**/a/**/a/x")).entries).toHaveLength(1);
    const tooWild = await expectError(
      await api("GET", `/v1/shares/${s}/list/rx/${"*a".repeat(33)}`),
      400,
      "EINVAL",
    );
    expect(tooWild.message).toContain("32 wildcards");
    const unclosed = await expectError(
      await api("GET", `/v1/shares/${s}/list/rx/%5Ba*`),
      400,
      "EINVAL",
    );
    expect(unclosed.message).toContain("unclosed [");
    await expectError(await api("GET", `/v1/shares/${s}/list/rx/%7Ba,b*`), 400, "EINVAL");
  });

  it("a sparse glob over a large directory pages by scan budget and finds every match", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    const needles = ["/big/f00007.needle", "/big/f12000.needle", "/big/f24999.needle"];
    for (const n of needles) expect((await put(s, n, "x")).status).toBe(201);
    // 25,000 more names in the same directory, seeded in one call: through
    // the API this would take minutes.
    const seeded = await stub(s).seed({ dir: "/big" as FsPath, count: 25_000, prefix: "f" });
    expect(seeded).toEqual({ ok: true, value: { files: 25_000 } });
    for (const pattern of ["/big/*.needle", "/**/*.needle"]) {
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      for (; pages < 20; pages++) {
        const page = await list(s, pattern, `?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
        seen.push(...page.entries.map((e) => e.path));
        sizes.push(page.entries.length);
        cursor = page.cursor;
        if (!cursor) break;
      }
      expect(seen).toEqual(needles);
      // Each page stopped after its budget of rows, matches or not.
      expect(pages).toBeGreaterThanOrEqual(2);
      expect(sizes.every((n) => n < 100)).toBe(true);
    }
  });

  it("every entry carries absolutePath, so Modal's loop reads each entry it lists", async () => {
    const s = await newShare();
    for (const p of ["/runs/42/metrics.json", "/runs/42/log/out.txt", "/runs/7.json"]) {
      expect((await put(s, p, p)).status).toBe(201);
    }
    const forms = async (path: string, query = "") =>
      (await list(s, path, query)).entries.map((e) => [e.path, e.absolutePath]);
    expect(await forms("/runs/42")).toEqual([
      ["log", "/runs/42/log"],
      ["metrics.json", "/runs/42/metrics.json"],
    ]);
    expect(await forms("/runs", "?recursive=true")).toEqual([
      ["42", "/runs/42"],
      ["42/log", "/runs/42/log"],
      ["42/log/out.txt", "/runs/42/log/out.txt"],
      ["42/metrics.json", "/runs/42/metrics.json"],
      ["7.json", "/runs/7.json"],
    ]);
    expect(await forms("/")).toEqual([["runs", "/runs"]]);
    expect(await forms("/runs/**/*.json")).toEqual([
      ["/runs/42/metrics.json", "/runs/42/metrics.json"],
      ["/runs/7.json", "/runs/7.json"],
    ]);
    expect(await forms("/runs/7.json")).toEqual([["/runs/7.json", "/runs/7.json"]]);
    // The loop as a program writes it: list a directory, read what it names.
    for (const e of (await list(s, "/runs", "?recursive=true")).entries) {
      if (e.type === "file") expect(await getText(s, e.absolutePath)).toBe(e.absolutePath);
    }
    // NDJSON lines and stat carry it too.
    const nd = await api("GET", `/v1/shares/${s}/list/runs/42`, {
      headers: { accept: "application/x-ndjson" },
    });
    const lines = (await textOf(nd))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Entry);
    expect(lines.map((e) => e.absolutePath)).toEqual(["/runs/42/log", "/runs/42/metrics.json"]);
    const stat = await json<Entry>(await api("GET", `/v1/shares/${s}/stat/runs/42/metrics.json`));
    expect(stat).toMatchObject({
      path: "/runs/42/metrics.json",
      absolutePath: "/runs/42/metrics.json",
    });
  });

  it("every glob construct works, with or without a *: ?, [...], [!...], {a,b}, *, **", async () => {
    const s = await newShare();
    const files = [
      "/ci/build.tgz",
      "/ci/build.tgx",
      "/ci/build.zip",
      "/ci/120",
      "/ci/121",
      "/ci/12a",
      "/ci/a.log",
      "/ci/b.log",
      "/ci/c.log",
      "/ci/deep/x/build.tgz",
      "/ci/odd[1].txt",
      "/ci/odd1.txt",
    ];
    for (const p of files) expect((await put(s, p, "x")).status).toBe(201);
    // Each segment percent-encoded, as a client sends it ("?" must be).
    const glob = async (pattern: string) =>
      (await list(s, pattern.split("/").map(encodeURIComponent).join("/"))).entries.map(
        (e) => e.path,
      );
    expect(await glob("/ci/build.tg?")).toEqual(["/ci/build.tgx", "/ci/build.tgz"]);
    expect(await glob("/ci/12[0-9]")).toEqual(["/ci/120", "/ci/121"]);
    expect(await glob("/ci/12[!0-9]")).toEqual(["/ci/12a"]);
    expect(await glob("/ci/12[^0-9]")).toEqual(["/ci/12a"]);
    expect(await glob("/ci/{a,c}.log")).toEqual(["/ci/a.log", "/ci/c.log"]);
    expect(await glob("/ci/build.{tgz,zip}")).toEqual(["/ci/build.tgz", "/ci/build.zip"]);
    expect(await glob("/ci/*.log")).toEqual(["/ci/a.log", "/ci/b.log", "/ci/c.log"]);
    expect(await glob("/ci/**/build.tgz")).toEqual(["/ci/build.tgz", "/ci/deep/x/build.tgz"]);
    // A metacharacter in brackets is literal: how to name "odd[1].txt".
    expect(await glob("/ci/odd[1].txt")).toEqual(["/ci/odd1.txt"]);
    expect(await glob("/ci/odd[[]1].txt")).toEqual(["/ci/odd[1].txt"]);
    // A glob that matches nothing is an empty listing, not 404.
    expect(await glob("/ci/none.tg?")).toEqual([]);
    // A plain path with "]" or "}" alone is no glob: stat and read as usual.
    expect((await put(s, "/ci/x]y}", "z")).status).toBe(201);
    expect(await glob("/ci/x]y}")).toEqual(["/ci/x]y}"]);
  });

  it("a malformed glob is 400 EINVAL naming the pattern and the problem, never an empty 200", async () => {
    const s = await newShare();
    await put(s, "/ci/a.tgz", "x");
    const bad = async (pattern: string) =>
      (
        await expectError(
          await api(
            "GET",
            `/v1/shares/${s}/list${pattern.split("/").map(encodeURIComponent).join("/")}`,
          ),
          400,
          "EINVAL",
        )
      ).message;
    expect(await bad("/ci/[abc/*.tgz")).toBe("unclosed [ in glob: /ci/[abc/*.tgz");
    expect(await bad("/ci/[abc")).toBe("unclosed [ in glob: /ci/[abc");
    expect(await bad("/ci/{a,b.tgz")).toBe("unclosed { in glob: /ci/{a,b.tgz");
    expect(await bad("/ci/build.[z-a]")).toContain("reversed: /ci/build.[z-a]");
    // NDJSON too: an error, not an empty stream.
    await expectError(
      await api("GET", `/v1/shares/${s}/list/ci/%5Babc`, {
        headers: { accept: "application/x-ndjson" },
      }),
      400,
      "EINVAL",
    );
  });
});
