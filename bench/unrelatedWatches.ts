/**
 * Target b of bench/live.bench.ts as an interleaved A/B in one process: one-insert
 * mutations from 8 workers with the live engine running and no watches, then with
 * 10,000 watches on ranges no insert touches, alternately, so both see the same
 * machine state. Prints each pair and its ratio.
 *
 *   npm run bench:watches      (node --import tsx bench/unrelatedWatches.ts)
 *
 * Env: BENCH_DATABASE_URL, BENCH_SECONDS (per sample, default 3), BENCH_ROUNDS (pairs,
 * default 4). Creates the schema bench_watches and drops it at the end.
 */
import { syncSchema } from "../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import { generateId } from "../runtime/schema/ids.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { sample } from "./harness.js";
import { DEFAULT_DATABASE_URL, liveFunctions, liveSchema, POOL_SIZE } from "./liveApp.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const SCHEMA = "bench_watches";
const WATCHES = 10_000;
const USERS = 100;
const RUN = { concurrency: 8, warmupSeconds: 0.5, seconds: Number(process.env.BENCH_SECONDS ?? 3), maxOps: 400_000 };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

async function main(): Promise<void> {
  const driver = createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: POOL_SIZE });
  let engine: LiveQueryEngine | null = null;
  try {
    await driver.exec(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await syncSchema(driver, liveSchema, { schemaName: SCHEMA });
    const runtime = new ConvoyRuntime({ schema: liveSchema, functions: liveFunctions, driver, schemaName: SCHEMA });
    engine = new LiveQueryEngine({ runtime });
    await engine.start();
    const users: string[] = [];
    for (let i = 0; i < USERS; i++) {
      users.push(await runtime.store.mutation((db) => db.insert("users", { name: `user ${i}`, createdAt: i })));
    }
    let n = 0;
    const insert = (i: number) =>
      runtime.call(
        "projects.create",
        { name: `project ${n++}`, userId: users[i % USERS]!, createdAt: i },
        { kind: "mutation" },
      );
    const opsPerSec = (result: { ops: number; seconds: number }) => result.ops / result.seconds;

    console.log(`Inserts, ${RUN.concurrency} workers, ${RUN.seconds} s samples: no watches vs ${WATCHES} unrelated`);
    console.log("round   0 watches ops/s   10,000 watches ops/s   ratio   re-runs during the watched sample");
    for (let round = 1; round <= ROUNDS; round++) {
      const none = await sample(insert, RUN);
      await engine.settled();
      // Watches on user ids no insert uses: each change's prefix bucket is empty.
      const stops: (() => void)[] = [];
      for (let i = 0; i < WATCHES; i++) {
        const userId = generateId("users", Date.now() + i);
        stops.push(engine.watch("projects.byUser", { userId }, null, () => {}));
      }
      await engine.settled();
      const runsBefore = engine.stats().runs;
      const many = await sample(insert, RUN);
      await engine.settled();
      const reruns = engine.stats().runs - runsBefore;
      for (const stop of stops) stop();
      console.log(
        [
          String(round).padEnd(5),
          opsPerSec(none).toFixed(0).padStart(17),
          opsPerSec(many).toFixed(0).padStart(22),
          (opsPerSec(many) / opsPerSec(none)).toFixed(2).padStart(7),
          String(reruns).padStart(36),
        ].join(" "),
      );
    }
  } finally {
    await engine?.stop();
    await driver.exec(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).catch(() => {});
    await driver.close();
  }
}

await main();
