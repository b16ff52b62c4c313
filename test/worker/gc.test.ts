import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { FsPath } from "../../src/core/paths";
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
  sleep,
  stub,
  unfinishedUploads,
} from "./helpers";

const BIG = 70_000;

/** A body that sends `bytes` and then fails, like a client that disconnects. */
function brokenBody(bytes: number): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(bytesOf(bytes));
      } else {
        controller.error(new Error("client went away"));
      }
    },
  });
}

describe("garbage collection", () => {
  it("keeps a superseded blob through the grace period, then deletes it", async () => {
    const s = await newShare();
    const id = await shareId(s);
    expect((await put(s, "/f", bytesOf(BIG, 1))).status).toBe(201);
    expect((await put(s, "/f", bytesOf(BIG, 2))).status).toBe(200);
    expect(await r2Count(`blobs/${id}/`)).toBe(2);
    // Within the grace period the alarm leaves it for readers still streaming it.
    await runDurableObjectAlarm(stub(s));
    expect(await r2Count(`blobs/${id}/`)).toBe(2);
    await runAllGc(s);
    expect(await r2Count(`blobs/${id}/`)).toBe(1);
    const back = await (await api("GET", `/v1/shares/${s}/files/f`)).arrayBuffer();
    expect(await sha256(back)).toBe(await sha256(bytesOf(BIG, 2)));
  });

  // A chunked body that breaks off is covered end-to-end (test/e2e): in this
  // in-process harness a failing request stream reaches the Worker as a clean
  // end of body, which only the declared Content-Length can reveal.
  it("an upload that ends short of its Content-Length leaves nothing visible and no blob", async () => {
    const s = await newShare();
    const id = await shareId(s);
    expect((await put(s, "/keep", "old version")).status).toBe(201);
    for (const path of ["/keep", "/new"]) {
      const res = await api("PUT", `/v1/shares/${s}/files${path}`, {
        body: brokenBody(200_000),
        headers: { "content-length": "300000" },
      });
      await expectError(res, 400, "EINVAL");
    }
    expect(await getText(s, "/keep")).toBe("old version");
    await expectError(await api("GET", `/v1/shares/${s}/stat/new`), 404, "ENOENT");
    await runAllGc(s);
    expect(await stub(s).usage()).toMatchObject({ pending: 0, gc: 0, blobs: 0 });
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
  });

  it("reclaims the blob of a write whose Worker died before committing", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const share = stub(s);
    const reserved = await share.reserveWrite("/ghost" as FsPath, {});
    if (!reserved.ok) throw new Error("reserve failed");
    // The Worker streamed the bytes to R2, then vanished.
    await env.BLOBS.put(reserved.value.key, bytesOf(BIG));
    expect(await r2Count(`blobs/${id}/`)).toBe(1);
    // Age the reservation past its expiry.
    await runInDurableObject(share, async (_instance, state) => {
      state.storage.sql.exec("UPDATE pending SET expires_at = ?", Date.now() - 1);
      await state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(share)).toBe(true);
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
    // A commit that arrives too late is refused, and the path stays absent.
    const late = await share.commitWrite(
      "/ghost" as FsPath,
      reserved.value.blobId,
      BIG,
      {},
      [],
      `"${"0".repeat(32)}"`,
      null,
    );
    expect(late.ok).toBe(false);
    await expectError(await api("GET", `/v1/shares/${s}/stat/ghost`), 404, "ENOENT");
  });

  it("deletes in R2-sized batches of 1,000 across several alarm runs", {
    timeout: 60_000,
  }, async () => {
    const s = await newShare();
    const id = await shareId(s);
    const share = stub(s);
    const keys = Array.from({ length: 2100 }, (_, i) => `blobs/${id}/batch-${i}`);
    for (let i = 0; i < keys.length; i += 250) {
      await Promise.all(keys.slice(i, i + 250).map((k) => env.BLOBS.put(k, "x")));
    }
    await runInDurableObject(share, async (_instance, state) => {
      for (const k of keys) {
        state.storage.sql.exec("INSERT INTO gc (key, upload_id, due_at) VALUES (?, NULL, 0)", k);
      }
      await state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(share)).toBe(true);
    expect(await r2Count(`blobs/${id}/`)).toBe(1100);
    // More was due, so the alarm is set again at once.
    expect(await runDurableObjectAlarm(share)).toBe(true);
    expect(await r2Count(`blobs/${id}/`)).toBe(100);
    expect(await runDurableObjectAlarm(share)).toBe(true);
    expect(await r2Count(`blobs/${id}/`)).toBe(0);
    expect((await share.usage()).gc).toBe(0);
    expect(await runDurableObjectAlarm(share)).toBe(false);
  });

  it("an R2 abort that fails stays queued and is retried until R2 frees the parts", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const share = stub(s);
    const created = await api("POST", `/v1/shares/${s}/uploads`, {
      body: JSON.stringify({ path: "/stuck.bin" }),
    });
    expect(created.status).toBe(201);
    const { uploadId } = await json<{ uploadId: string }>(created);
    const sent = await api("PUT", `/v1/shares/${s}/uploads/${uploadId}/parts/1`, {
      body: bytesOf(BIG),
    });
    expect(sent.status).toBe(200);
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(1);
    // The upload expires, and R2 refuses the abort (an id R2 does not know
    // stands in for a transient failure: local R2 has no other way to fail).
    const r2UploadId = await runInDurableObject(share, async (_i, state) => {
      const past = Date.now() - 1;
      const real = state.storage.sql
        .exec<{ r2_upload_id: string }>("SELECT r2_upload_id FROM uploads")
        .one().r2_upload_id;
      state.storage.sql.exec("UPDATE uploads SET expires_at = ?", past);
      state.storage.sql.exec("UPDATE pending SET expires_at = ?, upload_id = 'refused'", past);
      await state.storage.setAlarm(Date.now());
      return real;
    });
    expect(await runDurableObjectAlarm(share)).toBe(true);
    // Not forgotten: still queued, the alarm set for a retry, the parts still in R2.
    expect((await share.usage()).gc).toBe(1);
    expect(await runInDurableObject(share, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(1);
    // R2 recovers: the retry aborts the upload and only then forgets it.
    await runInDurableObject(share, (_i, state) => {
      state.storage.sql.exec("UPDATE gc SET upload_id = ?", r2UploadId);
    });
    await runAllGc(s);
    expect((await share.usage()).gc).toBe(0);
    expect(await unfinishedUploads(`blobs/${id}/`)).toBe(0);
  });

  it("a retried alarm never frees a blob another copy still uses", async () => {
    const s = await newShare();
    const id = await shareId(s);
    expect((await put(s, "/a", bytesOf(BIG, 4))).status).toBe(201);
    const copied = await api("POST", `/v1/shares/${s}/copy`, {
      body: JSON.stringify({ from: "/a", to: "/b" }),
    });
    expect(copied.status).toBe(201);
    expect((await api("DELETE", `/v1/shares/${s}/files/a`)).status).toBe(204);
    await sleep(1100);
    // Alarms run at least once: run it repeatedly, as retries would.
    for (let i = 0; i < 3; i++) {
      await runInDurableObject(stub(s), (_i, state) => state.storage.setAlarm(Date.now()));
      await runDurableObjectAlarm(stub(s));
    }
    expect(await r2Count(`blobs/${id}/`)).toBe(1);
    const back = await (await api("GET", `/v1/shares/${s}/files/b`)).arrayBuffer();
    expect(await sha256(back)).toBe(await sha256(bytesOf(BIG, 4)));
  });

  it("the alarm always points at the earliest due item: a later one never postpones it", async () => {
    const s = await newShare();
    const share = stub(s);
    const alarm = () => runInDurableObject(share, (_i, state) => state.storage.getAlarm());
    expect(await alarm()).toBeNull();
    // A write reservation: due in hours (its expiry).
    const before = Date.now();
    expect((await share.reserveWrite("/later" as FsPath, {})).ok).toBe(true);
    const late = await alarm();
    expect(late).toBeGreaterThan(before + 3600_000);
    // A superseded blob: due after the 1 s grace, earlier, so the alarm moves up.
    expect((await put(s, "/f", bytesOf(BIG, 1))).status).toBe(201);
    expect((await put(s, "/f", bytesOf(BIG, 2))).status).toBe(200);
    const early = await alarm();
    expect(early).toBeLessThan(before + 60_000);
    // Another reservation (later again) leaves the alarm where it is.
    expect((await share.reserveWrite("/later2" as FsPath, {})).ok).toBe(true);
    expect(await alarm()).toBe(early);
  });
});

describe("concurrency", () => {
  it("concurrent writers to different paths lose nothing", async () => {
    const s = await newShare();
    const files = Array.from({ length: 60 }, (_, i) => ({
      path: `/w/${i % 6}/f${i}`,
      data: bytesOf(i % 3 === 0 ? BIG + i : 100 + i, i + 1),
    }));
    const results = await Promise.all(files.map((f) => put(s, f.path, f.data)));
    expect(results.map((r) => r.status)).toEqual(files.map(() => 201));
    for (const f of files) {
      const back = await (await api("GET", `/v1/shares/${s}/files${f.path}`)).arrayBuffer();
      expect(await sha256(back)).toBe(await sha256(f.data));
    }
    const listed = await api("GET", `/v1/shares/${s}/list/w?recursive=true&limit=1000`);
    const entries = (await json<{ entries: { type: string }[] }>(listed)).entries;
    expect(entries.filter((e) => e.type === "file")).toHaveLength(60);
  });

  it("concurrent writers to one path leave exactly one complete version", async () => {
    const s = await newShare();
    const id = await shareId(s);
    const versions = Array.from({ length: 12 }, (_, i) => bytesOf(BIG + i * 1000, 100 + i));
    const results = await Promise.all(versions.map((v) => put(s, "/contended", v)));
    expect(results.every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const back = await (await api("GET", `/v1/shares/${s}/files/contended`)).arrayBuffer();
    const hashes = await Promise.all(versions.map((v) => sha256(v)));
    expect(hashes).toContain(await sha256(back));
    await runAllGc(s);
    expect(await r2Count(`blobs/${id}/`)).toBe(1);
  });
});
