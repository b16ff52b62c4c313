// File type icons, drawn here (no icon font, no emoji font needed): a
// folder, or a page with its kind's colour and a short label.
import type { Kind } from "./format";

const LOOK: Record<Exclude<Kind, "folder">, { color: string; label: string }> = {
  image: { color: "#1a7f37", label: "IMG" },
  audio: { color: "#8250df", label: "AUD" },
  video: { color: "#bf3989", label: "VID" },
  pdf: { color: "#cf222e", label: "PDF" },
  text: { color: "#57606a", label: "TXT" },
  code: { color: "#0969da", label: "</>" },
  archive: { color: "#9a6700", label: "ZIP" },
  data: { color: "#1b7c83", label: "DAT" },
  other: { color: "#6e7781", label: "" },
};

/** The icons' common frame: decorative, so hidden from assistive technology. */
function Frame(props: { children: unknown }) {
  return (
    <svg
      class="kind-icon"
      viewBox="0 0 24 24"
      width="22"
      height="22"
      aria-hidden="true"
      focusable="false"
    >
      {props.children}
    </svg>
  );
}

export function KindIcon(props: { kind: Kind }) {
  if (props.kind === "folder") {
    return (
      <Frame>
        <path
          d="M2 6a2 2 0 0 1 2-2h5l2 2h9a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2z"
          fill="#d4a72c"
        />
      </Frame>
    );
  }
  const { color, label } = LOOK[props.kind];
  return (
    <Frame>
      <path d="M5 2h9l5 5v15H5z" fill="none" stroke={color} stroke-width="1.5" />
      <path d="M14 2v5h5" fill="none" stroke={color} stroke-width="1.5" />
      {label && (
        <text
          x="12"
          y="18"
          text-anchor="middle"
          font-size="6"
          font-family="system-ui, sans-serif"
          font-weight="700"
          fill={color}
        >
          {label}
        </text>
      )}
    </Frame>
  );
}
