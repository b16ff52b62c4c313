// Uploads cut off at random byte offsets (docs/architecture.md "Semantics users rely on", "Atomic writes": an
// aborted upload leaves nothing visible and no blob behind after GC): single
// PUTs with a Content-Length, chunked PUTs, and multipart uploads through
// the uploads API abandoned in the middle of a part. Half of them target a
// path that already holds a file, which must survive byte for byte.
// Runs its own server with short reservation and upload lifetimes (10 s),
// so that even writes the Worker never got to abandon are reclaimed by the
// alarm within the test, and R2 can be counted against the committed tree.
// Short in `npm test`; EDGEFS_STRESS=long: 200 cut uploads.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../scripts/dev-server.mjs";
import {
  abortedPut,
  Edgefs,
  type FileEntry,
  INLINE_MAX,
  KiB,
  LONG_STRESS,
  MiB,
  pool,
  prngBytes,
  sha256,
  sleep,
  stressCount,
  uniqueName,
} from "./helpers.js";
import { E2E_VARS } from "./server-vars.js";

const UPLOADS = stressCount(24, 200);
const PART = 5 * MiB;
/** Reservations and multipart uploads expire after this long without a commit. */
const TTL_SECONDS = 10;
const TIMEOUT = LONG_STRESS ? 900_000 : 300_000;

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = "put" | "chunked" | "multipart";
interface Cut {
  kind: Kind;
  path: string;
  size: number;
  cutAt: number;
  /** The path already holds a committed file, which must survive. */
  existing: boolean;
}

const SEED = Number(process.env.EDGEFS_STRESS_SEED ?? 20_261_109);
const rnd = random(SEED);
const KINDS: Kind[] = ["put", "chunked", "multipart"];
const cuts: Cut[] = Array.from({ length: UPLOADS }, (_, i) => {
  const kind = KINDS[i % 3] as Kind;
  const size =
    kind === "multipart"
      ? PART + Math.floor(rnd() * 7 * MiB)
      : kind === "chunked"
        ? 1 + Math.floor(rnd() * 14 * MiB)
        : 1 + Math.floor(rnd() * 3 * MiB);
  const existing = i % 2 === 1;
  return {
    kind,
    path: existing ? `old/${i}.bin` : `new/${i}/file.bin`,
    size,
    cutAt: Math.floor(rnd() * size),
    existing,
  };
});

