import type { Driver, SqlExecutor } from "../../runtime/drivers/driver.js";
import { ConvoyError } from "../../runtime/errors.js";
import type { SchemaDefinition } from "../../runtime/schema/defineSchema.js";
import type { TableDefinition } from "../../runtime/schema/defineTable.js";
import { canonicalJson } from "../../runtime/store/canonicalJson.js";
import {
  createIndexSql,
  createTableSql,
  describeTable,
  desiredIndexes,
  indexComment,
  postgresIndexName,
  systemTablesSql,
  type ManagedIndex,
} from "../../runtime/store/ddl.js";
import { changeLogTableSql, changeTriggerFunctionSql, changeTriggersSql } from "../../runtime/live/changeLogDdl.js";
import { checkSchemaName, DEFAULT_SCHEMA_NAME } from "../../runtime/store/documentStore.js";
import { quoteIdent, quoteLiteral } from "../../runtime/store/sqlText.js";
import { tableSql } from "../../runtime/store/transactionContext.js";
import { describeIssues, toValidationIssues } from "../../runtime/store/validateDocument.js";

/** Options of {@link syncSchema}. */
export interface SyncSchemaOptions {
  /** @default "convoy" */
  schemaName?: string;
  /** How many offending documents a refusal lists at most. @default 20 */
  maxReportedViolations?: number;
  /** Told about each step. */
  onProgress?: (message: string) => void;
}

/** What a sync changed. */
export interface SyncReport {
  createdTables: string[];
  createdIndexes: string[];
  droppedIndexes: string[];
  /** Tables in the database that left the schema; their data is kept. */
  orphanedTables: string[];
  /** Documents checked against a changed table schema. */
  checkedDocuments: number;
}

/** One document that violates the new schema. */
export interface SchemaViolation {
  table: string;
  _id: string;
  problem: string;
}

const BATCH = 500;

async function checkExistingDocuments(
  tx: SqlExecutor,
  schemaName: string,
  name: string,
  table: TableDefinition,
  violations: SchemaViolation[],
): Promise<number> {
  let checked = 0;
  let after = "";
  for (;;) {
    const rows = await tx.query<{ _id: string; doc: unknown }>(
      `SELECT _id, doc FROM ${tableSql(schemaName, name)} WHERE _id > $1::text ORDER BY _id LIMIT ${BATCH}`,
      [after],
    );
    for (const row of rows) {
      const result = table.validator.safeParse(row.doc);
      if (!result.success) {
        violations.push({ table: name, _id: row._id, problem: describeIssues(toValidationIssues(result.error)) });
      }
    }
    checked += rows.length;
    if (rows.length < BATCH) return checked;
    after = rows[rows.length - 1]!._id;
  }
}

/**
 * Brings the database in line with the schema, in one transaction: creates the
 * `convoy` schema, tables and indexes, drops indexes that left the schema, and records
 * the deployed schema. When a table's schema changed, every existing document is
 * checked first; if any violates it, nothing is changed and a `PRECONDITION_FAILED`
 * error lists the offending documents.
 *
 * @example
 * ```ts
 * const report = await syncSchema(driver, schema);
 * ```
 */
