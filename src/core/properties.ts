import type { FsPath } from "./paths.js";

/**
 * A dead property (RFC 4918 §4): a name in an XML namespace and a value the
 * server stores without interpreting. `value` is the property element's
 * content as self-contained XML (every element declares its namespace), so
 * it can be written back into any response unchanged.
 */
export interface DeadProperty {
  ns: string;
  name: string;
  value: string;
  /** The property element's xml:lang, kept as RFC 4918 §4.3 asks. */
  lang: string | null;
}

export type PropertyChange =
  | { op: "set"; ns: string; name: string; value: string; lang: string | null }
  | { op: "remove"; ns: string; name: string };

/**
 * The dead-property ability of a Backend (`features.deadProperties`).
 * Properties belong to their entry: they move, copy and vanish with it.
 */
export interface PropertyOps {
  /** The properties of each of `paths` that has any. ENOENT when the share is gone. */
  of(paths: readonly FsPath[]): Promise<Record<string, DeadProperty[]>>;

  /**
   * Applies the changes in order, all or none; a change for leases like a
   * write. ENOENT (no such entry, or share), ELOCKED (423) when a lease the
   * caller does not hold protects the path, ETOOLARGE (413) for a value or a
   * count over the limits, EEXIST when the path is a bucket mount point.
   */
  patch(path: FsPath, changes: readonly PropertyChange[]): Promise<void>;
}
