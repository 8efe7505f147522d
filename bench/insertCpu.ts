/**
 * Where an insert's CPU goes: workload c of bench/live.bench.ts (one-insert mutations
 * from 8 workers) with CPU counters. For raw autocommit inserts, Convoy mutations with
 * the engine off, with the change feed on, and with it on while a second server's feed
 * listens, it prints ops/s and the CPU time per insert of this process, of the Postgres
 * backends and of the whole machine, and the statements per insert the runtime's driver
 * sent (feed reads and NOTIFYs show as the excess over 1), and the statements the second
 * server's driver sent per insert (its log reads).
 *
 *   node --import tsx bench/insertCpu.ts
 *
 * Env: BENCH_DATABASE_URL, BENCH_SECONDS (per sample, default 3), BENCH_ROUNDS (default 3).
 * Creates the schemas bench_cpu and bench_cpu_raw and drops them at the end.
 */
import pg from "pg";
import { syncSchema } from "../generator/sync/syncSchema.js";
import type { Driver } from "../runtime/drivers/driver.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import { generateId } from "../runtime/schema/ids.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { nextCreationTime } from "../runtime/store/creationTime.js";
import { cpuSince, machineBusyMicros, processCpuMicros } from "./cpu.js";
import { sample, type Operation } from "./harness.js";
import { countingDriver, DEFAULT_DATABASE_URL, liveFunctions, liveSchema, POOL_SIZE } from "./liveApp.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const SCHEMA = "bench_cpu";
const RAW_SCHEMA = "bench_cpu_raw";
const RUN = { concurrency: 8, warmupSeconds: 0.5, seconds: Number(process.env.BENCH_SECONDS ?? 3), maxOps: 400_000 };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function main(): Promise<void> {
  const driver = createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: POOL_SIZE });
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: POOL_SIZE });
  const dropSchemas = `DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE; DROP SCHEMA IF EXISTS "${RAW_SCHEMA}" CASCADE`;
  let engine: LiveQueryEngine | null = null;
  let peer: LiveQueryEngine | null = null;
  try {
    await driver.exec(dropSchemas);
    await syncSchema(driver, liveSchema, { schemaName: SCHEMA });
    await driver.exec(
      `CREATE SCHEMA "${RAW_SCHEMA}"; CREATE TABLE "${RAW_SCHEMA}".projects (LIKE "${SCHEMA}".projects INCLUDING ALL)`,
    );
    // Each server's runtime on a statement-counting view of the one driver.
    const counted = countingDriver(driver);
    const peerCounted = countingDriver(driver);
    const runtimeOn = (counting: Driver) =>
      new ConvoyRuntime({ schema: liveSchema, functions: liveFunctions, driver: counting, schemaName: SCHEMA });
    const runtime = runtimeOn(counted.driver);
    const peerRuntime = runtimeOn(peerCounted.driver);
    const userId = await runtime.store.mutation((db) => db.insert("users", { name: "user", createdAt: 0 }));
    let n = 0;
    const args = () => ({ name: `project ${n++}`, userId, createdAt: n });
    const insertSql = `INSERT INTO "${RAW_SCHEMA}".projects (_id, _creation_time, doc) VALUES ($1::text, $2::float8, $3::jsonb)`;
    const raw: Operation = () => {
      const time = nextCreationTime();
      return pool.query(insertSql, [generateId("projects", time), time, JSON.stringify(args())]);
    };
    const convoy: Operation = () => runtime.call("projects.create", args(), { kind: "mutation" });

    console.log(`Insert CPU, ${RUN.concurrency} workers, ${RUN.seconds} s samples, ${ROUNDS} rounds`);
    console.log("contender     ops/s   bench µs/op   postgres µs/op   machine µs/op   statements/op   peer's/op");
    const measure = async (name: string, op: Operation) => {
      const [machine, postgres, bench, statements, peerStatements] = [
        machineBusyMicros(),
        processCpuMicros("postgres") ?? new Map<number, number>(),
        process.cpuUsage(),
        counted.count(),
        peerCounted.count(),
      ];
      const result = await sample(op, RUN);
      // The counters also ran during the warm-up: divide by every operation, warm-up included.
      const ops = result.ops * ((RUN.seconds + RUN.warmupSeconds) / RUN.seconds);
      const benchCpu = process.cpuUsage(bench);
      const postgresCpu = cpuSince(postgres, processCpuMicros("postgres") ?? new Map<number, number>());
      console.log(
        [
          name.padEnd(10),
          (result.ops / result.seconds).toFixed(0).padStart(8),
          ((benchCpu.user + benchCpu.system) / ops).toFixed(0).padStart(13),
          (postgresCpu / ops).toFixed(0).padStart(16),
          ((machineBusyMicros() - machine) / ops).toFixed(0).padStart(15),
          ((counted.count() - statements) / ops).toFixed(2).padStart(15),
          ((peerCounted.count() - peerStatements) / ops).toFixed(2).padStart(11),
        ].join(" "),
      );
    };
    for (let round = 0; round < ROUNDS; round++) {
      await measure("raw", raw);
      await measure("engine off", convoy);
      engine = new LiveQueryEngine({ runtime });
      await engine.start();
      await measure("feed on", convoy);
      // A second server's engine listening: the first one's mutations are logged and announced.
      peer = new LiveQueryEngine({ runtime: peerRuntime });
      await peer.start();
      await measure("with peer", convoy);
      await peer.stop();
      peer = null;
      await engine.stop();
      engine = null;
    }
  } finally {
    await peer?.stop();
    await engine?.stop();
    await driver.exec(dropSchemas).catch(() => {});
    await pool.end();
    await driver.close();
  }
}

await main();
