import { canonicalJson } from "../store/canonicalJson.js";
import type { Read } from "../store/readSet.js";
import type { Change, ChangedDocument } from "../store/documentChange.js";
import { keyOf } from "./readMatcher.js";

/** Reads of one index with one length of equality prefix, bucketed by the prefix values. */
interface PrefixGroup {
  fields: readonly string[];
  eqLength: number;
  buckets: Map<string, Set<object>>;
}

interface TableEntry {
  /** Watches that fetched a document by id, by that id. */
  byId: Map<string, Set<object>>;
  /** Index reads with an equality prefix, by `index/eqLength`. */
  prefixes: Map<string, PrefixGroup>;
  /** Reads with no equality prefix: every change to the table is a candidate. */
  scans: Set<object>;
}

function addTo<TKey>(map: Map<TKey, Set<object>>, key: TKey, watch: object): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(watch);
}

/**
 * Finds the watches a change may affect without looking at every watch: reads are
 * bucketed by table, then by fetched id or by index equality prefix, so a change looks up
 * only the buckets its old and new keys fall in (plus the table's full scans). The
 * exact bounds check happens afterwards, on these candidates only.
 * @internal
 */
export class WatchIndex<TWatch extends object> {
  private readonly tables = new Map<string, TableEntry>();
  private readonly registered = new Map<TWatch, Read[]>();

  /** Replaces what `watch` is registered under with `reads`. */
  set(watch: TWatch, reads: Read[]): void {
    this.delete(watch);
    this.registered.set(watch, reads);
    for (const read of reads) {
      let table = this.tables.get(read.table);
      if (table === undefined)
        this.tables.set(read.table, (table = { byId: new Map(), prefixes: new Map(), scans: new Set() }));
      if (read.kind === "ids") {
        for (const id of read.ids) addTo(table.byId, id, watch);
      } else if (read.eq.length === 0) {
        table.scans.add(watch);
      } else {
        const groupKey = `${read.index}/${read.eq.length}`;
        let group = table.prefixes.get(groupKey);
        if (group === undefined) {
          table.prefixes.set(groupKey, (group = { fields: read.fields, eqLength: read.eq.length, buckets: new Map() }));
        }
        addTo(group.buckets, canonicalJson(read.eq.map((value) => value ?? null)), watch);
      }
    }
  }

  delete(watch: TWatch): void {
    const reads = this.registered.get(watch);
    if (reads === undefined) return;
    this.registered.delete(watch);
    for (const read of reads) {
      const table = this.tables.get(read.table);
      if (table === undefined) continue;
      if (read.kind === "ids") {
        for (const id of read.ids) table.byId.get(id)?.delete(watch);
      } else if (read.eq.length === 0) {
        table.scans.delete(watch);
      } else {
        const group = table.prefixes.get(`${read.index}/${read.eq.length}`);
        const key = canonicalJson(read.eq.map((value) => value ?? null));
        const bucket = group?.buckets.get(key);
        bucket?.delete(watch);
        if (bucket?.size === 0) group!.buckets.delete(key);
      }
    }
  }

  /** The reads `watch` is registered with. */
  readsOf(watch: TWatch): Read[] {
    return this.registered.get(watch) ?? [];
  }

  /** Watches that may be affected by `change` (a superset; check their reads exactly). */
  candidates(change: Change): Set<TWatch> {
    const table = this.tables.get(change.table);
    const out = new Set<TWatch>();
    if (table === undefined) return out;
    const addAll = (set: Set<object> | undefined) => {
      for (const watch of set ?? []) out.add(watch as TWatch);
    };
    if (change.id === null) {
      for (const watch of this.registered.keys()) {
        if (this.readsOf(watch).some((read) => read.table === change.table)) out.add(watch);
      }
      return out;
    }
    addAll(table.scans);
    addAll(table.byId.get(change.id));
    const documents = [change.before, change.after].filter((doc): doc is ChangedDocument => doc !== null);
    for (const group of table.prefixes.values()) {
      for (const document of documents) {
        const prefix = group.fields.slice(0, group.eqLength).map((field) => keyOf(field, change.id!, document));
        addAll(group.buckets.get(canonicalJson(prefix)));
      }
    }
    return out;
  }
}
