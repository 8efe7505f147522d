import type { SqlExecutor } from "../../runtime/drivers/driver.js";
import { quoteIdent } from "../../runtime/store/sqlText.js";

/** The table of migrations, one row per plan applied or under way. @internal */
export function migrationsTable(schemaName: string): string {
  return `${quoteIdent(schemaName)}."_migrations"`;
}

/**
 * DDL of {@link migrationsTable}. `step` is the last step done; `status` is `running`
 * until the contract step (`done`) or a rollback before the switch (`cancelled`).
 * @internal
 */
export function migrationsTableSql(schemaName: string): string {
  return `CREATE TABLE IF NOT EXISTS ${migrationsTable(schemaName)} (
    plan text PRIMARY KEY,
    table_name text NOT NULL,
    from_layout text NOT NULL,
    to_layout text NOT NULL,
    plan_hash text NOT NULL,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'cancelled')),
    step text NOT NULL DEFAULT 'planned',
    backfill_cursor text,
    rows_done bigint NOT NULL DEFAULT 0,
    rows_estimate bigint,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    last_error text
  )`;
}

/**
 * `_misfit(table, id, field, value, expected)`: raises the error of a document value
 * that does not fit its column (SQLSTATE 22023, which Convoy reports as a bad request).
 * Migrations call it from the shape trigger and the backfill.
 * @internal
 */
export function migrationHelpersSql(schemaName: string): string {
  return `CREATE OR REPLACE FUNCTION ${quoteIdent(schemaName)}."_misfit"(tbl text, id text, field text, value jsonb, expected text)
  RETURNS text LANGUAGE plpgsql AS $misfit$
BEGIN
  RAISE EXCEPTION '% %: field % is %, which does not fit its column (%)',
    tbl, coalesce(id, '(new row)'), field, coalesce(left(value::text, 200), 'missing'), expected
    USING ERRCODE = '22023',
          HINT = 'Write a value of the field''s type, as the table''s schema in convoy/schema.ts declares it.';
END
$misfit$`;
}

/** Tables a migration is moving (status `running`). @internal */
export async function tablesUnderMigration(sql: SqlExecutor, schemaName: string): Promise<Set<string>> {
  const rows = await sql.query<{ table_name: string }>(
    `SELECT table_name FROM ${migrationsTable(schemaName)} WHERE status = 'running'`,
  );
  return new Set(rows.map((row) => row.table_name));
}
