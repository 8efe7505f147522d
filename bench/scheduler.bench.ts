/**
 * Scheduled functions: commit-to-start latency of a scheduled mutation on an idle
 * server, sustained scheduled jobs per second, and what an idle runner costs the
 * database (statements per second).
 *
 *   npm run bench:scheduler        (node --import tsx bench/scheduler.bench.ts)
 *
 * Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * BENCH_RATE (jobs scheduled per second in the sustained phase, default 1000),
 * BENCH_SECONDS (length of the sustained phase, default 10), BENCH_CONCURRENCY (jobs a
 * runner runs at once, default 32), BENCH_DRIVERS (default "postgres,pglite").
 * Creates the schema bench_scheduler on Postgres and drops it at the end.
 */
import { z } from "zod";
import { syncSchema } from "../generator/sync/syncSchema.js";
import type { Driver } from "../runtime/drivers/driver.js";
import { createPgliteDriver } from "../runtime/drivers/pglite/pgliteDriver.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { functionBuilders, functionReferences, type ApiFromFunctions } from "../runtime/index.js";
import { defineSchema, defineTable } from "../runtime/index.js";
import { ScheduledFunctionRunner } from "../runtime/scheduler/scheduledFunctionRunner.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { formatTable } from "./harness.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const DRIVERS = (process.env.BENCH_DRIVERS ?? "postgres,pglite").split(",");
const LATENCY_SAMPLES = 200;
const IDLE_SECONDS = 10;
const SCHEMA_NAME = "bench_scheduler";

const schema = defineSchema({ events: defineTable({ n: z.number() }) });
const { mutation, internalMutation } = functionBuilders<typeof schema>();

/** When each latency probe's handler started (performance.now()), by probe number. */
const started = new Map<number, number>();

