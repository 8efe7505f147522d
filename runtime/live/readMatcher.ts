import type { Read } from "../store/readSet.js";
import { valueAtPath } from "../store/sortKey.js";
import { canonicalJson } from "../store/canonicalJson.js";
import type { Change, ChangedDocument } from "../store/documentChange.js";
import { typeRank } from "../store/jsonOrder.js";

/**
 * Compares two index key values as Postgres orders them, or returns null when that
 * depends on something JavaScript cannot see (string collation, array and object order):
 * callers then assume the value may be in range, so a watch re-runs rather than goes stale.
 * @internal
 */
export function compareKeys(a: unknown, b: unknown): -1 | 0 | 1 | null {
  const rankA = typeRank(a);
  const rankB = typeRank(b);
  if (rankA !== rankB) return rankA < rankB ? -1 : 1;
  if (rankA === 0) return 0;
  if (rankA === 2 || rankA === 3) {
    const x = Number(a);
    const y = Number(b);
    return x === y ? 0 : x < y ? -1 : 1;
  }
  return canonicalJson(a) === canonicalJson(b) ? 0 : null;
}

/** The index key value of `field` for a changed document, as the index stores it. @internal */
export function keyOf(field: string, id: string, document: ChangedDocument): unknown {
  if (field === "_id") return id;
  if (field === "_creationTime") return document.creationTime;
  return valueAtPath(document.doc, field) ?? null;
}

function inRange(read: Extract<Read, { kind: "indexRange" }>, id: string, document: ChangedDocument): boolean {
  for (let i = 0; i < read.eq.length; i++) {
    // jsonb equality is exact (deterministic collations compare equal strings only when
    // their bytes are), so canonical JSON decides it.
    if (canonicalJson(keyOf(read.fields[i]!, id, document)) !== canonicalJson(read.eq[i] ?? null)) return false;
  }
  const next = read.fields[read.eq.length];
  if (next === undefined) return true;
  const value = keyOf(next, id, document);
  if (read.lower) {
    const order = compareKeys(value, read.lower.value ?? null);
    if (order !== null && (order < 0 || (order === 0 && !read.lower.inclusive))) return false;
  }
  if (read.upper) {
    const order = compareKeys(value, read.upper.value ?? null);
    if (order !== null && (order > 0 || (order === 0 && !read.upper.inclusive))) return false;
  }
  return true;
}

/**
 * True when a change can alter what `read` returned: the document's id was fetched,
 * or its old or new index key falls in the range read. A change to a whole table
 * (TRUNCATE) touches every read of it.
 * @internal
 */
export function changeTouchesRead(change: Change, read: Read): boolean {
  if (read.table !== change.table) return false;
  if (change.id === null) return true;
  if (read.kind === "ids") return read.ids.includes(change.id);
  return (
    (change.before !== null && inRange(read, change.id, change.before)) ||
    (change.after !== null && inRange(read, change.id, change.after))
  );
}
