import { COLUMN } from "../sqlText.js";
import { SCALAR_TYPES, scalarKey } from "./fieldKeys.js";
import type { FieldKey } from "./tableLayout.js";

const ID_KEY = scalarKey("_id", COLUMN.id, SCALAR_TYPES.text);
const CREATION_TIME_KEY = scalarKey("_creationTime", COLUMN.creationTime, SCALAR_TYPES.float8);

/** The key of `_id` or `_creationTime`, the same columns in every layout; null for user fields. @internal */
export function systemKey(field: string): FieldKey | null {
  return field === "_id" ? ID_KEY : field === "_creationTime" ? CREATION_TIME_KEY : null;
}

/** The jsonb value of a system field (filters), or null for user fields. @internal */
export function systemFieldJson(path: string): string | null {
  if (path === "_id") return `to_jsonb(${COLUMN.id})`;
  if (path === "_creationTime") return `to_jsonb(${COLUMN.creationTime})`;
  return null;
}

/** The index columns that end every managed index: `_creation_time, _id`. @internal */
export const INDEX_TAIL_SQL = `${COLUMN.creationTime}, ${COLUMN.id}`;
