import { ConvoyError } from "../errors.js";
import type { TableDefinition } from "./defineTable.js";
import { TABLE_NAME_PATTERN } from "./ids.js";
import { referencedTable } from "./defineRef.js";
import { relationalColumns } from "./relationalColumns.js";

/** A map of table name to {@link TableDefinition}. */
export type TableDefinitions = Record<string, TableDefinition<any, any>>;

/** A whole schema: every table of the application. */
export interface SchemaDefinition<TTables extends TableDefinitions = TableDefinitions> {
  readonly tables: TTables;
}

/**
 * Defines the application's schema. Convoy keeps one JSONB table per entry in the
 * database's `convoy` schema.
 *
 * @example
 * ```ts
 * export const schema = defineSchema({
 *   users: defineTable({ name: z.string(), createdAt: z.number() }),
 * });
 * ```
 */
export function defineSchema<const TTables extends TableDefinitions>(tables: TTables): SchemaDefinition<TTables> {
  for (const [name, table] of Object.entries(tables)) {
    if (!TABLE_NAME_PATTERN.test(name)) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `Table name ${JSON.stringify(name)} is not allowed: start with a letter, use only letters, digits and "_", at most 48 characters`,
      });
    }
    // Refuses two fields that would share a column.
    if (table.layout === "relational") relationalColumns(name, table.validator.shape, table.relationalOptions);
    for (const [field, schema] of Object.entries(table.validator.shape)) {
      const target = referencedTable(schema as never);
      if (target !== undefined && !(target in tables)) {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: `${name}.${field} is defineRef(${JSON.stringify(target)}) but the schema has no table "${target}"; add it or fix the name`,
        });
      }
    }
  }
  return { tables };
}
