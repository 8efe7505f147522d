import type { SqlExecutor } from "../../runtime/drivers/driver.js";
import { ConvoyError } from "../../runtime/errors.js";
import { hasForeignKey, type ColumnSpec } from "../../runtime/schema/relationalColumns.js";
import { constraintName, RelationalLayout } from "../../runtime/store/layout/relationalLayout.js";
import type { TableLayout } from "../../runtime/store/layout/tableLayout.js";
import { layoutsTable } from "../../runtime/store/layout/tableLayouts.js";
import { canonicalJson } from "../../runtime/store/canonicalJson.js";
import { quoteIdent } from "../../runtime/store/sqlText.js";
import type { SyncReport } from "./syncSchema.js";

function relational(layout: TableLayout): RelationalLayout {
  if (!(layout instanceof RelationalLayout)) throw new Error(`${layout.table} is not a relational table`);
  return layout;
}

/** Records a table as relational, with its columns (what later syncs compare with). @internal */
export async function recordLayout(tx: SqlExecutor, schemaName: string, layout: TableLayout): Promise<void> {
  const columns = layout instanceof RelationalLayout ? JSON.stringify(layout.columns) : null;
  await tx.query(
    `INSERT INTO ${layoutsTable(schemaName)} (table_name, layout, columns, changed_at) VALUES ($1::text, $2::text, $3::jsonb, now())
     ON CONFLICT (table_name) DO UPDATE SET layout = EXCLUDED.layout, columns = EXCLUDED.columns, changed_at = now()`,
    [layout.table, layout.kind, columns],
  );
}

/** The relational layout of a table as its columns were last recorded (before this sync changes them). @internal */
export async function storedLayoutOf(tx: SqlExecutor, schemaName: string, layout: TableLayout): Promise<TableLayout> {
  relational(layout);
  const [row] = await tx.query<{ columns: ColumnSpec[] | null }>(
    `SELECT columns FROM ${layoutsTable(schemaName)} WHERE table_name = $1::text`,
    [layout.table],
  );
  if (!row?.columns) return layout;
  return new RelationalLayout(schemaName, layout.table, layout.tableSql, row.columns);
}

/**
 * Alters a relational table's columns from `stored` to `wanted`, after every stored
 * document was found valid under the new schema (so a new required column meets an
 * empty table, a dropped column holds only NULLs, and a column made required has no
 * NULLs). Changes are metadata-only where Postgres allows it; a column whose values
 * must be converted is refused with what to do instead.
 * @internal
 */
export async function relationalColumnChanges(
  tx: SqlExecutor,
  schemaName: string,
  storedLayout: TableLayout,
  wantedLayout: TableLayout,
  report: SyncReport,
  progress: (message: string) => void,
): Promise<void> {
  const stored = relational(storedLayout);
  const wanted = relational(wantedLayout);
  const table = wanted.tableSql;
  const before = new Map(stored.columns.map((spec) => [spec.column, spec]));
  const after = new Map(wanted.columns.map((spec) => [spec.column, spec]));
  const run = async (what: string, sql: string) => {
    progress(`${wanted.table}: ${what}`);
    report.alteredColumns.push(`${wanted.table}.${what}`);
    await tx.query(sql);
  };
  const dropConstraints = async (spec: ColumnSpec) => {
    for (const kind of ["check", "fkey"] as const) {
      await tx.query(
        `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(constraintName(wanted.table, spec.column, kind))}`,
      );
    }
  };
  const addConstraints = async (spec: ColumnSpec) => {
    const check = wanted.checkSql(spec);
    if (check) {
      const name = quoteIdent(constraintName(wanted.table, spec.column, "check"));
      await tx.query(`ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (${check})`);
    }
    if (hasForeignKey(spec)) {
      const target = `${quoteIdent(schemaName)}.${quoteIdent(spec.references)}`;
      const dangling = await tx.query<{ _id: string; ref: string }>(
        `SELECT t._id, t.${quoteIdent(spec.column)} AS ref FROM ${table} AS t
          WHERE t.${quoteIdent(spec.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${target} AS r WHERE r._id = t.${quoteIdent(spec.column)})
          ORDER BY t._id LIMIT 20`,
      );
      if (dangling.length > 0) {
        throw new ConvoyError({
          code: "PRECONDITION_FAILED",
          message:
            `The schema change was not applied: ${wanted.table}.${spec.field} would get a foreign key, but these documents reference no document of ${spec.references}:\n` +
            dangling.map((row) => `  ${wanted.table} ${row._id}: ${spec.field} ${row.ref}`).join("\n") +
            "\nDelete them or point them at existing documents, then sync again.",
        });
      }
      await tx.query(wanted.foreignKeySql(spec));
    }
  };

  for (const [column, spec] of before) {
    if (after.has(column)) continue;
    // Every stored document passed the new schema, so the column holds no values.
    await run(
      `${column}: dropped (field ${spec.field} left the schema; no document had it)`,
      `ALTER TABLE ${table} DROP COLUMN ${quoteIdent(column)}`,
    );
  }
  for (const [column, spec] of after) {
    const old = before.get(column);
    const name = quoteIdent(column);
    if (old === undefined) {
      await run(`${column}: added (${spec.type})`, `ALTER TABLE ${table} ADD COLUMN ${name} ${spec.type}`);
      if (spec.nullMeans === "never") await tx.query(`ALTER TABLE ${table} ALTER COLUMN ${name} SET NOT NULL`);
      await addConstraints(spec);
      continue;
    }
    if (canonicalJson(old) === canonicalJson(spec)) continue;
    await dropConstraints(old);
    if (old.type !== spec.type) {
      const [{ filled } = { filled: 0 }] = await tx.query<{ filled: number }>(
        `SELECT count(*)::int AS filled FROM ${table} WHERE ${name} IS NOT NULL`,
      );
      if (filled > 0 && spec.type !== "jsonb") {
        throw new ConvoyError({
          code: "PRECONDITION_FAILED",
          message:
            `The schema change was not applied: ${wanted.table}.${spec.field} would move from a ${old.type} column to a ${spec.type} column, and ${filled} row(s) hold a value. ` +
            `Clear or convert those values first (for example with a mutation), or return the table to JSONB (\`convoy migrate --rollback ${wanted.table}\`), change the field, and promote it again.`,
        });
      }
      // Empty: a new column. Values that all fit jsonb: converted in place (this rewrites the table).
      const using = filled > 0 ? `to_jsonb(${name})` : `NULL`;
      await run(
        `${column}: ${old.type} -> ${spec.type}${filled > 0 ? ` (${filled} value(s) converted; the table is rewritten)` : ""}`,
        `ALTER TABLE ${table} ALTER COLUMN ${name} DROP NOT NULL, ALTER COLUMN ${name} TYPE ${spec.type} USING ${using}`,
      );
    }
    if (spec.nullMeans === "never" && (old.nullMeans !== "never" || old.type !== spec.type)) {
      await run(`${column}: NOT NULL`, `ALTER TABLE ${table} ALTER COLUMN ${name} SET NOT NULL`);
    } else if (spec.nullMeans !== "never" && old.nullMeans === "never") {
      await run(`${column}: NULL allowed`, `ALTER TABLE ${table} ALTER COLUMN ${name} DROP NOT NULL`);
    }
    await addConstraints(spec);
  }
  await recordLayout(tx, schemaName, wanted);
}
