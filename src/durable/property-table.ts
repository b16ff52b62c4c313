import { FsError } from "../core/errors";
import type { FsPath } from "../core/paths";
import type { DeadProperty, PropertyChange } from "../core/properties";

/** Bounds that keep one resource's properties a small metadata row set. */
export const PROPERTY_LIMITS = { valueBytes: 64 * 1024, perResource: 256 } as const;

interface PropertyRow {
  node: number;
  ns: string;
  name: string;
  value: string;
  lang: string | null;
  [key: string]: SqlStorageValue;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).byteLength;

/**
 * Dead properties of a share's files and directories, keyed by node id: a
 * rename moves them with their node at no cost, an overwrite keeps them
 * (the node stays), a delete drops them with the node's rows
 * (tree-reclaim.ts), and a copy copies them node by node.
 */
export class PropertyTable {
  constructor(private readonly sql: SqlStorage) {}

  /** The properties of each node that has any. */
  of(nodes: readonly number[]): Map<number, DeadProperty[]> {
    const rows = this.sql
      .exec<PropertyRow>(
        `SELECT node, ns, name, value, lang FROM node_properties
         WHERE node IN (SELECT value FROM json_each(?)) ORDER BY node, ns, name`,
        JSON.stringify(nodes),
      )
      .toArray();
    const out = new Map<number, DeadProperty[]>();
    for (const r of rows) {
      const list = out.get(r.node) ?? [];
      list.push({ ns: r.ns, name: r.name, value: r.value, lang: r.lang });
      out.set(r.node, list);
    }
    return out;
  }

  /** Applies the changes in order; the caller's transaction makes them all-or-nothing. */
  apply(node: number, path: FsPath, changes: readonly PropertyChange[]): void {
    for (const change of changes) {
      if (change.op === "remove") {
        this.sql.exec(
          "DELETE FROM node_properties WHERE node = ? AND ns = ? AND name = ?",
          node,
          change.ns,
          change.name,
        );
        continue;
      }
      if (utf8Length(change.value) > PROPERTY_LIMITS.valueBytes) {
        throw new FsError(
          "ETOOLARGE",
          `property {${change.ns}}${change.name} is over ${PROPERTY_LIMITS.valueBytes} bytes`,
          path,
        );
      }
      this.sql.exec(
        `INSERT INTO node_properties (node, ns, name, value, lang) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (node, ns, name) DO UPDATE SET value = excluded.value, lang = excluded.lang`,
        node,
        change.ns,
        change.name,
        change.value,
        change.lang,
      );
    }
    const count = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM node_properties WHERE node = ?", node)
      .one().n;
    if (count > PROPERTY_LIMITS.perResource) {
      throw new FsError(
        "ETOOLARGE",
        `more than ${PROPERTY_LIMITS.perResource} properties on one resource`,
        path,
      );
    }
  }

  dropNode(node: number): void {
    this.sql.exec("DELETE FROM node_properties WHERE node = ?", node);
  }

  /** Copied nodes get the properties of their sources: pairs of (source, copy). */
  copyNodes(pairs: readonly (readonly [number, number])[]): void {
    if (pairs.length === 0) return;
    this.sql.exec(
      `INSERT OR REPLACE INTO node_properties (node, ns, name, value, lang)
       SELECT m.value->>1, p.ns, p.name, p.value, p.lang
       FROM json_each(?) m JOIN node_properties p ON p.node = m.value->>0`,
      JSON.stringify(pairs),
    );
  }

  /** Forgets the properties of many nodes at once. */
  dropNodes(nodes: readonly number[]): void {
    if (nodes.length === 0) return;
    this.sql.exec(
      "DELETE FROM node_properties WHERE node IN (SELECT value FROM json_each(?))",
      JSON.stringify(nodes),
    );
  }

  /** A copied node gets the properties of its source. */
  copyNode(from: number, to: number): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO node_properties (node, ns, name, value, lang)
       SELECT ?, ns, name, value, lang FROM node_properties WHERE node = ?`,
      to,
      from,
    );
  }
}
