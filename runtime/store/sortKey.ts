import { COLUMN } from "./sqlText.js";
import { keySqlOf } from "./tableIndexes.js";

/** A stored row of a document table. @internal */
export interface DocumentRow {
  _id: string;
  _creation_time: number;
  doc: Record<string, unknown>;
}

/** One column of a sort order: its SQL, how to read it from a row, and its SQL type. @internal */
export interface SortKeyPart {
  field: string;
  sql: string;
  cast: "jsonb" | "float8" | "text";
}

/** The value of a dotted path in a document (undefined where a step is missing). @internal */
export function valueAtPath(doc: unknown, path: string): unknown {
  let current: unknown = doc;
  for (const segment of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, segment) ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return current;
}

/** The sort-key part of a field: system fields are columns, user fields jsonb keys. @internal */
export function sortKeyPart(field: string): SortKeyPart {
  const cast = field === "_id" ? "text" : field === "_creationTime" ? "float8" : "jsonb";
  return { field, sql: keySqlOf(field), cast };
}

/**
 * The full sort key of an ordering by `fields`: ends with `_creationTime` then `_id`
 * so it is a total order (keyset pagination needs one).
 * @internal
 */
export function sortKeyOf(fields: readonly string[]): SortKeyPart[] {
  const all = [...fields];
  if (!all.includes("_id")) {
    if (!all.includes("_creationTime")) all.push("_creationTime");
    all.push("_id");
  }
  return all.map(sortKeyPart);
}

/** The sort-key values of a row, as JSON values, in the key's order. @internal */
export function sortKeyValues(row: DocumentRow, key: readonly SortKeyPart[]): unknown[] {
  return key.map((part) => {
    if (part.sql === COLUMN.id) return row._id;
    if (part.sql === COLUMN.creationTime) return row._creation_time;
    return valueAtPath(row.doc, part.field) ?? null;
  });
}
