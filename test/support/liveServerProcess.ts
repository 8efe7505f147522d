// A Convoy server in a process of its own, for cross-process tests:
//   node --import tsx test/support/liveServerProcess.ts <databaseUrl> <schemaName>
// Prints "listening <url>" once ready; stops on SIGTERM.
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { createConvoyApp } from "../../runtime/server/expressApp.js";
import { liveTestFunctions } from "./liveTestApp.js";
import { testSchema } from "./testSchema.js";

const [databaseUrl, schemaName] = process.argv.slice(2) as [string, string];
const driver = createPostgresDriver({ connectionString: databaseUrl });
const runtime = new ConvoyRuntime({ schema: testSchema, functions: liveTestFunctions, driver, schemaName });
const live = new LiveQueryEngine({ runtime, onError: (error) => console.error("feed:", (error as Error).message) });
await live.start();
const { app, streams } = createConvoyApp({ runtime, functions: liveTestFunctions, live });
const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number };
  console.log(`listening http://127.0.0.1:${address.port}`);
});
process.on("SIGTERM", () => {
  streams?.closeAll();
  server.closeAllConnections();
  server.close();
  void live
    .stop()
    .then(() => runtime.close())
    .then(() => process.exit(0));
});
