import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { expect } from "vitest";
import { api, bytesOf, json, newShare, put, settle, shareId, stub } from "./helpers";

/**
 * The retention GC property (test/worker and test/limits run it, with no
 * retention window and with one of an hour): random sequences of changes,
 * snapshots and time, then GC; what the share keeps is compared with a
 * model. Time moves in steps of 1000 s (commit times moved back), so a
 * version is in or out of the window by at least the seconds a run takes.
 */
const RETENTION_S = Number(env.EDGEFS_VERSION_RETENTION_SECONDS);
const STEP_S = 1000;

/**
 * A model of the share's history: the tree at every version, by node
 * identity (which survives renames and overwrites, as the share's node ids
 * do), the snapshots, the clock. From it, after GC: which rows a reader of
 * a readable version needs (the retention window, snapshots), and so
 * which bytes stay and how many of them only history keeps.
 */
interface MNode {
  mid: number;
  type: "file" | "directory";
  /** Files: the content's label (its bytes are `contents.get(label)`). */
  content?: string;
  size: number;
}
type Tree = Map<string, MNode>;

type Op =
  | { op: "put"; path: string; big: boolean }
  | { op: "rm"; path: string }
  | { op: "move" | "copy"; from: string; to: string }
  | { op: "snap"; back: number }
  | { op: "unsnap"; pick: number }
  | { op: "advance"; steps: number };

const NAMES = ["a", "b", "x"];
const pathArb = fc
  .array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 })
  .map((s) => `/${s.join("/")}`);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant("put" as const), path: pathArb, big: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("rm" as const), path: pathArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom("move" as const, "copy" as const),
      from: pathArb,
      to: pathArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("snap" as const), back: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("unsnap" as const), pick: fc.nat(9) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      steps: fc.constantFrom(1, 2, 4),
    }),
  },
);

