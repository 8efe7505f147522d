import { createHash } from "node:crypto";
import {
  changeTriggerFunctionName,
  changeTriggerFunctionSql,
  changeTriggersSql,
} from "../../runtime/live/changeLogDdl.js";
import type { TableDefinition } from "../../runtime/schema/defineTable.js";
import { canonicalJson } from "../../runtime/store/canonicalJson.js";
import {
  createIndexSql,
  describeTable,
  indexComment,
  postgresIndexName,
  tableIndexes,
} from "../../runtime/store/ddl.js";
import { postgresName } from "../../runtime/schema/relationalColumns.js";
import { RelationalLayout } from "../../runtime/store/layout/relationalLayout.js";
import type { LayoutKind, TableLayout } from "../../runtime/store/layout/tableLayout.js";
import { createTableLayout, layoutsTable } from "../../runtime/store/layout/tableLayouts.js";
import { quoteIdent, quoteLiteral } from "../../runtime/store/sqlText.js";

/** The steps of a migration, in order (see docs/migrations.md). */
export const STEPS = ["check", "expand", "backfill", "validate", "index", "switch", "contract"] as const;
export type StepName = (typeof STEPS)[number];

/** One step of a plan: its statements, as the plan file holds them. */
export interface PlanStep {
  name: StepName;
  statements: string[];
}

/** What a plan file's header records. */
export interface PlanHeader {
  version: 1;
  table: string;
  from: LayoutKind;
  to: LayoutKind;
  schema: string;
  /** Identifies the table's schema the plan was made for: a plan for another is stale. */
  schemaHash: string;
}

/** A migration of one table between layouts, step by step. */
export interface MigrationPlan extends PlanHeader {
  /** The file name without `.sql`, e.g. `0001_projects_to_relational`; the plan's identity. */
  name: string;
  steps: PlanStep[];
  /** Rows in the table when the plan was made (an estimate). */
  rowsEstimate: number;
}

/** The shape trigger that keeps both layouts equal while a migration runs. */
export const SHAPE_TRIGGER = "_convoy_shape";

/** Where a migration builds the new layout's indexes before the contract step names them. */
export function nextIndexName(table: string, index: string): string {
  return postgresName(`${postgresIndexName(table, index).slice(0, 55)}__next`);
}

function shapeFunctionName(table: string): string {
  return postgresName(`_shape__${table}`);
}

/** What identifies a table's schema and target for a plan. */
export function schemaHashOf(table: string, definition: TableDefinition, to: LayoutKind): string {
  const description = canonicalJson({ table, to, ...describeTable(definition) });
  return createHash("sha256").update(description).digest("hex").slice(0, 16);
}

/**
 * The trigger function that keeps the two shapes of a migrating table equal: a write of
 * `doc` (a server on the JSONB layout, psql) fills the columns; a write of the columns
 * fills `doc`; a write of neither (an update that changes nothing, of a row the backfill
 * has not reached) fills the columns from `doc`. Backfill batches
 * (`convoy.mutation = 'backfill'`) fill the columns themselves.
 */
