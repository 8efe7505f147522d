import { createHash } from "node:crypto";
import { z } from "zod";
import type { TableDefinition } from "../schema/defineTable.js";
import { mutationLockTable } from "./documentStore.js";
import { INDEX_TAIL_SQL } from "./layout/systemKeys.js";
import type { LayoutKind, TableLayout } from "./layout/tableLayout.js";
import { newIdFunctionSql } from "./layout/systemDefaults.js";
import { layoutsTableSql } from "./layout/tableLayouts.js";
import { mutationRecordTableSql } from "./mutationRecords.js";
import { quoteIdent } from "./sqlText.js";

/** An index Convoy manages, as recorded in the index's comment. @internal */
export interface ManagedIndex {
  table: string;
  index: string;
  fields: readonly string[];
  /** The layout whose columns it indexes (`by_creation_time` is the same in both). */
  layout: LayoutKind;
}

/** The Postgres name of a managed index: `<table>__<index>`, hashed when too long. @internal */
export function postgresIndexName(table: string, index: string): string {
  const name = `${table}__${index}`;
  if (name.length <= 63) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, 54)}_${hash}`;
}

/** The comment that marks an index as Convoy's and says what it indexes. @internal */
export function indexComment(index: ManagedIndex): string {
  const layout = index.layout === "relational" && index.index !== "by_creation_time" ? { layout: "relational" } : {};
  return JSON.stringify({ convoy: 1, table: index.table, index: index.index, fields: index.fields, ...layout });
}

/** The indexes a table asks for in a layout, including its `by_creation_time`. @internal */
export function tableIndexes(table: string, definition: TableDefinition, layout: LayoutKind): ManagedIndex[] {
  return [
    { table, index: "by_creation_time", fields: ["_creationTime"], layout },
    ...definition.indexes.map((index) => ({ table, index: index.name, fields: index.fields, layout })),
  ];
}

/**
 * `CREATE INDEX` for a managed index: the fields' key parts in the table's layout, then
 * `_creation_time`, `_id`. `name` overrides the managed name (a migration builds the new
 * shape's indexes beside the old ones).
 * @internal
 */
export function createIndexSql(
  layout: TableLayout,
  index: ManagedIndex,
  options: { name?: string; concurrently?: boolean } = {},
): string {
  const columns = index.index === "by_creation_time" ? INDEX_TAIL_SQL : layout.indexColumnsSql(index.fields);
  const name = quoteIdent(options.name ?? postgresIndexName(index.table, index.index));
  return `CREATE INDEX ${options.concurrently ? "CONCURRENTLY IF NOT EXISTS " : ""}${name} ON ${layout.tableSql} (${columns})`;
}

/** DDL of Convoy's own tables in the schema (metadata, the mutation lock, mutation results) and its id function. @internal */
export function systemTablesSql(schemaName: string): string[] {
  const schema = quoteIdent(schemaName);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${schema}`,
    `CREATE TABLE IF NOT EXISTS ${schema}."_schema" (
      id int PRIMARY KEY CHECK (id = 1),
      tables jsonb NOT NULL,
      deployed_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE IF NOT EXISTS ${mutationLockTable(schemaName)} (id int PRIMARY KEY)`,
    mutationRecordTableSql(schemaName),
    layoutsTableSql(schemaName),
    newIdFunctionSql(schemaName),
  ];
}

/**
 * What the metadata table records of a table: its fields as JSON Schema and its
 * indexes. Comparing two of these tells whether existing documents need checking.
 * @internal
 */
export function describeTable(table: TableDefinition): {
  fields: unknown;
  indexes: ManagedIndex["fields"][];
  foreignKeys?: false;
} {
  return {
    fields: z.toJSONSchema(table.validator, { unrepresentable: "any", io: "input" }),
    indexes: table.indexes.map((index) => [index.name, ...index.fields]),
    // Only when set, so that the description of every other table stays as it was.
    ...(table.layout === "relational" && table.relationalOptions?.foreignKeys === false
      ? { foreignKeys: false as const }
      : {}),
  };
}
