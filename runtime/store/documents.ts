import type { DocumentRow } from "./sortKey.js";

/** A stored row as the document a function sees: system fields first. @internal */
export function rowToDocument(row: DocumentRow): Record<string, unknown> {
  return { _id: row._id, _creationTime: row._creation_time, ...row.doc };
}
