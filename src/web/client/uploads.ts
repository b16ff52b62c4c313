// Uploads from the browser: small files in one PUT, large ones through the
// multipart API (docs/api.md "Large files") so they can be paused, resumed
// and cancelled, and resumed after a reload. XMLHttpRequest, not fetch:
// only it reports upload progress. What a paused upload needs to go on
// (its id, path and the file's identity, never the token) is kept in
// localStorage; after a reload the person picks the same file again and
// the upload continues from the parts the gateway already has.
import { type Api, encodePath, errorOf } from "./api";

/** Files up to this size go in one request; bigger ones in parts. */
export const SINGLE_PUT_MAX = 8 * 1024 * 1024;
/** Parts are this big (or bigger, for files past 10,000 of them): a pause loses at most one. */
const PART_SIZE = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Parts in flight at once for one file. */
const PARTS_IN_FLIGHT = 3;
const STORE_KEY = "edgefs.uploads";

export type UploadState =
  | "queued"
  | "uploading"
  | "paused"
  | "done"
  | "failed"
  | "cancelled"
  | "waiting-for-file";

/** What survives a reload: enough to find the upload and check the file is the same. */
export interface UploadRecord {
  id: string;
  env: string;
  share: string;
  path: string;
  name: string;
  size: number;
  lastModified: number;
  uploadId?: string;
  partSize?: number;
}

export interface Upload extends UploadRecord {
  state: UploadState;
  sent: number;
  error?: string;
  file?: File;
}

type Listener = (uploads: Upload[]) => void;