export async function syncSchema(
  driver: Driver,
  schema: SchemaDefinition,
  options: SyncSchemaOptions = {},
): Promise<SyncReport> {
  const schemaName = checkSchemaName(options.schemaName ?? DEFAULT_SCHEMA_NAME);
  const maxReported = options.maxReportedViolations ?? 20;
  const progress = options.onProgress ?? (() => {});
  // One sync at a time per schema, across processes.
  const setup = `SELECT pg_advisory_xact_lock(hashtext(${quoteLiteral(`convoy-sync:${schemaName}`)}))`;

  return driver.transaction(setup, async (tx) => {
    const report: SyncReport = {
      createdTables: [],
      createdIndexes: [],
      droppedIndexes: [],
      orphanedTables: [],
      checkedDocuments: 0,
    };
    for (const statement of systemTablesSql(schemaName)) await tx.query(statement);
    for (const statement of changeLogTableSql(schemaName)) await tx.query(statement);
    await tx.query(changeTriggerFunctionSql(schemaName));

    const existingTables = new Set(
      (
        await tx.query<{ name: string }>(
          `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1::text AND table_name NOT LIKE '\\_%'`,
          [schemaName],
        )
      ).map((row) => row.name),
    );
    const [deployedRow] = await tx.query<{ tables: Record<string, unknown> }>(
      `SELECT tables FROM ${quoteIdent(schemaName)}."_schema" WHERE id = 1`,
    );
    const deployed = deployedRow?.tables ?? {};
    const descriptions: Record<string, unknown> = {};
    const violations: SchemaViolation[] = [];

    for (const [name, table] of Object.entries(schema.tables)) {
      descriptions[name] = describeTable(table);
      if (!existingTables.has(name)) {
        progress(`Creating table ${schemaName}.${name}`);
        await tx.query(createTableSql(schemaName, name));
        report.createdTables.push(name);
      } else if (canonicalJson(deployed[name]) !== canonicalJson(descriptions[name])) {
        progress(`Checking existing documents of ${schemaName}.${name} against the new schema`);
        report.checkedDocuments += await checkExistingDocuments(tx, schemaName, name, table, violations);
      }
    }
    for (const name of Object.keys(schema.tables)) {
      await tx.query(changeTriggersSql(schemaName, name));
    }
    report.orphanedTables = [...existingTables].filter((name) => !(name in schema.tables)).sort();

    if (violations.length > 0) {
      const shown = violations.slice(0, maxReported);
      const lines = shown.map((violation) => `  ${violation.table} ${violation._id}: ${violation.problem}`);
      if (violations.length > shown.length) lines.push(`  ... and ${violations.length - shown.length} more`);
      throw new ConvoyError({
        code: "PRECONDITION_FAILED",
        message:
          `The schema change was not applied: ${violations.length} existing document(s) do not match it.\n${lines.join("\n")}\n` +
          "Make the new fields optional (or give them defaults), or fix these documents first (for example with a mutation), then sync again.",
        data: { violations: shown, total: violations.length },
      });
    }

    await syncIndexes(tx, schemaName, desiredIndexes(schema), report, progress);
    await tx.query(
      `INSERT INTO ${quoteIdent(schemaName)}."_schema" (id, tables, deployed_at) VALUES (1, $1::jsonb, now())
       ON CONFLICT (id) DO UPDATE SET tables = EXCLUDED.tables, deployed_at = EXCLUDED.deployed_at`,
      [JSON.stringify(descriptions)],
    );
    return report;
  });
}

async function syncIndexes(
  tx: SqlExecutor,
  schemaName: string,
  desired: ManagedIndex[],
  report: SyncReport,
  progress: (message: string) => void,
): Promise<void> {
  const existing = await tx.query<{ name: string; comment: string | null }>(
    `SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1::text AND c.relkind = 'i'`,
    [schemaName],
  );
  const managed = new Map(
    existing.filter((row) => row.comment?.startsWith('{"convoy":1')).map((row) => [row.name, row.comment!]),
  );
  const wanted = new Map(desired.map((index) => [postgresIndexName(index.table, index.index), index]));

  for (const [name, comment] of managed) {
    const want = wanted.get(name);
    if (want === undefined || indexComment(want) !== comment) {
      progress(`Dropping index ${schemaName}.${name}`);
      await tx.query(`DROP INDEX ${quoteIdent(schemaName)}.${quoteIdent(name)}`);
      managed.delete(name);
      if (want === undefined) report.droppedIndexes.push(name);
    }
  }
  for (const [name, index] of wanted) {
    if (managed.has(name)) continue;
    progress(`Creating index ${schemaName}.${name}`);
    await tx.query(createIndexSql(schemaName, index));
    await tx.query(
      `COMMENT ON INDEX ${quoteIdent(schemaName)}.${quoteIdent(name)} IS ${quoteLiteral(indexComment(index))}`,
    );
    report.createdIndexes.push(name);
  }
}
