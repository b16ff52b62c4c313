import { describe, expect, it } from "vitest";
import {
  api,
  bytesOf,
  expectError,
  getText,
  json,
  newShare,
  put,
  r2Count,
  runAllGc,
  sha256,
  shareId,
  stub,
} from "./helpers";

// Backend-independent cases (the same for every backend and front-end) live in
// test/contract/backend.case.ts; what stays here is what the native API or share
// storage adds: status codes, headers, inline vs R2, blob accounting.

interface Entry {
  path: string;
  type: string;
  etag?: string;
}

const BIG = 70_000; // above the inline threshold: lives in R2

function move(share: string, body: Record<string, unknown>) {
  return api("POST", `/v1/shares/${share}/move`, { body: JSON.stringify(body) });
}
function copy(share: string, body: Record<string, unknown>) {
  return api("POST", `/v1/shares/${share}/copy`, { body: JSON.stringify(body) });
}
async function paths(share: string, dir: string) {
  const res = await api("GET", `/v1/shares/${share}/list${dir}?recursive=true`);
  return (await json<{ entries: Entry[] }>(res)).entries.map((e) => e.path);
}

describe("move", () => {
  it("renames a file without copying bytes: same blob, same ETag", async () => {
    const s = await newShare();
    const before = await json<Entry>(await put(s, "/a.bin", bytesOf(BIG)));
    const res = await move(s, { from: "/a.bin", to: "/dir/b.bin" });
    expect(res.status).toBe(200);
    expect(await json<Entry>(res)).toMatchObject({ path: "/dir/b.bin", etag: before.etag });
    await expectError(await api("GET", `/v1/shares/${s}/stat/a.bin`), 404, "ENOENT");
    const back = await (await api("GET", `/v1/shares/${s}/files/dir/b.bin`)).arrayBuffer();
    expect(await sha256(back)).toBe(await sha256(bytesOf(BIG)));
    expect(await r2Count(`blobs/${await shareId(s)}/`)).toBe(1);
    expect((await stub(s).usage()).gc).toBe(0);
  });

  it("moves a directory recursively", async () => {
    const s = await newShare();
    expect((await put(s, "/src/a", "1")).status).toBe(201);
    expect((await put(s, "/src/sub/b", bytesOf(BIG))).status).toBe(201);
    expect((await put(s, "/src-sibling", "stays")).status).toBe(201);
    expect((await move(s, { from: "/src", to: "/dst/moved" })).status).toBe(200);
    expect(await paths(s, "/dst/moved")).toEqual(["a", "sub", "sub/b"]);
    expect(await getText(s, "/dst/moved/a")).toBe("1");
    await expectError(await api("GET", `/v1/shares/${s}/stat/src`), 404, "ENOENT");
    expect(await getText(s, "/src-sibling")).toBe("stays");
    // The listing index follows the move: children are found by parent.
    const list = await json<{ entries: Entry[] }>(
      await api("GET", `/v1/shares/${s}/list/dst/moved/sub`),
    );
    expect(list.entries.map((e) => e.path)).toEqual(["b"]);
  });

  it("refuses to move a directory into itself (EINVAL) and the root", async () => {
    const s = await newShare();
    expect((await put(s, "/d/x", "1")).status).toBe(201);
    await expectError(await move(s, { from: "/d", to: "/d/inner" }), 400, "EINVAL");
    await expectError(await move(s, { from: "/", to: "/x" }), 400, "EINVAL");
    expect(await getText(s, "/d/x")).toBe("1");
  });

  it("does not overwrite unless asked, then follows rename(2)", async () => {
    const s = await newShare();
    expect((await put(s, "/a", "A")).status).toBe(201);
    expect((await put(s, "/b", bytesOf(BIG))).status).toBe(201);
    expect((await put(s, "/dir/x", "x")).status).toBe(201);
    await expectError(await move(s, { from: "/a", to: "/b" }), 409, "EEXIST");
    await expectError(await move(s, { from: "/a", to: "/dir", overwrite: true }), 409, "EISDIR");
    await expectError(await move(s, { from: "/dir", to: "/a", overwrite: true }), 409, "ENOTDIR");
    expect((await put(s, "/dir2/y", "y")).status).toBe(201);
    await expectError(
      await move(s, { from: "/dir", to: "/dir2", overwrite: true }),
      409,
      "ENOTEMPTY",
    );
    expect((await move(s, { from: "/a", to: "/b", overwrite: true })).status).toBe(200);
    expect(await getText(s, "/b")).toBe("A");
    // The replaced file's blob is released.
    expect((await stub(s).usage()).blobs).toBe(0);
  });

  it("missing source is ENOENT; bad bodies and paths EINVAL", async () => {
    const s = await newShare();
    await expectError(await move(s, { from: "/nope", to: "/x" }), 404, "ENOENT");
    await expectError(await move(s, { from: "/a" }), 400, "EINVAL");
    await expectError(await move(s, { from: "/a", to: "/../etc" }), 400, "EINVAL");
    await expectError(await move(s, { from: "/a", to: "/x", extra: 1 }), 400, "EINVAL");
    await expectError(
      await api("POST", `/v1/shares/${s}/move`, { body: "not json" }),
      400,
      "EINVAL",
    );
  });
});

describe("copy", () => {
  it("shares the blob by reference; deleting either copy never breaks the other", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const data = bytesOf(BIG, 9);
    expect((await put(s, "/orig", data)).status).toBe(201);
    expect((await copy(s, { from: "/orig", to: "/copy" })).status).toBe(201);
    expect(await r2Count(`blobs/${id}/`)).toBe(1); // no bytes copied
    expect((await api("DELETE", `/v1/shares/${s}/files/orig`)).status).toBe(204);
    await runAllGc(s);
    expect(await r2Count(`blobs/${id}/`)).toBe(1);
    const back = await (await api("GET", `/v1/shares/${s}/files/copy`)).arrayBuffer();
    expect(await sha256(back)).toBe(await sha256(data));
    // Overwriting the last copy releases the blob for good.
    expect((await put(s, "/copy", "small now")).status).toBe(200);
    await runAllGc(s);
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
  });

  it("copies directories recursively (only with recursive), inline and R2 files alike", async () => {
    const s = await newShare();
    expect((await put(s, "/t/a", "inline")).status).toBe(201);
    expect((await put(s, "/t/deep/b", bytesOf(BIG, 1))).status).toBe(201);
    expect((await put(s, "/t/deep/c", bytesOf(BIG, 2))).status).toBe(201);
    await expectError(await copy(s, { from: "/t", to: "/u" }), 409, "EISDIR");
    expect((await copy(s, { from: "/t", to: "/u", recursive: true })).status).toBe(201);
    expect(await paths(s, "/u")).toEqual(await paths(s, "/t"));
    expect(await getText(s, "/u/a")).toBe("inline");
    // Two files, two blobs, each referenced twice.
    expect((await stub(s).usage()).blobs).toBe(2);
    expect((await api("DELETE", `/v1/shares/${s}/files/t?recursive=true`)).status).toBe(204);
    expect((await stub(s).usage()).blobs).toBe(2);
    expect((await api("DELETE", `/v1/shares/${s}/files/u?recursive=true`)).status).toBe(204);
    expect((await stub(s).usage()).blobs).toBe(0);
  });
});
