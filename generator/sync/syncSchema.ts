import type { Driver, SqlExecutor } from "../../runtime/drivers/driver.js";
import { ConvoyError } from "../../runtime/errors.js";
import type { SchemaDefinition } from "../../runtime/schema/defineSchema.js";
import type { LayoutKind, TableDefinition } from "../../runtime/schema/defineTable.js";
import { canonicalJson } from "../../runtime/store/canonicalJson.js";
import {
  createIndexSql,
  describeTable,
  indexComment,
  postgresIndexName,
  systemTablesSql,
  tableIndexes,
  type ManagedIndex,
} from "../../runtime/store/ddl.js";
import { scheduledFunctionsTableSql } from "../../runtime/scheduler/scheduledFunctionsTable.js";
import { changeLogTableSql, changeTriggerFunctionSql, changeTriggersSql } from "../../runtime/live/changeLogDdl.js";
import { checkSchemaName, DEFAULT_SCHEMA_NAME } from "../../runtime/store/documentStore.js";
import type { TableLayout } from "../../runtime/store/layout/tableLayout.js";
import { createTableLayout, readStoredLayouts } from "../../runtime/store/layout/tableLayouts.js";
import { quoteIdent, quoteLiteral } from "../../runtime/store/sqlText.js";
import { describeIssues, toValidationIssues } from "../../runtime/store/validateDocument.js";
import { migrationHelpersSql, migrationsTableSql, tablesUnderMigration } from "../migrate/migrationState.js";
import { recordLayout, relationalColumnChanges, storedLayoutOf } from "./relationalColumnsSync.js";
import { ensureSystemDefaults } from "./systemDefaultsSync.js";

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
  /** Column changes of relational tables, as `table.column: what`. */
  alteredColumns: string[];
  /**
   * Tables whose declared layout differs from the stored one, or that a migration is
   * moving: `convoy migrate` moves them; until then they are served as stored.
   */
  pendingLayouts: { table: string; stored: LayoutKind; declared: LayoutKind; migrating: boolean }[];
}

/** One document that violates the new schema. */
export interface SchemaViolation {
  table: string;
  _id: string;
  problem: string;
}

const BATCH = 500;

/** Validates every stored document of a table, read through its layout, against `table`'s schema. */
async function checkExistingDocuments(
  tx: SqlExecutor,
  layout: TableLayout,
  table: TableDefinition,
  violations: SchemaViolation[],
): Promise<number> {
  let checked = 0;
  let after = "";
  for (;;) {
    const rows = await tx.query<Record<string, unknown>>(
      `SELECT ${layout.selectList} FROM ${layout.tableSql} WHERE _id > $1::text ORDER BY _id LIMIT ${BATCH}`,
      [after],
    );
    for (const row of rows) {
      const { _id, _creationTime, ...fields } = layout.toDocument(row);
      const result = table.validator.safeParse(fields);
      if (!result.success) {
        violations.push({ table: layout.table, _id, problem: describeIssues(toValidationIssues(result.error)) });
      }
    }
    checked += rows.length;
    if (rows.length < BATCH) return checked;
    after = rows[rows.length - 1]!._id as string;
  }
}

