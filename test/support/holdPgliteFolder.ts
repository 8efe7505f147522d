// Opens an embedded database folder and holds it until stdin closes: a second process.
import { createPgliteDriver } from "../../runtime/drivers/pglite/pgliteDriver.js";

const driver = await createPgliteDriver({ dataDir: process.argv[2]! });
await driver.query("SELECT 1");
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", () => {
  void driver.close().then(() => process.exit(0));
});
