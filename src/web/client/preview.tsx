import { useEffect, useState } from "hono/jsx";
import { type Api, type Entry, errorOf, messageOf, type Reading } from "./api";
import { basename, formatSize, kindOf, previewType } from "./format";

/** Text shows up to this much (a range request): logs of any size open at once. */
export const TEXT_PREVIEW_BYTES = 256 * 1024;
/** Images and PDFs are fetched whole for their preview up to this size. */
const BLOB_PREVIEW_MAX = 50 * 1024 * 1024;

type Shown =
  | { kind: "loading" }
  | { kind: "none"; why: string }
  | { kind: "text"; text: string; truncated: boolean }
  | { kind: "image" | "pdf"; url: string }
  | { kind: "audio" | "video"; url: string };

/**
 * A look at a file without leaving the page. Nothing is ever rendered as a
 * page of this origin: text is shown as text (HTML as its source), images
 * and PDFs come from blobs whose type the app chose (an SVG only inside
 * <img>, where it cannot run script), and audio and video stream from a
 * presigned URL so the player asks for ranges as it seeks.
 */
export function Preview(props: { api: Api; share: string; entry: Entry; reading: Reading }) {
  const { api, share, entry, reading } = props;
  const name = basename(entry.absolutePath);
  const kind = kindOf(name, entry.type, entry.contentType);
  const [shown, setShown] = useState<Shown>({ kind: "loading" });

  useEffect(() => {
    let revoke: string | null = null;
    const ac = new AbortController();
    setShown({ kind: "loading" });
    const url = api.fileUrl(share, entry.absolutePath, reading);
    const run = async (): Promise<Shown> => {
      if (kind === "text" || kind === "code") {
        if (entry.size === 0) return { kind: "text", text: "", truncated: false };
        const res = await fetch(url, {
          headers: api.headers({ range: `bytes=0-${TEXT_PREVIEW_BYTES - 1}` }),
          signal: ac.signal,
        });
        if (!res.ok) throw await errorOf(res);
        return { kind: "text", text: await res.text(), truncated: entry.size > TEXT_PREVIEW_BYTES };
      }
      if (kind === "image" || kind === "pdf") {
        if (entry.size > BLOB_PREVIEW_MAX) {
          return {
            kind: "none",
            why: `No preview: it is ${formatSize(entry.size)}; download it to look.`,
          };
        }
        const res = await fetch(url, { headers: api.headers(), signal: ac.signal });
        if (!res.ok) throw await errorOf(res);
        const blob = new Blob([await res.arrayBuffer()], { type: previewType(name) });
        revoke = URL.createObjectURL(blob);
        return { kind, url: revoke };
      }
      if (kind === "audio" || kind === "video") {
        if (reading) return { kind: "none", why: "Play it from the live share, or download it." };
        const { url: signed } = await api.presign(share, entry.absolutePath, "GET", 3600);
        return { kind, url: signed };
      }
      return { kind: "none", why: "No preview for this kind of file." };
    };
    run().then(
      (s) => {
        if (!ac.signal.aborted) setShown(s);
      },
      (e: unknown) => {
        if (!ac.signal.aborted) setShown({ kind: "none", why: messageOf(e) });
      },
    );
    return () => {
      ac.abort();
      if (revoke) URL.revokeObjectURL(revoke);
    };
  }, [entry.absolutePath, entry.etag, reading?.snapshot]);

  const label = `Preview of ${name}`;
  return (
    <figure class="preview" aria-label={label}>
      {shown.kind === "loading" && <p class="loading">Loading the preview…</p>}
      {shown.kind === "none" && <p class="muted">{shown.why}</p>}
      {shown.kind === "text" && (
        <>
          <pre tabindex={0}>{shown.text}</pre>
          {shown.truncated && (
            <figcaption>
              The first {formatSize(TEXT_PREVIEW_BYTES)} of {formatSize(entry.size)}.
            </figcaption>
          )}
        </>
      )}
      {shown.kind === "image" && <img src={shown.url} alt={label} />}
      {shown.kind === "pdf" && <iframe src={shown.url} title={label} />}
      {shown.kind === "audio" && (
        // biome-ignore lint/a11y/useMediaCaption: user files come without captions
        <audio controls preload="metadata" src={shown.url} aria-label={label} />
      )}
      {shown.kind === "video" && (
        // biome-ignore lint/a11y/useMediaCaption: user files come without captions
        <video controls preload="metadata" src={shown.url} aria-label={label} />
      )}
    </figure>
  );
}
