import type { z } from "zod";
import { ConvoyError } from "../errors.js";
import { referencedTable } from "./defineRef.js";

/** The SQL type of a relational column. */
export type ColumnType = "text" | "double precision" | "boolean" | "jsonb";

/**
 * One field of a relational table as a column: what a SQL user would have declared.
 * `nullMeans` says what SQL `NULL` stands for in a scalar column: the field is missing
 * (`.optional()`), or it is JSON `null` (`.nullable()`); `"never"` for `NOT NULL`. A
 * `jsonb` column holds JSON `null` as such, so `NULL` there always means missing.
 * @internal
 */
export interface ColumnSpec {
  field: string;
  column: string;
  type: ColumnType;
  nullMeans: "never" | "missing" | "null";
  /** The only values allowed (enums and literals), checked by a `CHECK`. */
  allowed?: readonly (string | number | boolean)[];
  /** The table whose `_id` this field references (`defineRef`). */
  references?: string;
  /** False when the reference has no foreign key (`.relational({ foreignKeys: false })`). */
  foreignKey?: false;
}

/** True when a column holds a reference its table checks with a foreign key. @internal */
export function hasForeignKey(spec: ColumnSpec): spec is ColumnSpec & { references: string } {
  return spec.references !== undefined && spec.foreignKey !== false;
}

type ZodInternals = { _zod: { def: Record<string, unknown> & { type: string }; optout?: string } };

function defOf(schema: unknown): ZodInternals["_zod"]["def"] {
  return (schema as ZodInternals)._zod.def;
}

/** Wrappers that do not change what is stored, besides optionality and nullability. */
const WRAPPERS = new Set(["optional", "default", "prefault", "readonly", "catch", "nonoptional", "nullable"]);

type Scalar = string | number | boolean;

function literalType(values: readonly unknown[]): { type: ColumnType; allowed: Scalar[] } | null {
  if (values.length === 0) return null;
  if (values.every((value) => typeof value === "string")) return { type: "text", allowed: values as string[] };
  if (values.every((value) => typeof value === "number")) {
    return { type: "double precision", allowed: values as number[] };
  }
  if (values.every((value) => typeof value === "boolean")) return { type: "boolean", allowed: values as boolean[] };
  return null;
}

/** The enum or literal values a schema accepts, when it is one of those. */
function literalValues(schema: unknown): unknown[] | null {
  const def = defOf(schema);
  if (def.type === "enum") return Object.values(def.entries as Record<string, unknown>);
  if (def.type === "literal") return [...(def.values as unknown[])];
  return null;
}

/** The column type of a field's core schema (wrappers removed). */
function coreType(schema: z.ZodType): Pick<ColumnSpec, "type" | "allowed" | "references"> {
  const def = defOf(schema);
  switch (def.type) {
    case "string":
      return { type: "text" };
    case "number":
      return { type: "double precision" };
    case "boolean":
      return { type: "boolean" };
    case "custom": {
      const target = referencedTable(schema);
      return target === undefined ? { type: "jsonb" } : { type: "text", references: target };
    }
    case "enum":
    case "literal":
      return literalType(literalValues(schema)!) ?? { type: "jsonb" };
    case "union": {
      const options = def.options as unknown[];
      const values = options.map(literalValues);
      if (values.some((value) => value === null)) return { type: "jsonb" };
      return literalType(values.flat()) ?? { type: "jsonb" };
    }
    default:
      return { type: "jsonb" };
  }
}

/** True when the field schema turns `input` into `output` (e.g. accepts a missing value as missing). */
function produces(schema: z.ZodType, input: unknown, output: unknown): boolean {
  try {
    const result = schema.safeParse(input);
    return result.success && result.data === output;
  } catch {
    return false;
  }
}

/** The column of one field, before naming. @internal */
export function columnTypeOf(schema: z.ZodType): Omit<ColumnSpec, "field" | "column"> {
  let core: unknown = schema;
  while (WRAPPERS.has(defOf(core).type)) core = defOf(core).innerType;
  // What the stored document may hold: the field missing, or null (z.any() allows both).
  const optional =
    (schema as unknown as ZodInternals)._zod.optout === "optional" || produces(schema, undefined, undefined);
  const nullable = produces(schema, null, null);
  const { type, allowed, references } = coreType(core as z.ZodType);
  const extra = { ...(allowed ? { allowed } : {}), ...(references ? { references } : {}) };
  // Missing and null both stored: only jsonb tells them apart (SQL NULL vs JSON null).
  if (optional && nullable) return { type: "jsonb", nullMeans: "missing" };
  if (type === "jsonb") return { type, nullMeans: optional ? "missing" : "never" };
  return { type, nullMeans: optional ? "missing" : nullable ? "null" : "never", ...extra };
}

/**
 * A field's column name: snake_case (`userId` -> `user_id`, `HTTPStatus` ->
 * `http_status`), `doc_` for a field named `doc` (the JSONB layout's column, which a
 * migration keeps beside the new ones), shortened with a hash past Postgres' 63 bytes.
 * @internal
 */
export function columnNameOf(field: string): string {
  const snake = field
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
  const name = snake === "doc" ? "doc_" : snake;
  return postgresName(name);
}

/**
 * A Postgres identifier of at most 63 bytes: long names keep a prefix and a hash (FNV-1a,
 * computed here so that schemas load in browsers too). @internal
 */
export function postgresName(name: string): string {
  if (name.length <= 63) return name;
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return `${name.slice(0, 54)}_${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

/**
 * The columns of a relational table, one per field in shape order. Refuses two fields
 * that would share a column.
 * @internal
 */
export function relationalColumns(
  tableName: string,
  shape: z.ZodRawShape,
  options: { foreignKeys?: boolean } = {},
): ColumnSpec[] {
  const byColumn = new Map<string, string>();
  return Object.entries(shape).map(([field, schema]) => {
    const column = columnNameOf(field);
    const other = byColumn.get(column);
    if (other !== undefined) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `${tableName}: fields "${other}" and "${field}" would both be stored in column "${column}" of the relational table; rename one of them`,
      });
    }
    byColumn.set(column, field);
    const spec: ColumnSpec = { field, column, ...columnTypeOf(schema as z.ZodType) };
    return spec.references !== undefined && options.foreignKeys === false ? { ...spec, foreignKey: false } : spec;
  });
}