function partSizeFor(size: number): number {
  const MiB = 1024 * 1024;
  return Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

function loadRecords(): UploadRecord[] {
  try {
    const raw = localStorage.getItem(STORE_KEY);
    return raw ? (JSON.parse(raw) as UploadRecord[]) : [];
  } catch {
    return [];
  }
}

/** The uploads of this browser, and the work of sending them. */
export class Uploads {
  private readonly list: Upload[] = [];
  private readonly inflight = new Map<string, Set<XMLHttpRequest>>();
  private readonly listeners = new Set<Listener>();
  private running = 0;
  /** Files sent at once. */
  private readonly parallel = 2;

  constructor(private api: Api) {
    for (const r of loadRecords()) {
      this.list.push({ ...r, state: "waiting-for-file", sent: 0 });
    }
  }

  setApi(api: Api): void {
    this.api = api;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    l(this.snapshot());
    return () => this.listeners.delete(l);
  }

  snapshot(): Upload[] {
    return this.list.map((u) => ({ ...u }));
  }

  private changed(): void {
    const records: UploadRecord[] = this.list
      .filter(
        (u) =>
          u.uploadId &&
          (u.state === "uploading" ||
            u.state === "paused" ||
            u.state === "waiting-for-file" ||
            u.state === "queued"),
      )
      .map(({ id, env, share, path, name, size, lastModified, uploadId, partSize }) => ({
        id,
        env,
        share,
        path,
        name,
        size,
        lastModified,
        uploadId,
        partSize,
      }));
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(records));
    } catch {
      // Storage full or disabled: uploads still work, only not across a reload.
    }
    const s = this.snapshot();
    for (const l of this.listeners) l(s);
  }

  /** Queues files for `share` at their paths; returns when all have been queued. */
  add(share: string, files: { file: File; path: string }[]): void {
    for (const { file, path } of files) {
      this.list.push({
        id: crypto.randomUUID(),
        env: this.api.env,
        share,
        path,
        name: file.name,
        size: file.size,
        lastModified: file.lastModified,
        state: "queued",
        sent: 0,
        file,
      });
    }
    this.changed();
    this.pump();
  }

  private find(id: string): Upload {
    const u = this.list.find((x) => x.id === id);
    if (!u) throw new Error(`no upload ${id}`);
    return u;
  }

  pause(id: string): void {
    const u = this.find(id);
    if (u.state !== "uploading" && u.state !== "queued") return;
    u.state = "paused";
    this.abortRequests(id);
    this.changed();
  }

  resume(id: string): void {
    const u = this.find(id);
    if (u.state !== "paused" && u.state !== "failed") return;
    u.state = "queued";
    u.error = undefined;
    this.changed();
    this.pump();
  }

  /** After a reload: the file picked again must be the one the upload started with. */
  attach(id: string, file: File): string | null {
    const u = this.find(id);
    if (file.name !== u.name || file.size !== u.size || file.lastModified !== u.lastModified) {
      return `That is not the same file: the upload was of ${u.name}, ${u.size} bytes. Choose that file to resume.`;
    }
    u.file = file;
    u.error = undefined;
    u.state = "queued";
    this.changed();
    this.pump();
    return null;
  }

  async cancel(id: string): Promise<void> {
    const u = this.find(id);
    const wasActive = u.state !== "done" && u.state !== "cancelled";
    u.state = "cancelled";
    this.abortRequests(id);
    this.changed();
    if (wasActive && u.uploadId) {
      // Releases what the parts stored; an upload already gone is fine.
      await this.apiFor(u)
        .request("DELETE", `/shares/${encodeURIComponent(u.share)}/uploads/${u.uploadId}`)
        .catch(() => undefined);
    }
    this.remove(id);
  }

  /** Says why an upload cannot go on (it stays where it was). */
  fail(id: string, message: string): void {
    this.find(id).error = message;
    this.changed();
  }

  /** Forgets a finished, failed or cancelled upload. */
  remove(id: string): void {
    const i = this.list.findIndex((u) => u.id === id);
    if (i >= 0) this.list.splice(i, 1);
    this.changed();
  }

  private apiFor(u: Upload): Api {
    return u.env === this.api.env ? this.api : this.api.withEnv(u.env);
  }

  private abortRequests(id: string): void {
    for (const xhr of this.inflight.get(id) ?? []) xhr.abort();
    this.inflight.delete(id);
  }

  private pump(): void {
    while (this.running < this.parallel) {
      const next = this.list.find((u) => u.state === "queued" && u.file);
      if (!next) return;
      next.state = "uploading";
      this.running++;
      this.changed();
      this.send(next)
        .then(() => {
          if (next.state === "uploading") next.state = "done";
        })
        .catch((e: unknown) => {
          if (next.state === "uploading") {
            next.state = "failed";
            next.error = e instanceof Error ? e.message : String(e);
          }
        })
        .finally(() => {
          this.running--;
          this.changed();
          this.pump();
        });
    }
  }

  private async send(u: Upload): Promise<void> {
    const file = u.file as File;
    if (!u.uploadId && file.size <= SINGLE_PUT_MAX) {
      const url = this.apiFor(u).url(
        `/shares/${encodeURIComponent(u.share)}/files${encodePath(u.path)}`,
      );
      await this.xhr(u, "PUT", url, file, (n) => {
        u.sent = n;
        this.changed();
      });
      u.sent = file.size;
      return;
    }
    const api = this.apiFor(u);
    const base = `/shares/${encodeURIComponent(u.share)}/uploads`;
    let done = new Map<number, number>();
    if (u.uploadId) {
      // Resuming: the gateway says which parts it has; only the others are sent.
      const status = await api.json<{
        partSize?: number;
        parts: { partNumber: number; size: number }[];
      }>("GET", `${base}/${u.uploadId}`);
      u.partSize = status.partSize ?? u.partSize;
      done = new Map(status.parts.map((p) => [p.partNumber, p.size]));
    } else {
      const created = await api.json<{ uploadId: string; partSize: number }>("POST", base, {
        body: { path: u.path, size: file.size, partSize: partSizeFor(file.size) },
      });
      u.uploadId = created.uploadId;
      u.partSize = created.partSize;
      this.changed();
    }
    const partSize = u.partSize as number;
    const count = Math.max(1, Math.ceil(file.size / partSize));
    const sentOf = new Map<number, number>(done);
    const total = () => [...sentOf.values()].reduce((a, b) => a + b, 0);
    u.sent = total();
    this.changed();
    const todo: number[] = [];
    for (let n = 1; n <= count; n++) if (!done.has(n)) todo.push(n);
    const worker = async () => {
      for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
        if (u.state !== "uploading") return;
        const part = file.slice((n - 1) * partSize, Math.min(file.size, n * partSize));
        const partNumber = n;
        try {
          await this.xhr(u, "PUT", api.url(`${base}/${u.uploadId}/parts/${n}`), part, (sent) => {
            sentOf.set(partNumber, sent);
            u.sent = total();
            this.changed();
          });
        } catch (e) {
          // A part counts only once the gateway has it whole: progress falls back to those.
          sentOf.delete(partNumber);
          u.sent = total();
          throw e;
        }
        sentOf.set(partNumber, part.size);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, todo.length) }, worker));
    if (u.state !== "uploading") return;
    await api.request("POST", `${base}/${u.uploadId}/complete`);
    u.sent = file.size;
  }

  /** One request with upload progress; rejects with the gateway's error in words. */
  private xhr(
    u: Upload,
    method: string,
    url: string,
    body: Blob,
    progress: (n: number) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      let set = this.inflight.get(u.id);
      if (!set) {
        set = new Set();
        this.inflight.set(u.id, set);
      }
      set.add(xhr);
      xhr.open(method, url);
      xhr.setRequestHeader("authorization", `Bearer ${this.api.token}`);
      xhr.upload.onprogress = (e) => progress(e.loaded);
      xhr.onload = async () => {
        set.delete(xhr);
        if (xhr.status >= 200 && xhr.status < 300) return resolve();
        const res = new Response(xhr.responseText, {
          status: xhr.status,
          statusText: xhr.statusText,
        });
        reject(await errorOf(res));
      };
      xhr.onerror = () => {
        set.delete(xhr);
        reject(new Error("The connection to the gateway was lost during the upload."));
      };
      xhr.onabort = () => {
        set.delete(xhr);
        reject(new Error("stopped"));
      };
      xhr.send(body);
    });
  }
}
