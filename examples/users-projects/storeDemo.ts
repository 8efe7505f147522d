// The spec's users/projects schema on the embedded database, through the document
// store directly (the CLI and HTTP server build on this). Run: npm run example
// Until the CLI lands (issue 3) this demo imports the repository's sources directly.
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { createDocumentStore, openDatabase } from "../../runtime/server.js";
import { schema } from "./convoy/schema.js";

const driver = await openDatabase({ dataDir: new URL("./.convoy", import.meta.url).pathname, onProgress: console.log });
console.log(`Using ${driver.description}`);
const report = await syncSchema(driver, schema, { onProgress: console.log });
console.log(`Schema in sync (${report.createdTables.length} table(s) created)`);

const store = createDocumentStore({ schema, driver });
const userId = await store.mutation((db) => db.insert("users", { name: "Ada", createdAt: Date.now() }));
await store.mutation((db) => db.insert("projects", { userId, name: "My App", createdAt: Date.now() }));
await store.mutation((db) => db.insert("projects", { userId, name: "Second App", createdAt: Date.now() + 1 }));

const projects = await store.query((db) =>
  db
    .query("projects")
    .withIndex("by_userId", (q) => q.eq("userId", userId))
    .order("desc", "createdAt")
    .collect(),
);
console.table(projects.map(({ _id, name, createdAt }) => ({ _id, name, createdAt })));
await driver.close();