function shapeTriggerSql(schemaName: string, relational: TableLayout): string[] {
  const columns = relational.storageColumns().map((column) => quoteIdent(column.column));
  const fillColumns = relational
    .storageFromDocumentSql("NEW.doc", "NEW._id")
    .map(({ column, sql }) => `NEW.${quoteIdent(column)} := ${sql};`)
    .join("\n      ");
  const fillDoc = `NEW.doc := ${relational.documentSql("NEW")};`;
  const row = (alias: string) => `ROW(${columns.map((column) => `${alias}.${column}`).join(", ")})`;
  const fn = `${quoteIdent(schemaName)}.${quoteIdent(shapeFunctionName(relational.table))}`;
  return [
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $shape$
BEGIN
  IF current_setting('convoy.mutation', true) = 'backfill' THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW.doc IS NOT NULL THEN
      ${fillColumns}
    ELSE
      ${fillDoc}
    END IF;
  ELSIF NEW.doc IS DISTINCT FROM OLD.doc THEN
      ${fillColumns}
  ELSIF ${row("NEW")} IS DISTINCT FROM ${row("OLD")} THEN
      ${fillDoc}
  ELSIF NEW.doc IS NOT NULL THEN
      -- Neither shape changed: the columns may not be filled yet (a promotion's backfill has not reached the row).
      -- A NULL doc stays NULL and fails its check: SET doc = jsonb_set(doc, ...) on a row whose doc is not filled
      -- yet would otherwise lose the write without a word.
      ${fillColumns}
  END IF;
  RETURN NEW;
END
$shape$`,
    `CREATE OR REPLACE TRIGGER ${quoteIdent(SHAPE_TRIGGER)} BEFORE INSERT OR UPDATE ON ${relational.tableSql} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  ];
}

/** The statements that undo an expand step (a rollback before the switch). */
export function cancelStatements(
  schemaName: string,
  table: string,
  definition: TableDefinition,
  to: LayoutKind,
): string[] {
  const target = createTableLayout(schemaName, table, definition, to);
  const indexes = tableIndexes(table, definition, to).filter((index) => index.index !== "by_creation_time");
  return [
    `DROP TRIGGER IF EXISTS ${quoteIdent(SHAPE_TRIGGER)} ON ${target.tableSql}`,
    `DROP FUNCTION IF EXISTS ${quoteIdent(schemaName)}.${quoteIdent(shapeFunctionName(table))}()`,
    ...indexes.map(
      (index) => `DROP INDEX IF EXISTS ${quoteIdent(schemaName)}.${quoteIdent(nextIndexName(table, index.index))}`,
    ),
    `ALTER TABLE ${target.tableSql} ${target
      .storageColumns()
      .map((column) => `DROP COLUMN IF EXISTS ${quoteIdent(column.column)}`)
      .join(", ")}`,
  ];
}

/**
 * Plans moving `table` from layout `from` to `to` (one of them JSONB, the other
 * relational): the SQL of every step, as `convoy migrate` writes it to the plan file and
 * runs it.
 */
export function planMigration(options: {
  name: string;
  schemaName: string;
  table: string;
  definition: TableDefinition;
  from: LayoutKind;
  to: LayoutKind;
  rowsEstimate: number;
}): MigrationPlan {
  const { schemaName, table, definition, from, to } = options;
  if (from === to) throw new Error(`planMigration: ${table} is already ${to}`);
  const source = createTableLayout(schemaName, table, definition, from);
  const target = createTableLayout(schemaName, table, definition, to);
  const relational = to === "relational" ? target : source;
  if (!(relational instanceof RelationalLayout)) throw new Error("planMigration: one side must be relational");
  const tableSql = target.tableSql;
  const constraints = target.migrationConstraints();
  const sourceIndexes = tableIndexes(table, definition, from).filter((index) => index.index !== "by_creation_time");
  const targetIndexes = tableIndexes(table, definition, to).filter((index) => index.index !== "by_creation_time");

  const problem = target.documentProblemSql(source.documentSql("t"));
  const check =
    problem === null
      ? []
      : [
          `SELECT _id, problem FROM (SELECT t._id, ${problem} AS problem FROM ${tableSql} AS t) AS checked WHERE problem IS NOT NULL ORDER BY _id LIMIT 21`,
        ];

  const expand = [
    `ALTER TABLE ${tableSql} ${target
      .storageColumns()
      .map((column) => `ADD COLUMN IF NOT EXISTS ${quoteIdent(column.column)} ${column.type}`)
      .join(", ")}`,
    ...shapeTriggerSql(schemaName, relational),
    ...constraints.map(
      (constraint) =>
        `ALTER TABLE ${tableSql} ADD CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition} NOT VALID`,
    ),
  ];

  const fills = target.storageFromDocumentSql(source.documentSql("t"), "t._id");
  // The batch's own count and last _id (in the database's collation) drive the loop:
  // a row deleted meanwhile is not updated, yet the batch was full.
  const backfill = [
    `WITH batch AS (SELECT _id FROM ${tableSql} WHERE _id > $1::text ORDER BY _id LIMIT $2::int),
  filled AS (UPDATE ${tableSql} AS t SET ${fills.map(({ column, sql }) => `${quoteIdent(column)} = ${sql}`).join(",\n      ")}
    FROM batch WHERE t._id = batch._id RETURNING t._id)
SELECT (SELECT count(*)::int FROM batch) AS batched, (SELECT max(_id) FROM batch) AS last, (SELECT count(*)::int FROM filled) AS filled`,
  ];

  const validate = [
    ...constraints.map((constraint) => `ALTER TABLE ${tableSql} VALIDATE CONSTRAINT ${quoteIdent(constraint.name)}`),
    ...constraints
      .filter((constraint) => constraint.notNullColumn !== undefined)
      .flatMap((constraint) => [
        `ALTER TABLE ${tableSql} ALTER COLUMN ${quoteIdent(constraint.notNullColumn!)} SET NOT NULL`,
        `ALTER TABLE ${tableSql} DROP CONSTRAINT IF EXISTS ${quoteIdent(constraint.name)}`,
      ]),
  ];

  const index = targetIndexes.map((managed) =>
    createIndexSql(target, managed, { name: nextIndexName(table, managed.index), concurrently: true }),
  );

  const columnsJson = relational === target ? JSON.stringify(relational.columns) : null;
  const switchLayout = [
    `INSERT INTO ${layoutsTable(schemaName)} (table_name, layout, columns, changed_at) VALUES (${quoteLiteral(table)}, ${quoteLiteral(to)}, ${columnsJson === null ? "NULL" : `${quoteLiteral(columnsJson)}::jsonb`}, now())
  ON CONFLICT (table_name) DO UPDATE SET layout = EXCLUDED.layout, columns = EXCLUDED.columns, changed_at = now()`,
  ];

  const schema = quoteIdent(schemaName);
  const contract = [
    // The strongest lock first: taking a weaker one first (the change-log triggers) and
    // ACCESS EXCLUSIVE later deadlocks with an app transaction that read the table and then writes it.
    `LOCK TABLE ${tableSql} IN ACCESS EXCLUSIVE MODE`,
    ...(to === "relational" ? [changeTriggerFunctionSql(schemaName, target)] : []),
    changeTriggersSql(schemaName, target),
    `DROP TRIGGER IF EXISTS ${quoteIdent(SHAPE_TRIGGER)} ON ${tableSql}`,
    `DROP FUNCTION IF EXISTS ${schema}.${quoteIdent(shapeFunctionName(table))}()`,
    ...sourceIndexes.map(
      (managed) => `DROP INDEX IF EXISTS ${schema}.${quoteIdent(postgresIndexName(table, managed.index))}`,
    ),
    `ALTER TABLE ${tableSql} ${source
      .storageColumns()
      .map((column) => `DROP COLUMN IF EXISTS ${quoteIdent(column.column)}`)
      .join(", ")}`,
    ...targetIndexes.flatMap((managed) => [
      `ALTER INDEX ${schema}.${quoteIdent(nextIndexName(table, managed.index))} RENAME TO ${quoteIdent(postgresIndexName(table, managed.index))}`,
      `COMMENT ON INDEX ${schema}.${quoteIdent(postgresIndexName(table, managed.index))} IS ${quoteLiteral(indexComment(managed))}`,
    ]),
    ...(from === "relational"
      ? [`DROP FUNCTION IF EXISTS ${schema}.${quoteIdent(changeTriggerFunctionName(source))}()`]
      : []),
  ];

  return {
    version: 1,
    name: options.name,
    table,
    from,
    to,
    schema: schemaName,
    schemaHash: schemaHashOf(table, definition, to),
    rowsEstimate: options.rowsEstimate,
    steps: [
      { name: "check", statements: check },
      { name: "expand", statements: expand },
      { name: "backfill", statements: backfill },
      { name: "validate", statements: validate },
      { name: "index", statements: index },
      { name: "switch", statements: switchLayout },
      { name: "contract", statements: contract },
    ],
  };
}
