// How things look: sizes, dates, the kind of a file from its name, and
// which preview a kind gets.

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB", "PB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
export const formatDate = (ms: number) => (ms > 0 ? dateFormat.format(new Date(ms)) : "—");

export type Kind =
  | "folder"
  | "image"
  | "audio"
  | "video"
  | "pdf"
  | "text"
  | "code"
  | "archive"
  | "data"
  | "other";

const EXTENSIONS: Record<string, Kind> = {};
const add = (kind: Kind, list: string) => {
  for (const ext of list.split(" ")) EXTENSIONS[ext] = kind;
};
add("image", "png jpg jpeg gif webp avif bmp ico svg");
add("audio", "mp3 wav ogg oga opus flac m4a aac");
add("video", "mp4 m4v webm mov ogv");
add("pdf", "pdf");
add("text", "txt md markdown log rst csv tsv ini cfg conf env");
add(
  "code",
  "js mjs cjs ts tsx jsx json jsonl ndjson yaml yml toml xml html htm css scss py rb go rs java c h cc cpp hpp cs php sh bash zsh sql swift kt r jl lua pl ipynb dockerfile makefile",
);
add("archive", "zip tar gz tgz bz2 xz zst 7z rar");
add("data", "parquet arrow feather h5 hdf5 npy npz pkl pt safetensors bin db sqlite");

export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot + 1) : base;
}

export function kindOf(name: string, type: "file" | "directory", contentType?: string): Kind {
  if (type === "directory") return "folder";
  const byName = EXTENSIONS[extensionOf(name)];
  if (byName) return byName;
  if (contentType?.startsWith("text/")) return "text";
  if (contentType?.startsWith("image/")) return "image";
  return "other";
}

/**
 * The MIME type a preview blob is made with: chosen here, never taken from
 * the file. Only the types the app previews from a blob; the Worker's full
 * table (src/core/attributes.ts) is not importable from the browser app.
 */
export function previewType(name: string): string {
  const ext = extensionOf(name);
  const types: Record<string, string> = {
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
    avif: "image/avif",
    bmp: "image/bmp",
    ico: "image/x-icon",
    svg: "image/svg+xml",
    pdf: "application/pdf",
  };
  return types[ext] ?? "application/octet-stream";
}

export function basename(path: string): string {
  const trimmed = path.endsWith("/") && path.length > 1 ? path.slice(0, -1) : path;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) || "/";
}

export function joinPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}
