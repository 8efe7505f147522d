// A Convoy server running scheduled functions in a process of its own, for kill tests:
//   node --import tsx test/support/schedulerServerProcess.ts <databaseUrl | pglite folder> <schemaName>
// Prints "ready" once its runner started, and "running <job>" lines; stops on SIGTERM.
import { createConvoyServer } from "../../runtime/server/convoyServer.js";
import { schedulerFunctions } from "./schedulerApp.js";
import { testSchema } from "./testSchema.js";

const [database, schemaName] = process.argv.slice(2) as [string, string];
const convoy = await createConvoyServer({
  ...(database.startsWith("postgres") ? { databaseUrl: database } : { dataDir: database }),
  schemaName,
  schema: testSchema,
  functions: schedulerFunctions,
  scheduler: { pollIntervalMs: 200, log: (message) => console.log(`log ${message}`) },
  onError: (error) => console.error("scheduler:", (error as Error).message),
});
console.log("ready");
process.on("SIGTERM", () => void convoy.close({ timeoutMs: 1000 }).then(() => process.exit(0)));
