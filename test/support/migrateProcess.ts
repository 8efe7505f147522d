// `convoy migrate`'s work in a process of its own, so a test can SIGKILL it at any step:
//   node --import tsx test/support/migrateProcess.ts <databaseUrl> <schemaName> <plansDir> [rollback|migrate] [lastStep]
// Prints "step <name>" before each step and "done" at the end; the schema is the
// migration suite's with projects relational. With `lastStep`, it runs no step after that
// one: it prints "held before <name>" and waits to be killed, so a kill meant for a step
// never lands after the next one has run.
import { migrate, rollback, type MigrateOptions } from "../../generator/migrate/migrate.js";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";
import { promotedSchema } from "../migrate/migrationSchema.js";

const [databaseUrl, schemaName, plansDir, mode, lastStep] = process.argv.slice(2) as [
  string,
  string,
  string,
  string?,
  string?,
];
let pastLastStep = false;
const driver = createPostgresDriver({ connectionString: databaseUrl });
const options: MigrateOptions = {
  driver,
  schema: promotedSchema,
  schemaName,
  plansDir,
  tables: ["projects"],
  batchSize: 2000,
  beforeStep: async (step) => {
    if (pastLastStep) {
      console.log(`held before ${step}`);
      await new Promise(() => setInterval(() => {}, 60_000)); // until killed
    }
    if (step === lastStep) pastLastStep = true;
    console.log(`step ${step}`);
  },
  onProgress: (message) => void console.log(`progress ${message}`),
};
if (mode === "rollback") await rollback({ ...options, table: "projects" });
else await migrate(options);
await driver.close();
console.log("done");
