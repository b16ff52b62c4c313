import { useEffect, useState } from "hono/jsx";
import type { Api, Entry, HistoryEntry, Lease, Reading, Snapshot } from "./api";
import { messageOf } from "./api";
import { basename, formatDate, formatSize, kindOf } from "./format";
import { notify } from "./notices";
import { Preview } from "./preview";

const EXPIRIES = [
  { label: "15 minutes", seconds: 900 },
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 86_400 },
  { label: "7 days", seconds: 604_800 },
];

/**
 * Where a history entry's bytes can still be read from. An entry stood
 * from its version until the next entry's, and any version in between
 * reads the same: a snapshot there keeps it, else the last version before
 * it was replaced is the likeliest to be inside the retention window.
 */
function readableFrom(
  v: HistoryEntry,
  newer: HistoryEntry | undefined,
  snapshots: Snapshot[],
): { version: number } | { snapshot: string } {
  const until = newer ? newer.version - 1 : Number.MAX_SAFE_INTEGER;
  const kept = snapshots.find((s) => s.version >= v.version && s.version <= until);
  if (kept) return { snapshot: kept.name };
  return { version: newer ? until : v.version };
}

/** One entry: what it is, a preview, and what can be done with it. */
export function Details(props: {
  api: Api;
  share: string;
  entry: Entry;
  reading: Reading;
  canWrite: boolean;
  canRestore: boolean;
  leases: Lease[];
  snapshots: Snapshot[];
  onClose: () => void;
  onDelete: ((e: Entry) => void) | null;
  onMove: ((e: Entry) => void) | null;
  onChanged: () => void;
}) {
  const { api, share, entry, reading } = props;
  const name = basename(entry.absolutePath);
  const isFile = entry.type === "file";
  const lease = props.leases.find((l) => l.path === entry.absolutePath);
  const [expiry, setExpiry] = useState(3600);
  const [link, setLink] = useState<string | null>(null);
  const [history, setHistory] = useState<HistoryEntry[] | null>(null);
  const [historyError, setHistoryError] = useState<string | null>(null);

  useEffect(() => {
    setLink(null);
    setHistory(null);
    setHistoryError(null);
  }, [entry.absolutePath]);

  const makeLink = async () => {
    try {
      const { url } = await api.presign(share, entry.absolutePath, "GET", expiry);
      const full = new URL(url, location.href).href;
      setLink(full);
      try {
        await navigator.clipboard.writeText(full);
        notify("The link is copied to the clipboard.");
      } catch {
        notify("The link is below: copy it from the field.");
      }
    } catch (e) {
      notify(messageOf(e), true);
    }
  };

  const download = async () => {
    try {
      // A short link, so the browser downloads with its own progress and no token in the URL.
      const { url } = await api.presign(share, entry.absolutePath, "GET", 300);
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      a.click();
    } catch (e) {
      notify(messageOf(e), true);
    }
  };

  const loadHistory = async () => {
    try {
      setHistoryError(null);
      setHistory((await api.history(share, entry.absolutePath)).versions);
    } catch (e) {
      setHistoryError(messageOf(e));
    }
  };

  const restore = async (from: { version: number } | { snapshot: string }, label: string) => {
    try {
      const r = await api.restore(share, entry.absolutePath, from);
      notify(`Restored ${name} from ${label} (now version ${r.version}).`);
      props.onChanged();
      if (history) await loadHistory();
    } catch (e) {
      notify(messageOf(e), true);
    }
  };

  return (
    <aside class="details" aria-labelledby="details-title">
      <div class="bar">
        <h2 id="details-title">{name}</h2>
        <button type="button" class="icon" aria-label="Close details" onClick={props.onClose}>
          ×
        </button>
      </div>
      <dl class="facts">
        <dt>Path</dt>
        <dd>{entry.absolutePath}</dd>
        <dt>Kind</dt>
        <dd>
          {entry.type === "directory" ? "folder" : kindOf(name, entry.type, entry.contentType)}
        </dd>
        {isFile && (
          <>
            <dt>Size</dt>
            <dd>
              {formatSize(entry.size)} ({entry.size.toLocaleString()} bytes)
            </dd>
          </>
        )}
        <dt>Modified</dt>
        <dd>{formatDate(entry.mtime)}</dd>
        {lease && (
          <>
            <dt>Lease</dt>
            <dd>
              held{lease.owner ? ` by ${lease.owner}` : ""} until {formatDate(lease.expiresAt)}
            </dd>
          </>
        )}
      </dl>

      {isFile && <Preview api={api} share={share} entry={entry} reading={reading} />}

      <div class="actions wrap">
        {isFile && (
          <button type="button" onClick={download}>
            Download
          </button>
        )}
        {props.onMove && (
          <button type="button" onClick={() => props.onMove?.(entry)}>
            Rename or move
          </button>
        )}
        {props.onDelete && (
          <button type="button" class="danger" onClick={() => props.onDelete?.(entry)}>
            Delete
          </button>
        )}
        {reading && props.canRestore && (
          <button
            type="button"
            onClick={() =>
              restore({ snapshot: reading.snapshot }, `the snapshot ${reading.snapshot}`)
            }
          >
            Restore from this snapshot
          </button>
        )}
      </div>

      {isFile && (
        <section class="link" aria-labelledby="link-title">
          <h3 id="link-title">Share a link</h3>
          <div class="row-form">
            <label>
              <span>Expires after</span>
              <select
                value={String(expiry)}
                onChange={(e: Event) => setExpiry(Number((e.target as HTMLSelectElement).value))}
              >
                {EXPIRIES.map((x) => (
                  <option key={x.seconds} value={String(x.seconds)}>
                    {x.label}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" onClick={makeLink}>
              Copy link
            </button>
          </div>
          {link && (
            <label class="field">
              <span>Link (anyone with it can read this file until it expires)</span>
              <input
                type="text"
                readonly
                value={link}
                onFocus={(e: Event) => (e.target as HTMLInputElement).select()}
              />
            </label>
          )}
        </section>
      )}

      {!reading && (
        <section class="history" aria-labelledby="history-title">
          <h3 id="history-title">History</h3>
          {history === null ? (
            <button type="button" onClick={loadHistory}>
              Show versions
            </button>
          ) : history.length === 0 ? (
            <p>No earlier versions are kept.</p>
          ) : (
            <ol class="versions">
              {history.map((v, i) => (
                <li key={v.version}>
                  <span>
                    Version {v.version}:{" "}
                    {v.deleted ? "deleted" : `${v.type === "file" ? formatSize(v.size) : "folder"}`}
                    , {formatDate(v.mtime)}
                    {i === 0 && !v.deleted ? " (current)" : ""}
                  </span>
                  {props.canRestore && !v.deleted && i > 0 && (
                    <button
                      type="button"
                      onClick={() =>
                        restore(
                          readableFrom(v, history[i - 1], props.snapshots),
                          `version ${v.version}`,
                        )
                      }
                    >
                      Restore version {v.version}
                    </button>
                  )}
                </li>
              ))}
            </ol>
          )}
          {historyError && (
            <p class="error" role="alert">
              {historyError}
            </p>
          )}
        </section>
      )}
    </aside>
  );
}
