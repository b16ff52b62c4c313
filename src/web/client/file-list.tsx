import { useEffect, useRef, useState } from "hono/jsx";
import type { Entry, Lease, Mount } from "./api";
import { formatDate, formatSize, kindOf } from "./format";
import { KindIcon } from "./icons";
import type { Sort, SortKey } from "./listing";

/** Every row is this tall (CSS --row), so the list can be windowed. */
const ROW = 44;
/** Rows drawn beyond the visible ones, above and below. */
const OVERSCAN = 12;
/** How close to the end of what is loaded the next page is asked for. */
const PREFETCH_ROWS = 60;

interface Props {
  entries: Entry[];
  dir: string;
  glob: boolean;
  sort: Sort;
  onSort: (s: Sort) => void;
  loading: boolean;
  more: boolean;
  onNeedMore: () => void;
  onOpen: (e: Entry) => void;
  onDetails: (e: Entry) => void;
  onDelete: ((e: Entry) => void) | null;
  onMove: ((e: Entry) => void) | null;
  selected: string | null;
  mounts: Mount[];
  leases: Lease[];
}

/** The name a row shows: relative to the folder (glob matches come absolute). */
function nameOf(e: Entry, dir: string, glob: boolean): string {
  if (!glob) return e.path;
  const prefix = dir === "/" ? "/" : `${dir}/`;
  return e.absolutePath.startsWith(prefix) ? e.absolutePath.slice(prefix.length) : e.absolutePath;
}

/**
 * The entries as a table whose rows are windowed: only the rows in view
 * (and a few around) exist in the DOM, so 100,000 entries scroll as fast
 * as 100. The table's size is told to assistive technology with
 * aria-rowcount / aria-rowindex. Keys: ↑ ↓ Home End move, Enter opens,
 * F2 renames, Delete deletes.
 */