const functions = {
  jobs: {
    probe: internalMutation({
      args: { i: z.number() },
      handler: async (_ctx, { i }) => {
        if (!started.has(i)) started.set(i, performance.now());
      },
    }),
    work: internalMutation({
      args: { n: z.number() },
      handler: async (ctx, { n }) => {
        await ctx.db.insert("events", { n });
      },
    }),
    scheduleProbe: mutation({
      args: { i: z.number() },
      handler: async (ctx, { i }): Promise<string> => ctx.scheduler.runAfter(0, internal.jobs.probe, { i }),
    }),
    scheduleWork: mutation({
      args: { from: z.number(), count: z.number() },
      handler: async (ctx, { from, count }): Promise<number> => {
        for (let n = from; n < from + count; n++) await ctx.scheduler.runAfter(0, internal.jobs.work, { n });
        return count;
      },
    }),
  },
};
const internal = functionReferences<ApiFromFunctions<typeof functions, "internal">>({
  jobs: { probe: "mutation", work: "mutation" },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** A driver that counts the statements it runs (the idle runner's cost). */
function countingDriver(driver: Driver): { driver: Driver; count: () => number } {
  let statements = 0;
  const counted: Driver = Object.create(driver) as Driver;
  counted.query = (text, params) => {
    statements++;
    return driver.query(text, params);
  };
  counted.transaction = (setup, body) => {
    statements++;
    return driver.transaction(setup, body);
  };
  return { driver: counted, count: () => statements };
}

interface Figures {
  driver: string;
  direct: number;
  p50: number;
  p95: number;
  offered: number;
  completed: number;
  lagP50: number;
  lagMax: number;
  idle: number;
}

async function run(kind: string): Promise<Figures> {
  const base =
    kind === "postgres"
      ? createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: 20 })
      : await createPgliteDriver({});
  const schemaName = kind === "postgres" ? SCHEMA_NAME : "convoy";
  if (kind === "postgres") await base.exec(`DROP SCHEMA IF EXISTS ${SCHEMA_NAME} CASCADE`);
  await syncSchema(base, schema, { schemaName });
  const { driver, count } = countingDriver(base);
  const runtime = new ConvoyRuntime({ schema, functions, driver, schemaName });
  const runner = new ScheduledFunctionRunner({
    runtime,
    concurrency: CONCURRENCY,
    onError: (error) => console.error("runner:", error),
    log: (message) => console.error(message),
  });
  await runner.start();
  try {
    // (a) commit -> start, one job at a time on an idle server.
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      await runtime.call("jobs.scheduleProbe", { i }, { kind: "mutation" });
      const committed = performance.now();
      while (!started.has(i)) await sleep(1);
      latencies.push(started.get(i)! - committed);
      await sleep(20);
    }
    latencies.sort((a, b) => a - b);
    started.clear();

    // The ceiling: the same mutation called directly, CONCURRENCY at a time.
    const directCount = 3000;
    const directBegin = performance.now();
    let nextDirect = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (nextDirect < directCount) {
          const n = -1 - nextDirect++;
          await runtime.call("jobs.work", { n }, { kind: "mutation", allowInternal: true });
        }
      }),
    );
    const direct = directCount / ((performance.now() - directBegin) / 1000);

    // (b) sustained: RATE jobs a second for SECONDS, scheduled 100 per mutation.
    const table = `"${schemaName}"."_scheduled_functions"`;
    const batch = 100;
    const begin = performance.now();
    let offered = 0;
    for (let tick = 0; offered < RATE * SECONDS; tick++) {
      const due = begin + (tick * batch * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      await runtime.call("jobs.scheduleWork", { from: offered, count: batch }, { kind: "mutation" });
      offered += batch;
    }
    const offerSeconds = (performance.now() - begin) / 1000;
    for (;;) {
      const [row] = await base.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${table} WHERE name = 'jobs.work' AND state <> 'success'`,
      );
      if (Number(row!.n) === 0) break;
      await sleep(50);
    }
    const totalSeconds = (performance.now() - begin) / 1000;
    const lags = (
      await base.query<{ lag: number }>(
        `SELECT completed_time - scheduled_time AS lag FROM ${table} WHERE name = 'jobs.work' ORDER BY 1`,
      )
    ).map((row) => row.lag);

    // (c) idle: statements the runner sends in IDLE_SECONDS with nothing to do.
    await sleep(2000);
    const before = count();
    await sleep(IDLE_SECONDS * 1000);
    const idle = (count() - before) / IDLE_SECONDS;
    return {
      driver: kind,
      direct,
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      offered: offered / offerSeconds,
      completed: offered / totalSeconds,
      lagP50: percentile(lags, 0.5),
      lagMax: lags.at(-1)!,
      idle,
    };
  } finally {
    await runner.stop();
    if (kind === "postgres") await base.exec(`DROP SCHEMA IF EXISTS ${SCHEMA_NAME} CASCADE`);
    await base.close();
  }
}

const rows: string[][] = [];
for (const kind of DRIVERS) {
  const figures = await run(kind);
  rows.push([
    figures.driver,
    figures.p50.toFixed(1),
    figures.p95.toFixed(1),
    figures.offered.toFixed(0),
    figures.completed.toFixed(0),
    figures.direct.toFixed(0),
    figures.lagP50.toFixed(0),
    figures.lagMax.toFixed(0),
    figures.idle.toFixed(2),
  ]);
}
console.log(
  `Scheduled functions (runner concurrency ${CONCURRENCY}; sustained phase ${RATE} jobs/s offered for ${SECONDS} s, 100 per scheduling mutation; each job a mutation inserting one document)\n`,
);
console.log(
  formatTable(
    [
      "driver",
      "commit->start p50 ms",
      "p95 ms",
      "offered jobs/s",
      "completed jobs/s",
      "same mutation called directly /s",
      "due->done p50 ms",
      "due->done max ms",
      "idle statements/s",
    ],
    rows,
    1,
  ),
);
