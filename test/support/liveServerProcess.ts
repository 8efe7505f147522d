// A Convoy server in a process of its own, for cross-process tests:
//   node --import tsx test/support/liveServerProcess.ts <databaseUrl> <schemaName>
// Prints "listening <url>" once ready; stops on SIGTERM.
import { createConvoyServer } from "../../runtime/server/convoyServer.js";
import { liveTestFunctions } from "./liveTestApp.js";
import { testSchema } from "./testSchema.js";

const [databaseUrl, schemaName] = process.argv.slice(2) as [string, string];
const convoy = await createConvoyServer({
  databaseUrl,
  schemaName,
  schema: testSchema,
  functions: liveTestFunctions,
  onError: (error) => console.error("feed:", (error as Error).message),
});
const { url } = await convoy.listen({ port: 0 });
console.log(`listening ${url}`);
process.on("SIGTERM", () => void convoy.close({ timeoutMs: 1000 }).then(() => process.exit(0)));
