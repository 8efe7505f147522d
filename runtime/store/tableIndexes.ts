import { ConvoyError } from "../errors.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import type { TableDefinition } from "../schema/defineTable.js";

/** An index as queries see it: its fields, ending in a system field. @internal */
export interface ResolvedIndex {
  name: string;
  /** Fields a range names, in order: user fields then `_creationTime`, or `_id` alone. */
  fields: readonly string[];
}

/** Looks a table up in the schema, with an error that lists the tables there are. @internal */
export function tableOf(schema: SchemaDefinition, table: unknown): TableDefinition {
  const definition =
    typeof table === "string" && Object.hasOwn(schema.tables, table) ? schema.tables[table] : undefined;
  if (definition === undefined) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `No table ${JSON.stringify(table)} in the schema. Tables: ${Object.keys(schema.tables).join(", ") || "(none)"}`,
    });
  }
  return definition;
}

/** Resolves an index name of a table, built-in or declared. @internal */
export function resolveIndex(tableName: string, table: TableDefinition, name: string): ResolvedIndex {
  if (name === "by_id") return { name, fields: ["_id"] };
  if (name === "by_creation_time") return { name, fields: ["_creationTime"] };
  const declared = table.indexes.find((index) => index.name === name);
  if (declared === undefined) {
    const known = ["by_id", "by_creation_time", ...table.indexes.map((index) => index.name)];
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Table "${tableName}" has no index ${JSON.stringify(name)}. Indexes: ${known.join(", ")}. Declare it with .index() in convoy/schema.ts`,
    });
  }
  return { name, fields: [...declared.fields, "_creationTime"] };
}
