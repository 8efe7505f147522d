/**
 * What in-order mutations cost a client: one client calls N one-insert mutations at
 * once through a real HTTP server, with `mutationOrder: "sequential"` (the default:
 * each sent once the previous settled) and `"concurrent"`, alternately.
 *
 *   npm run bench:client-order      (node --import tsx bench/clientOrder.ts)
 *
 * Env: BENCH_DATABASE_URL, BENCH_MUTATIONS (per burst, default 400), BENCH_ROUNDS
 * (default 3). Creates the schema bench_client_order and drops it at the end.
 */
import { syncSchema } from "../generator/sync/syncSchema.js";
import { createConvoyClient } from "../runtime/client/convoyClient.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import type { FunctionReference } from "../runtime/functions/functionReference.js";
import { createConvoyServer } from "../runtime/server/convoyServer.js";
import { DEFAULT_DATABASE_URL, liveFunctions, liveSchema, POOL_SIZE } from "./liveApp.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const SCHEMA = "bench_client_order";
const MUTATIONS = Number(process.env.BENCH_MUTATIONS ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const create = { path: "projects.create", kind: "mutation" } as FunctionReference<"mutation", any, any>;

async function main(): Promise<void> {
  const driver = createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: POOL_SIZE });
  await driver.exec(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await syncSchema(driver, liveSchema, { schemaName: SCHEMA });
  const convoy = await createConvoyServer({
    driver,
    schema: liveSchema,
    functions: liveFunctions,
    schemaName: SCHEMA,
    closeDatabase: false,
  });
  try {
    const { url } = await convoy.listen({ port: 0 });
    const userId = await convoy.runtime.store.mutation((db) => db.insert("users", { name: "bench", createdAt: 1 }));
    console.log(
      `Client mutation order, ${MUTATIONS} one-insert mutations called at once by one client, ${ROUNDS} rounds`,
    );
    console.log("mutationOrder   ms     per mutation ms   mutations/s");
    for (let round = 0; round < ROUNDS; round++) {
      for (const mutationOrder of ["sequential", "concurrent"] as const) {
        const client = createConvoyClient({ url, mutationOrder });
        const started = performance.now();
        await Promise.all(
          Array.from({ length: MUTATIONS }, (_, i) => client.mutation(create, { name: `p${i}`, userId, createdAt: i })),
        );
        const ms = performance.now() - started;
        console.log(
          `${mutationOrder.padEnd(14)} ${ms.toFixed(0).padStart(5)}  ${(ms / MUTATIONS).toFixed(2).padStart(16)}  ${((MUTATIONS / ms) * 1000).toFixed(0).padStart(12)}`,
        );
      }
    }
  } finally {
    await convoy.close({ timeoutMs: 1000 });
    await driver.exec(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).catch(() => {});
    await driver.close();
  }
}

await main();
