// The files a person picked or dropped, each with the path it gets below
// the current folder: a folder keeps its structure ("photos/2024/a.jpg").

export interface Picked {
  file: File;
  path: string;
}

/** What a drop brings: files, and folders that hold none (they are created as they are). */
export interface Dropped {
  files: Picked[];
  emptyFolders: string[];
}

/** From <input type=file> (a folder picker sets webkitRelativePath). */
export function filesOfInput(list: FileList | null): Picked[] {
  return [...(list ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/** Bounded: a dropped tree bigger than this is refused, not walked forever. */
const MAX_DROPPED = 100_000;

/** From a drop: files, and folders walked through the File System Entry API. */
export async function filesOfDrop(data: DataTransfer): Promise<Dropped> {
  const entries: FileSystemEntry[] = [];
  for (const item of [...data.items]) {
    const entry = item.kind === "file" ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
  }
  // Without the entry API (or for plain files), the files list is enough.
  if (entries.length === 0) return { files: filesOfInput(data.files), emptyFolders: [] };
  const out: Picked[] = [];
  const emptyFolders: string[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (out.length > MAX_DROPPED) {
      throw new Error(
        `That is more than ${MAX_DROPPED.toLocaleString()} files: upload it in parts.`,
      );
    }
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject),
      );
      out.push({ file, path: `${prefix}${entry.name}` });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    let children = 0;
    // readEntries answers in batches until it answers an empty one.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
        reader.readEntries(resolve, reject),
      );
      if (batch.length === 0) break;
      children += batch.length;
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
    }
    if (children === 0) emptyFolders.push(`${prefix}${entry.name}`);
  };
  for (const e of entries) await walk(e, "");
  return { files: out, emptyFolders };
}
