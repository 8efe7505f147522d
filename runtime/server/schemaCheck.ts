import type { Driver } from "../drivers/driver.js";
import { ConvoyError } from "../errors.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";

/**
 * Refuses to serve a schema whose tables the database lacks, saying how to create
 * them, rather than answering every call with a missing-table error.
 * @internal
 */
export async function checkTablesExist(driver: Driver, schemaName: string, schema: SchemaDefinition): Promise<void> {
  const rows = await driver.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1::text",
    [schemaName],
  );
  const present = new Set(rows.map((row) => row.name));
  const missing = ["_schema", ...Object.keys(schema.tables)].filter((table) => !present.has(table));
  if (missing.length === 0) return;
  throw new ConvoyError({
    code: "PRECONDITION_FAILED",
    message:
      `The database has no ${missing.includes("_schema") ? "Convoy tables" : `table(s) ${missing.join(", ")}`} in schema "${schemaName}" yet. ` +
      "Run `npx convoy generate` (with the same DATABASE_URL) to create them, then start the server again",
  });
}