/**
 * Brings the database in line with the schema, in one transaction: creates the
 * `convoy` schema, tables and indexes, changes relational tables' columns, drops
 * indexes that left the schema, and records the deployed schema. When a table's schema
 * changed, every existing document is checked first; if any violates it, nothing is
 * changed and a `PRECONDITION_FAILED` error lists the offending documents.
 *
 * A table keeps the layout it is stored in: a JSONB table declared `.relational()`
 * (or the reverse) is reported in `pendingLayouts` for `convoy migrate`, and a table a
 * migration is moving is left to it.
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
      alteredColumns: [],
      pendingLayouts: [],
    };
    for (const statement of systemTablesSql(schemaName)) await tx.query(statement);
    for (const statement of changeLogTableSql(schemaName)) await tx.query(statement);
    await tx.query(changeTriggerFunctionSql(schemaName));
    for (const statement of scheduledFunctionsTableSql(schemaName)) await tx.query(statement);
    await tx.query(migrationsTableSql(schemaName));
    await tx.query(migrationHelpersSql(schemaName));

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
    const stored = await readStoredLayouts(tx, schemaName);
    const migrating = await tablesUnderMigration(tx, schemaName);
    const descriptions: Record<string, unknown> = {};
    const violations: SchemaViolation[] = [];
    const created: TableLayout[] = [];
    const columnWork: (() => Promise<void>)[] = [];
    const layouts = new Map<string, TableLayout>();

    for (const [name, table] of Object.entries(schema.tables)) {
      descriptions[name] = describeTable(table);
      const changed = canonicalJson(deployed[name]) !== canonicalJson(descriptions[name]);
      const kind = existingTables.has(name) ? (stored.get(name) ?? "jsonb") : table.layout;
      const layout = createTableLayout(schemaName, name, table, kind);
      if (kind !== table.layout || migrating.has(name)) {
        report.pendingLayouts.push({
          table: name,
          stored: kind,
          declared: table.layout,
          migrating: migrating.has(name),
        });
      }
      if (migrating.has(name)) {
        if (changed && deployed[name] !== undefined) {
          throw new ConvoyError({
            code: "PRECONDITION_FAILED",
            message: `The schema of table "${name}" changed while \`convoy migrate\` is moving it to another layout. Let the migration finish (\`convoy migrate\`, \`convoy migrate --status\`) or roll it back (\`convoy migrate --rollback ${name}\`), then sync again.`,
          });
        }
        descriptions[name] = deployed[name] ?? descriptions[name];
        continue;
      }
      layouts.set(name, layout);
      if (!existingTables.has(name)) {
        progress(`Creating ${kind === "relational" ? "relational " : ""}table ${schemaName}.${name}`);
        await tx.query(layout.createTableSql());
        if (kind === "relational") await recordLayout(tx, schemaName, layout);
        created.push(layout);
        report.createdTables.push(name);
      } else if (changed) {
        progress(`Checking existing documents of ${schemaName}.${name} against the new schema`);
        // Read as stored: a relational table's columns are those of its recorded spec until this sync changes them.
        const storedLayout = kind === "relational" ? await storedLayoutOf(tx, schemaName, layout) : layout;
        report.checkedDocuments += await checkExistingDocuments(tx, storedLayout, table, violations);
        if (kind === "relational") {
          columnWork.push(() => relationalColumnChanges(tx, schemaName, storedLayout, layout, report, progress));
        }
      }
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

    for (const work of columnWork) await work();
    const existing = [...layouts.keys()].filter((name) => existingTables.has(name));
    await ensureSystemDefaults(tx, schemaName, existing, progress);
    // Foreign keys once every table exists: a reference may point at a table created after it.
    for (const layout of created) for (const statement of layout.foreignKeysSql()) await tx.query(statement);
    for (const layout of layouts.values()) {
      if (layout.kind === "relational") await tx.query(changeTriggerFunctionSql(schemaName, layout));
      await tx.query(changeTriggersSql(schemaName, layout));
    }
    const desired = [...layouts.values()].flatMap((layout) =>
      tableIndexes(layout.table, schema.tables[layout.table]!, layout.kind),
    );
    await syncIndexes(tx, schemaName, layouts, desired, migrating, report, progress);
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
  layouts: ReadonlyMap<string, TableLayout>,
  desired: ManagedIndex[],
  migrating: ReadonlySet<string>,
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
    existing
      .filter((row) => row.comment?.startsWith('{"convoy":1'))
      // A migration's indexes, old and new, are the migration's to drop.
      .filter((row) => !migrating.has((JSON.parse(row.comment!) as { table: string }).table))
      .map((row) => [row.name, row.comment!]),
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
    await tx.query(createIndexSql(layouts.get(index.table)!, index));
    await tx.query(
      `COMMENT ON INDEX ${quoteIdent(schemaName)}.${quoteIdent(name)} IS ${quoteLiteral(indexComment(index))}`,
    );
    report.createdIndexes.push(name);
  }
}
