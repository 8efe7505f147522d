import type { StoredDocument } from "./layout/tableLayout.js";

/** The value of a dotted path in a document (undefined where a step is missing). @internal */
export function valueAtPath(doc: unknown, path: string): unknown {
  let current: unknown = doc;
  for (const segment of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, segment) ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return current;
}

/**
 * The fields of an ordering by `fields`, made total: they end with `_creationTime` then
 * `_id` (keyset pagination needs a total order).
 * @internal
 */
export function sortFieldsOf(fields: readonly string[]): string[] {
  const all = [...fields];
  if (!all.includes("_id")) {
    if (!all.includes("_creationTime")) all.push("_creationTime");
    all.push("_id");
  }
  return all;
}

/**
 * A document's position in an ordering: its values of the sort fields, as JSON values
 * (a missing field is null). Positions are the same whatever the table's layout, so a
 * cursor outlives a migration.
 * @internal
 */
export function sortKeyValues(document: StoredDocument, fields: readonly string[]): unknown[] {
  return fields.map((field) => valueAtPath(document, field) ?? null);
}
