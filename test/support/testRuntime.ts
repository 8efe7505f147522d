import { syncSchema } from "../../generator/sync/syncSchema.js";
import type { FunctionTree } from "../../runtime/functions/functionReference.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import type { TestDatabase, TestDriverFactory } from "./testDatabases.js";
import { testSchema } from "./testSchema.js";

/** A fresh database with the test schema synced, and a runtime of `functions` on it. */
export async function openTestRuntime(
  factory: TestDriverFactory,
  functions: FunctionTree,
): Promise<{ database: TestDatabase; runtime: ConvoyRuntime }> {
  const database = await factory.open();
  await syncSchema(database.driver, testSchema, { schemaName: database.schemaName });
  const runtime = new ConvoyRuntime({
    schema: testSchema,
    functions,
    driver: database.driver,
    schemaName: database.schemaName,
  });
  return { database, runtime };
}
