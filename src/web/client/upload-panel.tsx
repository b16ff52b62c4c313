import { useEffect, useState } from "hono/jsx";
import { formatSize } from "./format";
import type { Upload, Uploads } from "./uploads";

const STATE_WORDS: Record<Upload["state"], string> = {
  queued: "waiting",
  uploading: "uploading",
  paused: "paused",
  done: "done",
  failed: "failed",
  cancelled: "cancelled",
  "waiting-for-file": "paused — choose the file again to resume",
};

/** Every upload of this browser with its progress, and pause, resume, cancel. */
export function UploadPanel(props: { uploads: Uploads }) {
  const [list, setList] = useState<Upload[]>([]);
  useEffect(() => props.uploads.subscribe(setList), []);
  if (list.length === 0) return null;
  const active = list.filter((u) => u.state === "uploading" || u.state === "queued").length;
  return (
    <section class="uploads" aria-labelledby="uploads-title">
      <h2 id="uploads-title">Uploads{active > 0 ? ` (${active} in progress)` : ""}</h2>
      <ul>
        {list.map((u) => {
          const pct =
            u.size > 0 ? Math.floor((u.sent / u.size) * 100) : u.state === "done" ? 100 : 0;
          return (
            <li key={u.id} class={`upload ${u.state}`} data-path={u.path}>
              <div class="upload-line">
                <span class="upload-name" title={u.path}>
                  {u.path}
                </span>
                <span class="upload-state">
                  {STATE_WORDS[u.state]} · {formatSize(u.sent)} of {formatSize(u.size)}
                </span>
              </div>
              <progress max={100} value={pct} aria-label={`${u.path}: ${pct}%`} />
              {u.error && (
                <p class="error" role="alert">
                  {u.error}
                </p>
              )}
              <div class="actions">
                {(u.state === "uploading" || u.state === "queued") && (
                  <button type="button" onClick={() => props.uploads.pause(u.id)}>
                    Pause <span class="visually-hidden">{u.path}</span>
                  </button>
                )}
                {(u.state === "paused" || u.state === "failed") && (
                  <button type="button" onClick={() => props.uploads.resume(u.id)}>
                    Resume <span class="visually-hidden">{u.path}</span>
                  </button>
                )}
                {u.state === "waiting-for-file" && (
                  <label class="button">
                    Choose {u.name} to resume
                    <input
                      type="file"
                      class="visually-hidden"
                      onChange={(e: Event) => {
                        const input = e.target as HTMLInputElement;
                        const file = input.files?.[0];
                        input.value = "";
                        if (!file) return;
                        const problem = props.uploads.attach(u.id, file);
                        if (problem) props.uploads.fail(u.id, problem);
                      }}
                    />
                  </label>
                )}
                {u.state !== "done" && u.state !== "cancelled" ? (
                  <button type="button" onClick={() => props.uploads.cancel(u.id)}>
                    Cancel <span class="visually-hidden">{u.path}</span>
                  </button>
                ) : (
                  <button type="button" onClick={() => props.uploads.remove(u.id)}>
                    Dismiss <span class="visually-hidden">{u.path}</span>
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
