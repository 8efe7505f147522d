import { z } from "zod";
import { ConvoyError } from "../errors.js";
import type { FieldPath } from "./fieldPaths.js";

/** A zod object shape: field name to zod schema. */
export type FieldShape = z.ZodRawShape;

/** One `.index(name, fields)` of a table, as recorded at run time. */
export interface IndexDefinition {
  readonly name: string;
  readonly fields: readonly string[];
}

/**
 * How a table is stored: `"jsonb"`, the user fields in one `doc` column (the default), or
 * `"relational"`, one typed column per field (see `.relational()`).
 */
export type LayoutKind = "jsonb" | "relational";

/** Options of `.relational()`. */
export interface RelationalOptions {
  /**
   * Give each `defineRef` field a foreign key to the referenced table's `_id`, checked at
   * commit. Without it a reference is a plain `text` column that nothing checks (as in
   * a JSONB table), and inserts skip the check's cost.
   * @default true
   */
  foreignKeys?: boolean;
}

/** Names of the indexes every table has without declaring them. */
export const SYSTEM_INDEXES = ["by_id", "by_creation_time"] as const;

const INDEX_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;
const FIELD_SEGMENT_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/** True when `path` is a dotted path of plain identifiers, safe to put into SQL text. */
export function isValidFieldPath(path: string): boolean {
  return path.split(".").every((segment) => FIELD_SEGMENT_PATTERN.test(segment));
}

/**
 * A table of a {@link defineSchema} schema. `TShape` is the zod shape of its documents,
 * `TIndexes` maps index names to their fields (each ends in `_creationTime`).
 */
export class TableDefinition<
  TShape extends FieldShape = FieldShape,
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "no indexes yet"
  TIndexes extends Record<string, readonly string[]> = {},
> {
  /** Validates a whole document's user fields (unknown fields are rejected). */
  readonly validator: z.ZodObject<TShape, z.core.$strict>;
  /** The declared indexes, in declaration order. */
  readonly indexes: readonly IndexDefinition[];
  /** The storage layout the schema asks for (the database may still hold another until `convoy migrate`). */
  readonly layout: LayoutKind;
  /** What `.relational(options)` was given. */
  readonly relationalOptions: RelationalOptions;
  /** @internal Type-level record of the indexes; never set at run time. */
  declare readonly _indexes: TIndexes;

  constructor(
    shape: TShape,
    indexes: readonly IndexDefinition[] = [],
    layout: LayoutKind = "jsonb",
    relationalOptions: RelationalOptions = {},
  ) {
    for (const field of Object.keys(shape)) {
      if (!FIELD_SEGMENT_PATTERN.test(field)) {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: `Field name ${JSON.stringify(field)} is not allowed: start with a letter and use only letters, digits and "_" (names starting with "_" are reserved for system fields)`,
        });
      }
    }
    this.validator = z.strictObject(shape);
    this.indexes = indexes;
    this.layout = layout;
    this.relationalOptions = relationalOptions;
  }

  /**
   * Declares a btree index over `fields` (then `_creationTime`), for
   * `ctx.db.query(table).withIndex(name, ...)`.
   *
   * @example
   * ```ts
   * defineTable({ userId: defineRef("users"), name: z.string() }).index("by_userId", ["userId"])
   * ```
   */
  index<TName extends string, const TFields extends readonly [string, ...string[]]>(
    name: TName extends keyof TIndexes ? never : TName,
    fields: TFields & readonly FieldPath<z.output<z.ZodObject<TShape>>>[],
  ): TableDefinition<TShape, Omit<TIndexes, TName> & { [K in TName]: [...TFields, "_creationTime"] }> {
    const problem = indexProblem(name, fields, this.indexes, Object.keys(this.validator.shape));
    if (problem) throw new ConvoyError({ code: "BAD_REQUEST", message: `.index(${JSON.stringify(name)}): ${problem}` });
    return new TableDefinition(
      this.validator.shape,
      [...this.indexes, { name, fields: [...fields] }],
      this.layout,
      this.relationalOptions,
    );
  }

  /**
   * Stores the table with one typed column per field (`userId` in `user_id text`, and so
   * on) and native indexes, instead of one JSONB column. Types, functions, queries and
   * cursors stay the same. An existing JSONB table is moved online by `convoy migrate`.
   *
   * @example
   * ```ts
   * defineTable({ name: z.string(), userId: defineRef("users") }).index("by_userId", ["userId"]).relational()
   * ```
   */
  relational(options: RelationalOptions = {}): TableDefinition<TShape, TIndexes> {
    return new TableDefinition(this.validator.shape, this.indexes, "relational", options);
  }
}

function indexProblem(
  name: string,
  fields: readonly string[],
  existing: readonly IndexDefinition[],
  fieldNames: readonly string[],
): string | null {
  if (!INDEX_NAME_PATTERN.test(name))
    return 'an index name starts with a letter and holds only letters, digits and "_"';
  if ((SYSTEM_INDEXES as readonly string[]).includes(name)) return `"${name}" is a built-in index of every table`;
  if (existing.some((index) => index.name === name)) return "this table already has an index of that name";
  if (fields.length === 0) return "name at least one field";
  const invalid = fields.find((field) => !isValidFieldPath(field));
  if (invalid !== undefined) return `${JSON.stringify(invalid)} is not a valid field path`;
  const unknown = fields.find((field) => !fieldNames.includes(field.split(".")[0]!));
  if (unknown !== undefined)
    return `${JSON.stringify(unknown)} is not a field of this table (fields: ${fieldNames.join(", ")})`;
  if (new Set(fields).size !== fields.length) return "a field is listed twice";
  return null;
}

/**
 * Defines a table from a zod object shape. Every document also gets `_id` and
 * `_creationTime`.
 *
 * @example
 * ```ts
 * const users = defineTable({ name: z.string(), createdAt: z.number() });
 * ```
 */
export function defineTable<TShape extends FieldShape>(shape: TShape): TableDefinition<TShape> {
  return new TableDefinition(shape);
}
