import { setSystemDefaultsSql } from "../../runtime/store/layout/systemDefaults.js";
import type { SqlExecutor } from "../../runtime/drivers/driver.js";

/**
 * Gives tables made before `_id` and `_creation_time` had defaults (so an `INSERT`
 * from psql need not invent them) those defaults. Only tables missing one are altered:
 * `ALTER TABLE` takes a strong lock, which a sync on every `convoy dev` reload should not.
 */
export async function ensureSystemDefaults(
  tx: SqlExecutor,
  schemaName: string,
  tables: readonly string[],
  progress: (message: string) => void,
): Promise<string[]> {
  if (tables.length === 0) return [];
  const rows = await tx.query<{ table: string }>(
    `SELECT DISTINCT table_name AS table FROM information_schema.columns
      WHERE table_schema = $1::text AND column_name IN ('_id', '_creation_time') AND column_default IS NULL`,
    [schemaName],
  );
  const wanted = new Set(tables);
  const missing = rows
    .map((row) => row.table)
    .filter((table) => wanted.has(table))
    .sort();
  for (const table of missing) {
    progress(`Giving ${schemaName}.${table} defaults for _id and _creation_time (INSERTs from SQL)`);
    await tx.query(setSystemDefaultsSql(schemaName, table));
  }
  return missing;
}
