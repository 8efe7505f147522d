import { ConvoyError } from "../errors.js";
import type { FieldKey } from "./layout/tableLayout.js";
import { storableValueProblem } from "./storableValue.js";

/** What a pagination cursor holds: which query it belongs to, and where to go on. @internal */
export interface CursorPosition {
  /** Identifies the table, index and order the cursor was made for. */
  query: string;
  /** Sort-key values of the last document returned, or null for "from the start". */
  after: unknown[] | null;
}

/** Encodes a cursor as an opaque URL-safe string. @internal */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([1, position.query, position.after]), "utf8").toString("base64url");
}

function invalidCursor(reason: string): never {
  throw new ConvoyError({
    code: "BAD_REQUEST",
    message: `paginate: invalid cursor (${reason}). Pass cursor: null for the first page, then the continueCursor of the previous page of the same query`,
  });
}

/** Decodes and checks a cursor made by {@link encodeCursor} for the same query. @internal */
export function decodeCursor(cursor: string, query: string, key: readonly FieldKey[]): unknown[] | null {
  if (typeof cursor !== "string" || cursor.length > 16_384) invalidCursor("not a cursor string");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    invalidCursor("not a cursor string");
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== 1) invalidCursor("not a cursor string");
  if (parsed[1] !== query) invalidCursor("it belongs to a different query");
  const after = parsed[2] as unknown;
  if (after === null) return null;
  if (!Array.isArray(after) || after.length !== key.length) invalidCursor("its position does not match the query");
  if (storableValueProblem(after) !== null) invalidCursor("its position holds a value Postgres cannot compare");
  key.forEach((field, i) => {
    if (!field.accepts(after[i])) invalidCursor(`its ${field.field} is not a value this query orders by`);
  });
  return after;
}