describe(`${UPLOADS} uploads cut at random offsets (seed ${SEED})`, () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: Edgefs;
  let share: string;
  let shareId: string;
  const old = new Map<string, { data: Uint8Array; etag: string | undefined }>();
  const uploadIds: string[] = [];
  const early: string[] = [];
  /** Multipart cuts whose R2 upload the dev count saw open right after the cut. */
  let seenOpen = 0;

  beforeAll(async () => {
    server = await startServer({
      vars: {
        ...E2E_VARS,
        EDGEFS_PENDING_TTL_SECONDS: String(TTL_SECONDS),
        EDGEFS_UPLOAD_TTL_SECONDS: String(TTL_SECONDS),
      },
    });
    api = new Edgefs(server.url, server.token);
    share = uniqueName("cuts");
    shareId = (await api.createShare(share)).id;
    // The older versions: inline and R2-backed.
    for (const [i, c] of cuts.entries()) {
      if (!c.existing) continue;
      const data = prngBytes(10_000 + i, i % 4 === 1 ? 10 * KiB : INLINE_MAX + 1 + i * 101);
      const { status, body } = await api.put(share, c.path, data);
      expect(status, JSON.stringify(body)).toBe(201);
      old.set(c.path, { data, etag: body.etag });
    }
  }, TIMEOUT);

  afterAll(async () => {
    await server?.stop();
  });

  /** One abandoned multipart upload: whole parts before the cut, the cut part broken off. */
  async function cutMultipart(c: Cut, seed: number): Promise<number | undefined> {
    const created = await api.json<{ uploadId: string; partSize: number }>(
      `/v1/shares/${share}/uploads`,
      { method: "POST", body: JSON.stringify({ path: `/${c.path}`, partSize: PART }) },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.uploadId;
    uploadIds.push(id);
    const cutPart = Math.floor(c.cutAt / PART) + 1;
    for (let n = 1; n < cutPart; n++) {
      const res = await api.fetch(`/v1/shares/${share}/uploads/${id}/parts/${n}`, {
        method: "PUT",
        body: prngBytes(seed + n, PART) as Uint8Array<ArrayBuffer>,
      });
      expect(res.status, await res.text()).toBe(200);
    }
    const partLength = Math.min(PART, c.size - (cutPart - 1) * PART);
    const result = await abortedPut(api, `/v1/shares/${share}/uploads/${id}/parts/${cutPart}`, {
      seed: seed + cutPart,
      total: partLength,
      cutAfter: c.cutAt - (cutPart - 1) * PART,
      chunked: false,
    });
    // Before GC the abandoned upload is open in R2: the zero checked after GC
    // is a count that can see it. (Counted, not required of each cut: one
    // that ran past its 10 s lifetime may already be reclaimed.)
    if ((await api.unfinishedUploads(shareId)) > 0) seenOpen++;
    return result.earlyStatus;
  }

  it(
    "nothing of any cut upload becomes visible; older versions stay whole",
    async () => {
      await pool(cuts, 8, async (c, i) => {
        const status =
          c.kind === "multipart"
            ? await cutMultipart(c, 50_000 + i * 10)
            : (
                await abortedPut(api, api.route(share, "files", c.path), {
                  seed: 50_000 + i,
                  total: c.size,
                  cutAfter: c.cutAt,
                  chunked: c.kind === "chunked",
                })
              ).earlyStatus;
        // An answer before the cut must be a refusal, never a commit.
        if (status !== undefined && status < 400) early.push(`${c.kind} ${c.path}: ${status}`);
      });
      expect(early).toEqual([]);
      const multipartCuts = cuts.filter((c) => c.kind === "multipart").length;
      expect(multipartCuts).toBeGreaterThan(0);
      expect(seenOpen, "no multipart cut was seen open in R2 before GC").toBeGreaterThan(0);

      for (const c of cuts) {
        const stat = await api.stat(share, c.path);
        const before = old.get(c.path);
        if (!before) {
          expect(stat.status, `${c.kind} ${c.path} cut at ${c.cutAt}/${c.size}`).toBe(404);
          continue;
        }
        const got = await api.get(share, c.path);
        expect(got.status, c.path).toBe(200);
        expect(got.res.headers.get("etag"), c.path).toBe(before.etag);
        expect(sha256(got.bytes), c.path).toBe(sha256(before.data));
      }
      // No directory was left behind by a new path either.
      const root = await api.json<{ entries: FileEntry[] }>(api.route(share, "list", ""));
      expect(root.body.entries.map((e) => e.path).sort()).toEqual(old.size > 0 ? ["old"] : []);
    },
    TIMEOUT,
  );

  it(
    "after the reservations expire, GC leaves R2 holding only committed blobs",
    async () => {
      const committedLarge = [...old.values()].filter((o) => o.data.byteLength > INLINE_MAX).length;
      await sleep((TTL_SECONDS + 2) * 1000);
      expect(await api.waitForR2Count(shareId, committedLarge, 90_000)).toBe(committedLarge);
      // No R2 multipart upload is left open either: multipart and chunked cuts' parts are freed.
      expect(await api.waitForNoUnfinishedUploads(shareId, 90_000)).toBe(0);
      // Abandoned multipart uploads are gone too (their R2 uploads aborted by the alarm).
      for (const id of uploadIds) {
        const res = await api.json<{ error: { code: string } }>(
          `/v1/shares/${share}/uploads/${id}`,
        );
        expect(res.status, id).toBe(404);
      }
      // And the older versions are still whole after GC ran.
      for (const [path, before] of old) {
        const got = await api.download(share, path);
        expect(got.sha256, path).toBe(sha256(before.data));
      }
    },
    TIMEOUT,
  );
});