export function FileList(props: Props) {
  const { entries, sort } = props;
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [focusIndex, setFocusIndex] = useState<number | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setHeight(el.clientHeight || 600);
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (box.current) box.current.scrollTop = 0;
    setTop(0);
  }, [props.dir]);

  // The scroll box holds the header row (one ROW, sticky) above the body's rows.
  const first = Math.max(0, Math.floor(top / ROW) - 1 - OVERSCAN);
  const last = Math.min(entries.length, Math.ceil((top + height) / ROW) + OVERSCAN);

  useEffect(() => {
    if (props.more && !props.loading && last + PREFETCH_ROWS >= entries.length) props.onNeedMore();
  }, [last, entries.length, props.more, props.loading]);

  // After a key moved the focus to a row that was not drawn yet.
  useEffect(() => {
    if (focusIndex === null) return;
    const el = box.current?.querySelector<HTMLElement>(`[data-index="${focusIndex}"] .name`);
    if (el && document.activeElement !== el) el.focus();
  }, [focusIndex, first, last]);

  const moveFocus = (i: number) => {
    const el = box.current;
    if (!el || entries.length === 0) return;
    const n = Math.max(0, Math.min(entries.length - 1, i));
    // Row n spans [(n + 1) * ROW, (n + 2) * ROW) below the header.
    if (n * ROW < el.scrollTop) el.scrollTop = n * ROW;
    else if ((n + 2) * ROW > el.scrollTop + el.clientHeight)
      el.scrollTop = (n + 2) * ROW - el.clientHeight;
    setTop(el.scrollTop);
    setFocusIndex(n);
  };

  const onKeyDown = (ev: KeyboardEvent) => {
    const row = (ev.target as HTMLElement).closest<HTMLElement>("[data-index]");
    if (!row) return;
    const i = Number(row.dataset.index);
    const e = entries[i];
    const page = Math.max(1, Math.floor(height / ROW) - 1);
    const keys: Record<string, () => void> = {
      ArrowDown: () => moveFocus(i + 1),
      ArrowUp: () => moveFocus(i - 1),
      PageDown: () => moveFocus(i + page),
      PageUp: () => moveFocus(i - page),
      Home: () => moveFocus(0),
      End: () => moveFocus(entries.length - 1),
      Delete: () => e && props.onDelete?.(e),
      F2: () => e && props.onMove?.(e),
    };
    const action = keys[ev.key];
    if (action) {
      ev.preventDefault();
      action();
    }
  };

  const header = (key: SortKey, label: string) => {
    const active = sort.by === key;
    return (
      <th
        scope="col"
        class={`cell ${key}`}
        aria-sort={active ? (sort.descending ? "descending" : "ascending") : "none"}
      >
        <button
          type="button"
          class="sort"
          onClick={() =>
            props.onSort({ by: key, descending: active ? !sort.descending : key !== "name" })
          }
        >
          {label}
          <span aria-hidden="true">{active ? (sort.descending ? " ▼" : " ▲") : ""}</span>
        </button>
      </th>
    );
  };

  const mountPaths = new Set(props.mounts.map((m) => m.path));
  const leased = new Map(props.leases.map((l) => [l.path, l]));
  const rows = [];
  for (let i = first; i < last; i++) {
    const e = entries[i] as Entry;
    const name = nameOf(e, props.dir, props.glob);
    const kind = kindOf(name, e.type, e.contentType);
    const lease = leased.get(e.absolutePath);
    rows.push(
      <tr
        key={e.absolutePath}
        class={props.selected === e.absolutePath ? "row selected" : "row"}
        aria-rowindex={i + 2}
        data-index={i}
      >
        <td class="cell name-cell">
          <KindIcon kind={kind} />
          <button
            type="button"
            class="name"
            tabindex={i === (focusIndex ?? 0) ? 0 : -1}
            onFocus={() => setFocusIndex(i)}
            onClick={() => props.onOpen(e)}
            aria-label={`${name}, ${e.type === "directory" ? "folder" : kind === "other" ? "file" : `${kind} file`}`}
          >
            {name}
            {e.type === "directory" ? "/" : ""}
          </button>
          {mountPaths.has(e.absolutePath) && <span class="badge mount">bucket</span>}
          {lease && (
            <span class="badge lease" title={`leased until ${formatDate(lease.expiresAt)}`}>
              leased{lease.owner ? ` by ${lease.owner}` : ""}
            </span>
          )}
        </td>
        <td class="cell size">{e.type === "directory" ? "—" : formatSize(e.size)}</td>
        <td class="cell mtime">{formatDate(e.mtime)}</td>
        <td class="cell actions">
          <button
            type="button"
            class="icon"
            tabindex={-1}
            aria-label={`Details and actions for ${name}`}
            onClick={() => props.onDetails(e)}
          >
            ⋯
          </button>
        </td>
      </tr>,
    );
  }

  // Known once the listing has no more pages.
  const count = props.more ? null : entries.length;
  return (
    <div class="list-wrap">
      <div
        ref={box}
        class="file-scroll"
        onScroll={(ev: Event) => setTop((ev.target as HTMLElement).scrollTop)}
      >
        <table
          class="file-table"
          aria-label="Files"
          aria-rowcount={count === null ? -1 : count + 1}
          aria-busy={props.loading}
        >
          <thead class="head">
            <tr class="row header" aria-rowindex={1}>
              {header("name", "Name")}
              {header("size", "Size")}
              {header("mtime", "Modified")}
              <th scope="col" class="cell actions">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody
            class="body"
            onKeyDown={onKeyDown}
            // Rows above and below the window are empty space of the right height.
            style={{
              paddingTop: `${first * ROW}px`,
              paddingBottom: `${(entries.length - last) * ROW}px`,
            }}
          >
            {rows}
          </tbody>
        </table>
      </div>
      <p class="count" aria-live="polite">
        {entries.length === 0 && !props.loading
          ? "This folder is empty."
          : count !== null
            ? `${count.toLocaleString()} ${count === 1 ? "entry" : "entries"}`
            : `${entries.length.toLocaleString()} loaded, more as you scroll${props.loading ? "…" : ""}`}
      </p>
    </div>
  );
}
