import { typeRank } from "../jsonOrder.js";
import type { SqlCast, SqlParams } from "../sqlText.js";
import type { FieldKey, KeyComparison } from "./tableLayout.js";

/** A key holding any JSON value as jsonb, which orders values itself. @internal */
export function jsonbKey(field: string, sql: string): FieldKey {
  return {
    field,
    parts: [{ sql, cast: "jsonb" }],
    accepts: () => true,
    position: (value, params) => [params.json(value ?? null)],
    compare: (op, value, params) => `${sql} ${op} ${params.json(value ?? null)}`,
  };
}

/** Whether `op` holds between a value and one that sorts `after` it (or before it). */
function holds(op: KeyComparison, valueIsLess: boolean): boolean {
  if (op === "=") return false;
  return valueIsLess === (op === "<" || op === "<=");
}

/** The SQL type of a typed column and the jsonb type rank of its values. @internal */
export interface ScalarType {
  cast: Extract<SqlCast, "text" | "float8" | "bool">;
  rank: number;
  /** A literal of the type, for the COALESCE of NULL (never compared: the flag decides first). */
  zero: string;
}

/** The scalar types of relational columns and of the system columns. @internal */
export const SCALAR_TYPES = {
  text: { cast: "text", rank: typeRank(""), zero: "''::text" },
  float8: { cast: "float8", rank: typeRank(0), zero: "0::float8" },
  bool: { cast: "bool", rank: typeRank(false), zero: "false" },
} as const satisfies Record<string, ScalarType>;

/**
 * A key over a typed column that is never NULL. A value of another JSON type than the
 * column's compares with all rows alike (jsonb orders types before values), so the
 * comparison is a constant.
 * @internal
 */
export function scalarKey(field: string, sql: string, type: ScalarType): FieldKey {
  const fits = (value: unknown) => typeRank(value) === type.rank;
  return {
    field,
    parts: [{ sql, cast: type.cast }],
    accepts: fits,
    position: (value, params) => [params.add(value, type.cast)],
    compare: (op, value, params) =>
      fits(value) ? `${sql} ${op} ${params.add(value, type.cast)}` : String(holds(op, type.rank < typeRank(value))),
  };
}

/**
 * A key over a typed column that may be NULL (a missing field or JSON null), in two
 * parts, `(col IS NOT NULL, COALESCE(col, <zero>))`: NULL sorts first, as JSON null
 * does in jsonb, and both parts are never NULL, so keyset comparisons of whole keys work.
 * @internal
 */
export function nullableScalarKey(field: string, columnSql: string, type: ScalarType): FieldKey {
  const flag = `(${columnSql} IS NOT NULL)`;
  const parts = [
    { sql: flag, cast: "bool" as const },
    { sql: `COALESCE(${columnSql}, ${type.zero})`, cast: type.cast },
  ];
  const tuple = `(${parts[0]!.sql}, ${parts[1]!.sql})`;
  const fits = (value: unknown) => value === null || value === undefined || typeRank(value) === type.rank;
  const position = (value: unknown, params: SqlParams) =>
    value === null || value === undefined ? ["false", type.zero] : ["true", params.add(value, type.cast)];
  return {
    field,
    parts,
    accepts: fits,
    position,
    compare(op, value, params) {
      if (fits(value)) return `${tuple} ${op} (${position(value, params).join(", ")})`;
      // `value` is of another, non-null type: NULL rows on one side of it (before, unless it
      // is an empty array), the others all on one side.
      const nullRows = holds(op, typeRank(null) < typeRank(value));
      const valueRows = holds(op, type.rank < typeRank(value));
      if (nullRows === valueRows) return String(nullRows);
      return valueRows ? flag : `(NOT ${flag})`;
    },
  };
}
