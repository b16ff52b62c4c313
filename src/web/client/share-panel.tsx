import { useEffect, useState } from "hono/jsx";
import type { Api, ShareDetail } from "./api";
import { messageOf } from "./api";
import { formatSize } from "./format";
import { notify } from "./notices";

const GB = 1024 ** 3;

/** The share's usage, and its quota for admins (docs/api.md "Shares"). */
export function SharePanel(props: {
  api: Api;
  share: string;
  info: ShareDetail | null;
  admin: boolean;
  onChanged: () => void;
}) {
  const { info } = props;
  const [maxGb, setMaxGb] = useState("");
  const [maxFiles, setMaxFiles] = useState("");
  useEffect(() => {
    const q = info?.quota;
    setMaxGb(q?.bytes !== undefined ? String(q.bytes / GB) : "");
    setMaxFiles(q?.files !== undefined ? String(q.files) : "");
  }, [info]);
  if (!info) return null;
  const { usage, quota } = info;

  const save = async (e: Event) => {
    e.preventDefault();
    const bytes = maxGb.trim() === "" ? null : Math.round(Number(maxGb) * GB);
    const files = maxFiles.trim() === "" ? null : Number(maxFiles);
    if (
      (bytes !== null && !(bytes >= 0)) ||
      (files !== null && !(Number.isInteger(files) && files >= 0))
    ) {
      notify("A quota is a number of GB and a whole number of files, or empty for no limit.", true);
      return;
    }
    try {
      await props.api.setQuota(props.share, { bytes, files });
      notify(`Saved the quota of ${props.share}.`);
      props.onChanged();
    } catch (err) {
      notify(messageOf(err), true);
    }
  };

  return (
    <details class="share-panel">
      <summary>
        Share {props.share}: {formatSize(usage.bytes)} in {usage.files.toLocaleString()} files
      </summary>
      <dl class="facts">
        <dt>Version</dt>
        <dd>{info.version}</dd>
        <dt>Kept for history</dt>
        <dd>{formatSize(usage.historyBytes)}</dd>
        <dt>Quota</dt>
        <dd>
          {quota.bytes !== undefined ? formatSize(quota.bytes) : "no byte limit"},{" "}
          {quota.files !== undefined ? `${quota.files.toLocaleString()} files` : "no file limit"}
        </dd>
      </dl>
      {props.admin && (
        <form class="row-form" onSubmit={save}>
          <label>
            <span>Max size (GB)</span>
            <input
              type="number"
              min="0"
              step="any"
              inputmode="decimal"
              value={maxGb}
              onInput={(e: Event) => setMaxGb((e.target as HTMLInputElement).value)}
            />
          </label>
          <label>
            <span>Max files</span>
            <input
              type="number"
              min="0"
              step="1"
              value={maxFiles}
              onInput={(e: Event) => setMaxFiles((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit">Save quota</button>
        </form>
      )}
    </details>
  );
}
