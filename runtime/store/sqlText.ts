import { ConvoyError } from "../errors.js";
import { isValidFieldPath } from "../schema/defineTable.js";
import { storableValueProblem, stringProblem } from "./storableValue.js";

/**
 * Collects parameters while a statement is built, so values never enter SQL text.
 * @internal
 */
export class SqlParams {
  readonly values: unknown[] = [];

  /** Adds a parameter and returns its placeholder with an explicit cast; refuses text Postgres cannot hold. */
  add(value: unknown, cast: "jsonb" | "text" | "float8" | "int4" | "int8" | "text[]"): string {
    if (cast === "text" && typeof value === "string") refuse(stringProblem(value, "the value"));
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }

  /** Adds a JSON value as a `jsonb` parameter (`undefined` becomes SQL NULL). */
  json(value: unknown): string {
    if (value === undefined) return "NULL::jsonb";
    refuse(storableValueProblem(value));
    return this.add(JSON.stringify(value), "jsonb");
  }
}

function refuse(problem: string | null): void {
  if (problem !== null)
    throw new ConvoyError({ code: "BAD_REQUEST", message: `Cannot query with this value: ${problem}` });
}

/** Quotes an identifier that was already checked against a strict pattern. @internal */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for DDL, where parameters are not allowed. @internal */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The column names of a document table. @internal */
export const COLUMN = { id: "_id", creationTime: "_creation_time", doc: "doc" } as const;

/**
 * The SQL expression (jsonb) of a document field, e.g. `(doc -> 'name')`. The path is
 * checked to be plain identifiers, so it is safe as text; index expressions and queries
 * must produce the same text for Postgres to match them.
 * @internal
 */
export function fieldSql(path: string): string {
  if (path === "_id") return `to_jsonb(${COLUMN.id})`;
  if (path === "_creationTime") return `to_jsonb(${COLUMN.creationTime})`;
  if (typeof path !== "string" || !isValidFieldPath(path)) {
    const shown = typeof path === "string" ? JSON.stringify(path.slice(0, 80)) : `A ${typeof path}`;
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `${shown} is not a field path: use field names of letters, digits and "_", joined by "."`,
    });
  }
  const segments = path.split(".");
  if (segments.length === 1) return `(${COLUMN.doc} -> ${quoteLiteral(path)})`;
  return `(${COLUMN.doc} #> ${quoteLiteral(`{${segments.join(",")}}`)})`;
}

/**
 * The key expression an index stores for a user field: a missing field is indexed as
 * JSON `null`, so every document has a key and keyset pagination never skips one.
 * @internal
 */
export function indexKeySql(path: string): string {
  return `COALESCE(${fieldSql(path)}, 'null'::jsonb)`;
}
