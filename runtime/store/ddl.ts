import { createHash } from "node:crypto";
import { z } from "zod";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import type { TableDefinition } from "../schema/defineTable.js";
import { mutationLockTable } from "./documentStore.js";
import { mutationRecordTableSql } from "./mutationRecords.js";
import { COLUMN, indexKeySql, quoteIdent } from "./sqlText.js";
import { tableSql } from "./transactionContext.js";

/** An index Convoy manages, as recorded in the index's comment. @internal */
export interface ManagedIndex {
  table: string;
  index: string;
  fields: readonly string[];
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
  return JSON.stringify({ convoy: 1, table: index.table, index: index.index, fields: index.fields });
}

/** Every index the schema asks for, including each table's `by_creation_time`. @internal */
export function desiredIndexes(schema: SchemaDefinition): ManagedIndex[] {
  return Object.entries(schema.tables).flatMap(([table, definition]) => [
    { table, index: "by_creation_time", fields: ["_creationTime"] },
    ...definition.indexes.map((index) => ({ table, index: index.name, fields: index.fields })),
  ]);
}

/** `CREATE INDEX` for a managed index: the fields' keys, then `_creation_time`, `_id`. @internal */
export function createIndexSql(schemaName: string, index: ManagedIndex): string {
  const keys = index.index === "by_creation_time" ? [] : index.fields.map(indexKeySql);
  const columns = [...keys, COLUMN.creationTime, COLUMN.id].join(", ");
  return `CREATE INDEX ${quoteIdent(postgresIndexName(index.table, index.index))} ON ${tableSql(schemaName, index.table)} (${columns})`;
}

/** DDL of Convoy's own tables in the schema: metadata, the mutation lock, mutation results. @internal */
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
  ];
}

/** DDL of one document table. @internal */
export function createTableSql(schemaName: string, table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${tableSql(schemaName, table)} (
    ${COLUMN.id} text PRIMARY KEY,
    ${COLUMN.creationTime} double precision NOT NULL,
    ${COLUMN.doc} jsonb NOT NULL
  )`;
}

/**
 * What the metadata table records of a table: its fields as JSON Schema and its
 * indexes. Comparing two of these tells whether existing documents need checking.
 * @internal
 */
export function describeTable(table: TableDefinition): { fields: unknown; indexes: ManagedIndex["fields"][] } {
  return {
    fields: z.toJSONSchema(table.validator, { unrepresentable: "any", io: "input" }),
    indexes: table.indexes.map((index) => [index.name, ...index.fields]),
  };
}
