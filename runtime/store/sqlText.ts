import { ConvoyError } from "../errors.js";
import { isValidFieldPath } from "../schema/defineTable.js";
import { storableValueProblem, stringProblem } from "./storableValue.js";

/** The casts parameters are sent with. @internal */
export type SqlCast = "jsonb" | "text" | "float8" | "bool" | "int4" | "int8" | "text[]";

/**
 * Collects parameters while a statement is built, so values never enter SQL text.
 * @internal
 */
export class SqlParams {
  readonly values: unknown[] = [];

  /** Adds a parameter and returns its placeholder with an explicit cast; refuses text Postgres cannot hold. */
  add(value: unknown, cast: SqlCast): string {
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

/** The system columns of every document table. @internal */
export const COLUMN = { id: "_id", creationTime: "_creation_time" } as const;

/**
 * Checks that a field path is dotted plain identifiers, so it is safe in SQL text; index
 * expressions and queries must produce the same text for Postgres to match them.
 * @internal
 */
export function checkFieldPath(path: string): string[] {
  if (typeof path !== "string" || !isValidFieldPath(path)) {
    const shown = typeof path === "string" ? JSON.stringify(path.slice(0, 80)) : `A ${typeof path}`;
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `${shown} is not a field path: use field names of letters, digits and "_", joined by "."`,
    });
  }
  return path.split(".");
}

/** `expr -> 'a'` or `expr #> '{a,b}'`: the jsonb value at a path inside a jsonb expression. @internal */
export function jsonPathSql(expression: string, segments: readonly string[]): string {
  if (segments.length === 1) return `(${expression} -> ${quoteLiteral(segments[0]!)})`;
  return `(${expression} #> ${quoteLiteral(`{${segments.join(",")}}`)})`;
}

/** A missing value as the JSON `null` an index key stores for it. @internal */
export function nullAsJson(expression: string): string {
  return `COALESCE(${expression}, 'null'::jsonb)`;
}
