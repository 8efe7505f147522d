/**
 * The insert comparison of `bench/relational.bench.ts`: `ctx.db.insert` mutations into the
 * same 100,000-document table stored three ways (JSONB; relational with its foreign key;
 * relational with `foreignKeys: false`), each served as `convoy serve` runs it (a runtime
 * with its live engine). The contenders take turns in short samples, many rounds, and
 * each relational sample is divided by the JSONB sample of its own round: on a shared
 * VM throughput drifts by more than the differences measured here within a minute, and
 * a median of paired ratios is steadier than a ratio of totals.
 */
import pg from "pg";
import { syncSchema } from "../generator/sync/syncSchema.js";
import type { Driver } from "../runtime/drivers/driver.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import type { SchemaDefinition } from "../runtime/schema/defineSchema.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { backendsOf, CpuMeter } from "./backendCpu.js";
import { sample, summarize, type Measurement, type RunOptions, type Sample } from "./harness.js";
import { withApplicationName } from "./lockSampler.js";
import {
  bulkLoad,
  jsonbSchema,
  projectDoc,
  relationalSchema,
  relationalWithoutKeysSchema,
  type Seeded,
  type UserId,
} from "./relationalData.js";

/** The three tables inserted into, each in its own Postgres schema. */
export const INSERT_CONTENDERS = [
  { name: "JSONB", schemaName: "bench_insert_jsonb", schema: jsonbSchema, kind: "jsonb" },
  { name: "relational", schemaName: "bench_insert_keys", schema: relationalSchema, kind: "relational" },
  {
    name: "relational, no foreign key",
    schemaName: "bench_insert_nokeys",
    schema: relationalWithoutKeysSchema,
    kind: "relational",
  },
] as const satisfies readonly {
  name: string;
  schemaName: string;
  schema: SchemaDefinition;
  kind: "jsonb" | "relational";
}[];

export type InsertContender = (typeof INSERT_CONTENDERS)[number]["name"];

/** One contender's figures over every round. */
export interface InsertResult {
  name: InsertContender;
  measurement: Measurement;
  /** Median over rounds of this round's ops/s ÷ JSONB's ops/s in the same round. */
  medianRatio: number;
  /** Lowest and highest of those per-round ratios. */
  ratioRange: [number, number];
  /** Median over rounds of the store's Postgres backends' CPU per insert, µs (null: unreadable). */
  postgresMicros: number | null;
  /** Median over rounds of this process's CPU per insert, µs (every contender's client runs here). */
  clientMicros: number;
}

export interface InsertComparisonOptions {
  url: string;
  users: readonly Seeded[];
  projects: readonly Seeded[];
  rounds: number;
  /** Each sample's timing; `concurrency` is the number of insert workers. */
  run: RunOptions;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Loads the three tables, serves each, and runs the paired insert rounds. */
export async function compareInserts(options: InsertComparisonOptions): Promise<InsertResult[]> {
  const { url, users, projects, rounds, run } = options;
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const drivers: Driver[] = [];
  const engines: LiveQueryEngine[] = [];
  const dropAll = async () => {
    for (const { schemaName } of INSERT_CONTENDERS) await admin.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
  };
  try {
    await dropAll();
    const served = [];
    for (const contender of INSERT_CONTENDERS) {
      const app = `bench_insert_${contender.schemaName}`;
      const driver = createPostgresDriver({
        connectionString: withApplicationName(url, app),
        maxConnections: run.concurrency,
      });
      drivers.push(driver);
      await syncSchema(driver, contender.schema, { schemaName: contender.schemaName });
      await bulkLoad(driver, contender.schemaName, "users", "jsonb", users);
      await bulkLoad(driver, contender.schemaName, "projects", contender.kind, projects);
      await driver.exec(`VACUUM ANALYZE "${contender.schemaName}".users, "${contender.schemaName}".projects`);
      const runtime = new ConvoyRuntime({
        schema: contender.schema,
        functions: {},
        driver,
        schemaName: contender.schemaName,
      });
      const engine = new LiveQueryEngine({ runtime });
      await engine.start();
      engines.push(engine);
      const meter = new CpuMeter(backendsOf(admin, app));
      served.push({ contender, store: runtime.store, meter });
    }
    await admin.query("CHECKPOINT");

    const userIds = users.map((user) => user._id as UserId);
    let next = projects.length;
    const samples = served.map(() => [] as Sample[]);
    const postgres = served.map(() => [] as number[]);
    const client = served.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
      for (const i of order) {
        const { store, meter } = served[i]!;
        const [serverBefore, clientBefore] = [meter.server, meter.client];
        const first = next;
        next += run.maxOps * 2;
        const result = await sample(
          (n) => store.mutation((db) => db.insert("projects", projectDoc(userIds, first + n))),
          run,
          meter.hooks,
        );
        samples[i]!.push(result);
        if (serverBefore !== null && meter.server !== null)
          postgres[i]!.push(((meter.server - serverBefore) / result.ops) * 1e6);
        client[i]!.push(((meter.client - clientBefore) / result.ops) * 1e6);
      }
    }
    const rate = (s: Sample) => s.ops / s.seconds;
    const results = served.map(({ contender }, i): InsertResult => {
      const ratios = samples[i]!.map((s, round) => rate(s) / rate(samples[0]![round]!));
      return {
        name: contender.name,
        measurement: summarize(samples[i]!),
        medianRatio: median(ratios),
        ratioRange: [Math.min(...ratios), Math.max(...ratios)],
        postgresMicros: postgres[i]!.length === rounds ? median(postgres[i]!) : null,
        clientMicros: median(client[i]!),
      };
    });
    for (const result of results) {
      console.log(
        `  ctx.db insert, ${result.name}: ${result.measurement.opsPerSec.toFixed(1)} mutations/s, ` +
          `median ratio to JSONB ${result.medianRatio.toFixed(3)}`,
      );
    }
    return results;
  } finally {
    for (const engine of engines) await engine.stop().catch(() => {});
    for (const driver of drivers) await driver.close().catch(() => {});
    await dropAll().catch(() => {});
    await admin.end();
  }
}