const parentOf = (p: string) => p.slice(0, p.lastIndexOf("/")) || "/";
const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir === "/" ? "" : dir}/`);
const ancestors = (p: string): string[] => {
  const out: string[] = [];
  for (let q = parentOf(p); ; q = parentOf(q)) {
    out.push(q);
    if (q === "/") return out;
  }
};

class Model {
  trees = new Map<number, Tree>();
  /** The clock (in steps) at each version's commit. */
  committedAt = new Map<number, number>();
  /** Per version: node ids whose rows an `rm -r` above them orphaned, with the removed top's reach. */
  orphaned = new Map<number, { mids: Set<number>; from: number }>();
  firstBorn = new Map<number, number>();
  /** Directories: the oldest version something moved in below them reaches back to. */
  oldest = new Map<number, number>();
  snapshots = new Map<string, number>();
  contents = new Map<string, Uint8Array>();
  etags = new Map<string, string>();
  clock = 0;
  nextMid = 1;
  latest: number;
  first: number;

  constructor(version: number) {
    this.latest = this.first = version;
    this.trees.set(version, new Map([["/", { mid: 0, type: "directory", size: 0 }]]));
    this.committedAt.set(version, 0);
    this.firstBorn.set(0, version);
  }

  tree(): Tree {
    return this.trees.get(this.latest) as Tree;
  }

  /** The next version's tree, from a change of the latest one. */
  commit(next: Tree): void {
    this.latest++;
    this.trees.set(this.latest, next);
    this.committedAt.set(this.latest, this.clock);
    for (const n of next.values())
      if (!this.firstBorn.has(n.mid)) this.firstBorn.set(n.mid, this.latest);
  }

  /** `mkdir -p` of the parents in `t`; false if one of them is a file. */
  parents(t: Tree, path: string): boolean {
    for (const dir of ancestors(path).reverse()) {
      const n = t.get(dir);
      if (n?.type === "file") return false;
      if (!n) t.set(dir, { mid: this.nextMid++, type: "directory", size: 0 });
    }
    return true;
  }

  /** What `rm -r path` takes from `t` (the node and everything below). */
  take(t: Tree, path: string): MNode[] {
    const gone: MNode[] = [];
    for (const [p, n] of t) {
      if (!within(p, path)) continue;
      gone.push(n);
      t.delete(p);
    }
    return gone;
  }

  floor(): number {
    if (RETENTION_S === 0) return this.latest;
    let floor = 0;
    for (const [v, at] of this.committedAt) {
      if ((this.clock - at) * STEP_S > RETENTION_S && v > floor) floor = v;
    }
    return floor;
  }

  readable(): number[] {
    const lo = Math.max(this.floor(), this.first);
    const out = new Set<number>();
    for (let v = lo; v <= this.latest; v++) out.add(v);
    for (const v of this.snapshots.values()) out.add(v);
    return [...out].sort((a, b) => a - b);
  }

  pinned(lo: number, hi: number): boolean {
    return [...this.snapshots.values()].some((v) => v >= lo && v < hi);
  }

  /**
   * Every row the share should still hold after GC: each run of versions
   * in which a node stood at one place with one content is one row; a
   * replaced or removed one stays while a readable version falls in it, a
   * row orphaned by an `rm -r` above it while the removed subtree's span
   * holds a readable version (a subtree is kept or freed whole).
   */
  rows(): { mid: number; type: string; content?: string; size: number; died: number | null }[] {
    const floor = this.floor();
    const runs = new Map<number, { key: string; born: number; node: MNode }>();
    const out: ReturnType<Model["rows"]> = [];
    const end = (mid: number, run: { born: number; node: MNode }, died: number) => {
      const o = this.orphaned.get(died);
      const keep = o?.mids.has(mid)
        ? died > floor || this.pinned(o.from, died)
        : died > floor || this.pinned(run.born, died);
      if (keep) {
        const n = run.node;
        out.push({
          mid,
          type: n.type,
          content: n.content,
          size: n.size,
          died: o?.mids.has(mid) ? null : died,
        });
      }
    };
    for (let v = this.first; v <= this.latest; v++) {
      const t = this.trees.get(v) as Tree;
      const seen = new Set<number>();
      for (const [p, n] of t) {
        const parent = p === "/" ? -1 : (t.get(parentOf(p)) as MNode).mid;
        const key = `${parent}|${p.slice(p.lastIndexOf("/"))}|${n.content ?? ""}`;
        seen.add(n.mid);
        const run = runs.get(n.mid);
        if (run && run.key === key) continue;
        if (run) end(n.mid, run, v);
        runs.set(n.mid, { key, born: v, node: n });
      }
      for (const [mid, run] of runs) {
        if (!seen.has(mid)) {
          end(mid, run, v);
          runs.delete(mid);
        }
      }
    }
    for (const [mid, run] of runs)
      out.push({
        mid,
        type: run.node.type,
        content: run.node.content,
        size: run.node.size,
        died: -1,
      });
    return out;
  }
}

async function version(s: string): Promise<number> {
  return (await json<{ version: number }>(await api("GET", `/v1/shares/${s}`))).version;
}

interface Stored {
  rows: {
    type: string;
    etag: string | null;
    size: number;
    died: number | null;
    blob_id: string | null;
    inline_id: number | null;
  }[];
  blobs: { id: string; key: string; refs: number }[];
  inline: { id: number; refs: number }[];
  gc: string[];
  history: number;
}

async function stored(s: string): Promise<Stored> {
  return runInDurableObject(stub(s), (_i, state) => {
    const sql = state.storage.sql;
    return {
      rows: sql
        .exec<Stored["rows"][number]>(
          "SELECT type, etag, size, died, blob_id, inline_id FROM nodes",
        )
        .toArray(),
      blobs: sql.exec<Stored["blobs"][number]>("SELECT id, key, refs FROM blobs").toArray(),
      inline: sql.exec<Stored["inline"][number]>("SELECT id, refs FROM inline_data").toArray(),
      gc: sql
        .exec<{ key: string }>("SELECT key FROM gc")
        .toArray()
        .map((r) => r.key),
      history:
        sql
          .exec<{ value: number }>("SELECT value FROM counters WHERE name = 'history_bytes'")
          .toArray()[0]?.value ?? 0,
    };
  });
}

const count = <T>(xs: T[]): Map<T, number> => {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

async function run(ops: Op[]): Promise<void> {
  const s = await newShare("rgc");
  const id = await shareId(s);
  const m = new Model(await version(s));
  let made = 0;
  for (const o of ops) {
    const t = new Map(m.tree());
    let changes = false;
    let ok = true;
    if (o.op === "put") {
      const label = `c${made++}`;
      const bytes = o.big
        ? bytesOf(70_000, made)
        : new TextEncoder().encode(`${label} ${"z".repeat(made % 7)}`);
      const res = await put(s, o.path, bytes as BodyInit);
      ok = m.parents(t, o.path) && t.get(o.path)?.type !== "directory";
      expect(res.status < 300, `${JSON.stringify(o)} → ${res.status}`).toBe(ok);
      if (ok) {
        m.contents.set(label, bytes);
        m.etags.set(label, (await json<{ etag: string }>(res)).etag);
        const old = t.get(o.path);
        t.set(o.path, {
          mid: old?.mid ?? m.nextMid++,
          type: "file",
          content: label,
          size: bytes.byteLength,
        });
        changes = true;
      }
    } else if (o.op === "rm") {
      const res = await api("DELETE", `/v1/shares/${s}/files${o.path}?recursive=true`);
      ok = t.has(o.path);
      expect(res.status < 300, `${JSON.stringify(o)} → ${res.status}`).toBe(ok);
      if (ok) {
        const top = t.get(o.path) as MNode;
        const gone = m.take(t, o.path).filter((n) => n !== top);
        if (top.type === "directory") {
          const from = Math.min(
            m.firstBorn.get(top.mid) as number,
            m.oldest.get(top.mid) ?? Infinity,
          );
          m.orphaned.set(m.latest + 1, { mids: new Set(gone.map((n) => n.mid)), from });
        }
        changes = true;
      }
    } else if (o.op === "move" || o.op === "copy") {
      const res = await api("POST", `/v1/shares/${s}/${o.op}`, {
        body: JSON.stringify({
          from: o.from,
          to: o.to,
          ...(o.op === "copy" ? { recursive: true } : {}),
        }),
      });
      const src = t.get(o.from);
      // A move onto itself is a no-op that answers 200.
      const same = o.op === "move" && o.from === o.to && src !== undefined;
      ok =
        same || (src !== undefined && !t.has(o.to) && !within(o.to, o.from) && m.parents(t, o.to));
      const why = res.status < 300 ? "" : await res.text();
      expect(res.status < 300, `${JSON.stringify(o)} → ${res.status} ${why}`).toBe(ok);
      if (ok && src && !same) {
        const moved = [...t].filter(([p]) => within(p, o.from));
        if (o.op === "move") for (const [p] of moved) t.delete(p);
        for (const [p, n] of moved) {
          t.set(o.to + p.slice(o.from.length), o.op === "move" ? n : { ...n, mid: m.nextMid++ });
        }
        if (o.op === "move" && src.type === "directory") {
          const reach = Math.min(
            m.firstBorn.get(src.mid) as number,
            m.oldest.get(src.mid) ?? Infinity,
          );
          for (const a of ancestors(o.to)) {
            const mid = (t.get(a) as MNode).mid;
            m.oldest.set(mid, Math.min(m.oldest.get(mid) ?? Infinity, reach));
          }
        }
        changes = true;
      }
    } else if (o.op === "snap") {
      const readable = m.readable();
      const v = readable[Math.max(0, readable.length - 1 - o.back)] as number;
      const name = `n${made++}`;
      const res = await api("POST", `/v1/shares/${s}/snapshots`, {
        body: JSON.stringify({ name, version: v }),
      });
      expect(res.status, JSON.stringify(o)).toBe(201);
      m.snapshots.set(name, v);
    } else if (o.op === "unsnap") {
      const names = [...m.snapshots.keys()];
      if (names.length > 0) {
        const name = names[o.pick % names.length] as string;
        expect((await api("DELETE", `/v1/shares/${s}/snapshots/${name}`)).status).toBe(204);
        m.snapshots.delete(name);
      }
    } else if (o.op === "advance") {
      const { steps } = o;
      m.clock += steps;
      await runInDurableObject(stub(s), (_i, state) => {
        state.storage.sql.exec("UPDATE versions SET at = at - ?", steps * STEP_S * 1000);
      });
    }
    if (changes) m.commit(t);
    expect(await version(s), JSON.stringify(o)).toBe(m.latest);
  }
  await settle(s);

  // (a) Every readable version lists as the model has it, and every file of it reads back byte for byte.
  const readAt = new Map<string, { path: string; v: number }>();
  for (const v of m.readable()) {
    const res = await api("GET", `/v1/shares/${s}/list/?recursive=true&limit=1000&version=${v}`);
    expect(res.status, `list at ${v}`).toBe(200);
    const got = (
      await json<{ entries: { path: string; type: string; size: number }[] }>(res)
    ).entries
      .map((e) => `/${e.path} ${e.type} ${e.size}`)
      .sort();
    const tree = m.trees.get(v) as Tree;
    const want = [...tree]
      .filter(([p]) => p !== "/")
      .map(([p, n]) => `${p} ${n.type} ${n.size}`)
      .sort();
    expect(got, `listing at version ${v}`).toEqual(want);
    for (const [path, n] of tree) {
      if (n.content && !readAt.has(n.content)) readAt.set(n.content, { path, v });
    }
  }
  for (const [content, { path, v }] of readAt) {
    const res = await api("GET", `/v1/shares/${s}/files${path}?version=${v}`);
    expect(res.status, `${path} at ${v}`).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(m.contents.get(content));
  }

  // (b) What is stored is exactly what those versions need: rows, bytes, R2 objects, history bytes.
  const want = m.rows();
  const got = await stored(s);
  const label = new Map([...m.etags].map(([l, e]) => [e, l]));
  const files = got.rows.filter((r) => r.type === "file" && r.size > 0);
  expect(new Set(files.map((r) => label.get(r.etag as string)))).toEqual(
    new Set(want.filter((r) => r.type === "file" && r.size > 0).map((r) => r.content)),
  );
  expect(got.rows.filter((r) => r.died !== null).length, "dead rows").toBe(
    want.filter((r) => r.died !== null && r.died !== -1).length,
  );
  expect(got.rows.length, "rows").toBe(want.length);
  // Each blob and inline row is referenced exactly by its count of rows, and nothing else is stored.
  const blobRefs = count(got.rows.flatMap((r) => (r.blob_id ? [r.blob_id] : [])));
  expect(new Map(got.blobs.map((b) => [b.id, b.refs]))).toEqual(blobRefs);
  const inlineRefs = count(got.rows.flatMap((r) => (r.inline_id !== null ? [r.inline_id] : [])));
  expect(new Map(got.inline.map((b) => [b.id, b.refs]))).toEqual(inlineRefs);
  const objects = (await env.BLOBS.list({ prefix: `blobs/${id}/` })).objects.map((o) => o.key);
  const live = new Set(got.blobs.map((b) => b.key));
  for (const k of live) expect(objects, "a needed blob's R2 object").toContain(k);
  for (const k of objects)
    expect(live.has(k) || got.gc.includes(k), `R2 object ${k} is needed or queued`).toBe(true);
  // History bytes: each kept version (node, content) that no live file stands for, once.
  const current = new Set([...m.tree().values()].map((n) => `${n.mid}|${n.content}`));
  const kept = new Map<string, number>();
  for (const r of want) {
    if (r.type === "file" && r.died !== -1 && !current.has(`${r.mid}|${r.content}`)) {
      kept.set(`${r.mid}|${r.content}`, r.size);
    }
  }
  const history = [...kept.values()].reduce((a, b) => a + b, 0);
  expect(got.history, "history bytes counter").toBe(history);
  const info = await json<{ usage: { historyBytes: number } }>(await api("GET", `/v1/shares/${s}`));
  expect(info.usage.historyBytes).toBe(history);
}

/** 50 seeded runs of up to 30 steps: seconds, reproducible. */
export function retentionGcProperty(): Promise<void> {
  return fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 30 }), run), {
    numRuns: 50,
    seed: 20261202,
    endOnFailure: true,
  });
}
