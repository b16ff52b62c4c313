import { useCallback, useEffect, useMemo, useRef, useState } from "hono/jsx";
import type { Api, Entry, Lease, Mount, Principal, Reading, ShareDetail, Snapshot } from "./api";
import { messageOf } from "./api";
import { Details } from "./details";
import { ask } from "./dialog";
import { FileList } from "./file-list";
import { basename, joinPath } from "./format";
import { isGlob, listAll, listTarget, needsAll, type Sort, sortEntries } from "./listing";
import { notify } from "./notices";
import { filesOfDrop, filesOfInput } from "./picked";
import { formatRoute, go, type Route } from "./route";
import { SharePanel } from "./share-panel";
import type { Uploads } from "./uploads";

const PAGE = 500;

interface Listing {
  entries: Entry[];
  cursor?: string;
  loading: boolean;
  /** While every entry is streamed in for a sort: how many so far. */
  loadingAll: number | null;
  error: string | null;
}

const empty: Listing = {
  entries: [],
  loading: true,
  loadingAll: null,
  error: null,
};

export function Browser(props: { api: Api; principal: Principal; route: Route; uploads: Uploads }) {
  const { api, route, uploads } = props;
  const share = route.share as string;
  const dir = route.path;
  const reading: Reading = route.snapshot ? { snapshot: route.snapshot } : null;
  const readOnly = reading !== null;
  const canWrite = props.principal.permissions.includes("write") && !readOnly;
  const admin = props.principal.permissions.includes("admin");

  const [filter, setFilter] = useState("");
  const [appliedFilter, setAppliedFilter] = useState("");
  const [sort, setSort] = useState<Sort>({ by: "name", descending: false });
  const [listing, setListing] = useState<Listing>(empty);
  const [selected, setSelected] = useState<Entry | null>(null);
  const [mounts, setMounts] = useState<Mount[]>([]);
  const [leases, setLeases] = useState<Lease[]>([]);
  const [snapshots, setSnapshots] = useState<Snapshot[]>([]);
  const [info, setInfo] = useState<ShareDetail | null>(null);
  const [dropping, setDropping] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const abort = useRef<AbortController | null>(null);
  const target = listTarget(dir, appliedFilter);
  const substring = isGlob(appliedFilter) ? "" : appliedFilter.trim().toLowerCase();

  const reload = useCallback(() => setRefresh((n) => n + 1), []);

  // The share's surroundings: bucket mounts, leases, snapshots, usage.
  useEffect(() => {
    api.mounts(share).then(
      (m) => setMounts(m.mounts),
      () => setMounts([]),
    );
    api.leases(share).then(
      (l) => setLeases(l.leases),
      () => setLeases([]),
    );
    api.snapshots(share).then(
      (s) => setSnapshots(s.snapshots),
      () => setSnapshots([]),
    );
    api.share(share).then(setInfo, () => setInfo(null));
  }, [api, share, refresh]);

  useEffect(() => {
    setSelected(null);
    setFilter("");
    setAppliedFilter("");
  }, [api, share, dir, route.snapshot]);

  // The first page, or everything when the sort needs it.
  useEffect(() => {
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setListing(empty);
    const all = needsAll(sort);
    const load = all
      ? listAll(
          api,
          share,
          target,
          reading,
          (n) => setListing((l) => ({ ...l, loadingAll: n })),
          ac.signal,
        ).then((entries) => ({ entries, cursor: undefined }))
      : api.list(share, target, { limit: PAGE, reading, signal: ac.signal });
    load.then(
      (page) => {
        if (ac.signal.aborted) return;
        setListing({
          entries: all ? sortEntries(page.entries, sort) : page.entries,
          cursor: page.cursor,
          loading: false,
          loadingAll: null,
          error: null,
        });
      },
      (e: unknown) => {
        if (ac.signal.aborted) return;
        setListing({ ...empty, loading: false, error: messageOf(e) });
      },
    );
    return () => ac.abort();
  }, [api, share, target, route.snapshot, sort.by, sort.descending, refresh]);

  // The listing as last drawn, and as changed since: loadMore asks for a
  // page only when none is on its way.
  const current = useRef(listing);
  current.current = listing;
  const loadMore = useCallback(() => {
    const l = current.current;
    if (l.loading || !l.cursor) return;
    const cursor = l.cursor;
    const signal = abort.current?.signal;
    current.current = { ...l, loading: true };
    setListing(current.current);
    api.list(share, target, { limit: PAGE, cursor, reading, signal }).then(
      (page) => {
        if (signal?.aborted) return;
        setListing((cur) =>
          cur.cursor !== cursor
            ? cur
            : {
                ...cur,
                entries: [...cur.entries, ...page.entries],
                cursor: page.cursor,
                loading: false,
              },
        );
      },
      (e: unknown) => {
        if (!signal?.aborted)
          setListing((cur) => ({ ...cur, loading: false, error: messageOf(e) }));
      },
    );
  }, [api, share, target, route.snapshot]);

  const shown = useMemo(
    () =>
      substring
        ? listing.entries.filter((e) => e.path.toLowerCase().includes(substring))
        : listing.entries,
    [listing.entries, substring],
  );

  // Uploads that finish here show up without a manual refresh: one reload
  // per quarter second at most, however many files of a folder finish.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = uploads.subscribe((list) => {
      const done = list.filter((u) => u.state === "done" && u.share === share);
      if (done.length === 0) return;
      for (const u of done) uploads.remove(u.id);
      timer ??= setTimeout(() => {
        timer = null;
        reload();
      }, 250);
    });
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  }, [share]);

  const open = (e: Entry) => {
    if (e.type === "directory") go({ ...route, path: e.absolutePath });
    else setSelected(e);
  };

  const upload = (files: { file: File; path: string }[]) => {
    if (files.length === 0) return;
    uploads.add(
      share,
      files.map((f) => ({ file: f.file, path: joinPath(dir, f.path) })),
    );
    notify(`Uploading ${files.length === 1 ? files[0]?.path : `${files.length} files`} to ${dir}.`);
  };

  const newFolder = async () => {
    const name = await ask({
      title: "New folder",
      input: "",
      inputLabel: "Folder name",
      confirm: "Create",
    });
    if (!name) return;
    try {
      // mkdir is idempotent: the gateway says 200, not 201, when the folder was there.
      const res = await api.mkdir(share, joinPath(dir, name));
      if (res.status !== 201) throw new Error(`Already exists: ${name} is already in this folder.`);
      notify(`Created the folder ${name}.`);
      reload();
    } catch (e) {
      notify(messageOf(e), true);
    }
  };

  const removeEntry = async (e: Entry) => {
    const isDir = e.type === "directory";
    const ok = await ask({
      title: `Delete ${basename(e.absolutePath)}?`,
      message: isDir
        ? "The folder and everything in it will be deleted."
        : "The file will be deleted. Earlier versions stay in its history while the share keeps them.",
      confirm: "Delete",
      danger: true,
    });
    if (ok === null) return;
    try {
      await api.remove(share, e.absolutePath, isDir);
      notify(`Deleted ${basename(e.absolutePath)}.`);
      if (selected?.absolutePath === e.absolutePath) setSelected(null);
      reload();
    } catch (err) {
      notify(messageOf(err), true);
    }
  };

  const moveEntry = async (e: Entry) => {
    const to = await ask({
      title: `Rename or move ${basename(e.absolutePath)}`,
      input: e.absolutePath,
      inputLabel: "New path",
      confirm: "Move",
    });
    if (!to || to === e.absolutePath) return;
    try {
      await api.move(share, e.absolutePath, to.startsWith("/") ? to : joinPath(dir, to));
      notify(`Moved ${basename(e.absolutePath)} to ${to}.`);
      setSelected(null);
      reload();
    } catch (err) {
      notify(messageOf(err), true);
    }
  };

  const crumbs = [{ name: share, path: "/" }];
  if (dir !== "/") {
    let at = "";
    for (const seg of dir.split("/").filter((s) => s)) {
      at += `/${seg}`;
      crumbs.push({ name: seg, path: at });
    }
  }
  const mountAt = mounts.find((m) => dir === m.path || dir.startsWith(`${m.path}/`));

  return (
    <section
      class={dropping ? "browser dropping" : "browser"}
      aria-label={`Files of ${share}`}
      onDragOver={(e: DragEvent) => {
        if (!canWrite || !e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault();
        setDropping(true);
      }}
      onDragLeave={(e: DragEvent) => {
        if (e.target === e.currentTarget) setDropping(false);
      }}
      onDrop={async (e: DragEvent) => {
        if (!canWrite || !e.dataTransfer) return;
        e.preventDefault();
        setDropping(false);
        try {
          const dropped = await filesOfDrop(e.dataTransfer);
          upload(dropped.files);
          for (const folder of dropped.emptyFolders) await api.mkdir(share, joinPath(dir, folder));
          if (dropped.emptyFolders.length > 0) reload();
        } catch (err) {
          notify(messageOf(err), true);
        }
      }}
    >
      <nav aria-label="Breadcrumbs" class="crumbs">
        <ol>
          <li>
            <a href={formatRoute({ env: route.env, share: null, path: "/", snapshot: null })}>
              Shares
            </a>
          </li>
          {crumbs.map((c, i) => (
            <li key={c.path}>
              {i === crumbs.length - 1 ? (
                <span aria-current="page">{c.name}</span>
              ) : (
                <a href={formatRoute({ ...route, path: c.path })}>{c.name}</a>
              )}
            </li>
          ))}
        </ol>
        {mountAt && <span class="badge mount">bucket {mountAt.bucket ?? ""}</span>}
      </nav>

      <h1 class="folder-title">{dir === "/" ? share : basename(dir)}</h1>

      {readOnly && (
        <p class="banner" role="note">
          Read-only: the snapshot <strong>{route.snapshot}</strong>
          {(() => {
            const s = snapshots.find((x) => x.name === route.snapshot);
            return s ? ` (version ${s.version})` : "";
          })()}. <a href={formatRoute({ ...route, snapshot: null })}>Back to the live share</a>
        </p>
      )}

      <div class="toolbar">
        {canWrite && (
          <>
            <label class="button primary">
              Upload files
              <input
                type="file"
                multiple
                class="visually-hidden"
                onChange={(e: Event) => {
                  const input = e.target as HTMLInputElement;
                  upload(filesOfInput(input.files));
                  input.value = "";
                }}
              />
            </label>
            <label class="button">
              Upload folder
              <input
                type="file"
                multiple
                class="visually-hidden"
                {...{ webkitdirectory: "" }}
                onChange={(e: Event) => {
                  const input = e.target as HTMLInputElement;
                  upload(filesOfInput(input.files));
                  input.value = "";
                }}
              />
            </label>
            <button type="button" onClick={newFolder}>
              New folder
            </button>
          </>
        )}
        <form
          class="filter"
          onSubmit={(e: Event) => {
            e.preventDefault();
            setAppliedFilter(filter);
          }}
        >
          <label for="filter-input">Filter</label>
          <input
            id="filter-input"
            type="search"
            placeholder="name, or a glob: *.csv, **/*.json"
            value={filter}
            aria-describedby="filter-help"
            onInput={(e: Event) => {
              const v = (e.target as HTMLInputElement).value;
              setFilter(v);
              // Plain text filters as you type; a glob asks the gateway on Enter.
              if (!isGlob(v)) setAppliedFilter(v);
            }}
          />
          <span id="filter-help" class="visually-hidden">
            Text filters the names shown. A glob (with * ? [ or braces) lists matches below this
            folder when you press Enter: * stays inside one folder, ** crosses folders.
          </span>
        </form>
        {snapshots.length > 0 && (
          <div class="snapshot-pick">
            <label for="view-select">Viewing</label>
            <select
              id="view-select"
              value={route.snapshot ?? ""}
              onChange={(e: Event) => {
                const v = (e.target as HTMLSelectElement).value;
                go({ ...route, snapshot: v || null });
              }}
            >
              <option value="">Live share</option>
              {snapshots.map((s) => (
                <option key={s.name} value={s.name}>
                  Snapshot {s.name} (v{s.version})
                </option>
              ))}
            </select>
          </div>
        )}
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>

      {dropping && (
        <p class="drop-hint" aria-hidden="true">
          Drop files or folders to upload them to {dir}
        </p>
      )}

      {listing.error && (
        <p class="error" role="alert">
          {listing.error}
        </p>
      )}
      {listing.loadingAll !== null && (
        <p class="loading" role="status">
          Loading every entry to sort them: {listing.loadingAll.toLocaleString()} so far…
        </p>
      )}

      <div class="panes">
        <FileList
          entries={shown}
          dir={dir}
          glob={isGlob(appliedFilter)}
          sort={sort}
          onSort={setSort}
          loading={listing.loading}
          more={!!listing.cursor}
          onNeedMore={loadMore}
          onOpen={open}
          onDetails={setSelected}
          onDelete={canWrite ? removeEntry : null}
          onMove={canWrite ? moveEntry : null}
          selected={selected?.absolutePath ?? null}
          mounts={mounts}
          leases={leases}
        />
        {selected && (
          <Details
            api={api}
            share={share}
            entry={selected}
            reading={reading}
            canWrite={canWrite}
            canRestore={props.principal.permissions.includes("write")}
            leases={leases}
            snapshots={snapshots}
            onClose={() => setSelected(null)}
            onDelete={canWrite ? removeEntry : null}
            onMove={canWrite ? moveEntry : null}
            onChanged={reload}
          />
        )}
      </div>

      <SharePanel
        api={api}
        share={share}
        info={info}
        admin={admin && !readOnly}
        onChanged={reload}
      />
    </section>
  );
}
