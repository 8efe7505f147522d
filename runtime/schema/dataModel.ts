import type { z } from "zod";
import type { SchemaDefinition, TableDefinitions } from "./defineSchema.js";
import type { TableDefinition } from "./defineTable.js";
import type { Expand } from "./fieldPaths.js";
import type { Id } from "./ids.js";

/** The system fields every document has. */
export interface SystemFields<TTable extends string> {
  _id: Id<TTable>;
  /** Milliseconds since the epoch when the document was inserted. */
  _creationTime: number;
}

/** What Convoy knows of one table at the type level. */
export interface GenericTableInfo {
  /** A stored document: user fields plus system fields. */
  document: Record<string, unknown>;
  /** What `insert` / `replace` accept (zod input of the user fields). */
  input: Record<string, unknown>;
  /** Index name to index fields (ending in `_creationTime`). */
  indexes: Record<string, readonly string[]>;
}

/** Table name to {@link GenericTableInfo}. */
export type GenericDataModel = Record<string, GenericTableInfo>;

type TableInfoOf<TName extends string, TTable> =
  TTable extends TableDefinition<infer TShape, infer TIndexes>
    ? {
        document: Expand<SystemFields<TName> & z.output<z.ZodObject<TShape>>>;
        input: Expand<z.input<z.ZodObject<TShape>>>;
        indexes: Expand<TIndexes & { by_id: ["_id"]; by_creation_time: ["_creationTime"] }>;
      }
    : never;

/** The data model of a schema, the type argument of `ctx.db`. */
export type DataModelFromSchema<TSchema extends SchemaDefinition<TableDefinitions>> = {
  [TName in keyof TSchema["tables"] & string]: TableInfoOf<TName, TSchema["tables"][TName]>;
};

/** Table names of a data model. */
export type TableNamesOf<TDataModel extends GenericDataModel> = keyof TDataModel & string;

/** A document of `TTable` in `TDataModel`. */
export type DocumentOf<
  TDataModel extends GenericDataModel,
  TTable extends TableNamesOf<TDataModel>,
> = TDataModel[TTable]["document"];

/**
 * Registers the application's schema so `Doc<"users">` needs no schema argument. The
 * generated `convoy/_generated/server.ts` does this; hand-written code can too.
 *
 * @example
 * ```ts
 * declare module "convoy" {
 *   interface Register { schema: typeof schema }
 * }
 * ```
 */

export interface Register {}

/** The registered schema's data model (see {@link Register}). */
export type RegisteredDataModel = Register extends { schema: infer TSchema extends SchemaDefinition<TableDefinitions> }
  ? DataModelFromSchema<TSchema>
  : GenericDataModel;

/**
 * A document of table `TTable` of the registered schema: its user fields plus `_id` and
 * `_creationTime`.
 *
 * @example
 * ```ts
 * function title(project: Doc<"projects">) { return project.name; }
 * ```
 */
export type Doc<TTable extends TableNamesOf<RegisteredDataModel>> = DocumentOf<RegisteredDataModel, TTable>;
