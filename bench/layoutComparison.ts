/**
 * The layout comparison of `bench/relational.bench.ts`: the same documents in a JSONB and
 * a relational table; their size, a SQL report over promoted fields and an indexed range
 * read through the store, each run on both and checked to give the same answers.
 */
import { isDeepStrictEqual } from "node:util";
import pg from "pg";
import { syncSchema } from "../generator/sync/syncSchema.js";
import type { Driver } from "../runtime/drivers/driver.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { createDocumentStore } from "../runtime/server/createDocumentStore.js";
import { backendsOf, CpuMeter } from "./backendCpu.js";
import { sample, summarize, type Measurement, type Operation, type RunOptions } from "./harness.js";
import { withApplicationName } from "./lockSampler.js";
import { bulkLoad, jsonbSchema, MINUTE, relationalSchema, START, type Seeded, type UserId } from "./relationalData.js";

export const JSONB = "bench_relational_jsonb";
export const RELATIONAL = "bench_relational_columns";
export type Layout = typeof JSONB | typeof RELATIONAL;
export const LAYOUTS: readonly Layout[] = [JSONB, RELATIONAL];
/** Each store's sessions' application_name, to find its backends. */
const STORE_APPS = { [JSONB]: "bench_relational_store_jsonb", [RELATIONAL]: "bench_relational_store_columns" };
/** A range read covers this many minutes of one user's projects: 50 of them (one per 100 minutes). */
const RANGE_MINUTES = 5000;

/** How to run the comparison. */
export interface CompareOptions {
  url: string;
  users: readonly Seeded[];
  projects: readonly Seeded[];
  rounds: number;
  /** Each sample's timing; `concurrency` is the store workloads' worker count. */
  run: RunOptions;
}

/** The per-user report a SQL user writes on each layout: count, sum and average of promoted fields. */
const AGGREGATE_SQL = {
  [JSONB]: `SELECT doc->>'userId' AS user_id, count(*)::int AS projects, sum((doc->>'budget')::float8) AS budget,
       avg((doc->>'hours')::float8) AS hours
  FROM "${JSONB}".projects WHERE doc->>'status' <> 'archived' GROUP BY 1 ORDER BY 1`,
  [RELATIONAL]: `SELECT user_id, count(*)::int AS projects, sum(budget) AS budget, avg(hours) AS hours
  FROM "${RELATIONAL}".projects WHERE status <> 'archived' GROUP BY user_id ORDER BY user_id`,
};

/** CPU per operation, in microseconds: of this process, and of the store's Postgres backends. */
export interface CpuPerOp {
  client: number;
  server: number | null;
}

export interface Pair {
  workload: string;
  unit: string;
  results: Record<Layout, Measurement>;
  cpu: Record<Layout, CpuPerOp> | null;
}

/**
 * Runs each layout's operation `rounds` times, alternating which goes first, so drift does
 * not favour one. With `apps` (each layout's sessions' application_name), also measures
 * the CPU each operation costs this process and the Postgres backends.
 */
async function runPair(
  workload: string,
  ops: Record<Layout, Operation>,
  options: { run: RunOptions; rounds: number; unit?: string; apps?: Record<Layout, string>; pool: pg.Pool },
): Promise<Pair> {
  const unit = options.unit ?? "ops/s";
  const samples: Record<Layout, Awaited<ReturnType<typeof sample>>[]> = { [JSONB]: [], [RELATIONAL]: [] };
  const meters = options.apps
    ? {
        [JSONB]: new CpuMeter(backendsOf(options.pool, options.apps[JSONB])),
        [RELATIONAL]: new CpuMeter(backendsOf(options.pool, options.apps[RELATIONAL])),
      }
    : null;
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? LAYOUTS : [...LAYOUTS].reverse();
    for (const layout of order) samples[layout].push(await sample(ops[layout], options.run, meters?.[layout].hooks));
  }
  const results = { [JSONB]: summarize(samples[JSONB]), [RELATIONAL]: summarize(samples[RELATIONAL]) };
  const perOp = (layout: Layout): CpuPerOp => {
    const count = samples[layout].reduce((sum, s) => sum + s.ops, 0);
    const meter = meters![layout];
    return {
      client: (meter.client / count) * 1e6,
      server: meter.server === null ? null : (meter.server / count) * 1e6,
    };
  };
  const cpu = meters ? { [JSONB]: perOp(JSONB), [RELATIONAL]: perOp(RELATIONAL) } : null;
  console.log(
    `  ${workload}: JSONB ${results[JSONB].opsPerSec.toFixed(1)} ${unit}, relational ${results[RELATIONAL].opsPerSec.toFixed(1)} ${unit}`,
  );
  return { workload, unit, results, cpu };
}

export interface Sizes {
  total: number;
  table: number;
  indexes: number;
  perIndex: { name: string; bytes: number }[];
}

async function sizes(driver: Driver, schemaName: string): Promise<Sizes> {
  const table = `"${schemaName}".projects`;
  const [row] = await driver.query<{ total: string; heap: string; indexes: string }>(
    `SELECT pg_total_relation_size($1::regclass)::text AS total, pg_table_size($1::regclass)::text AS heap,
            pg_indexes_size($1::regclass)::text AS indexes`,
    [table],
  );
  const perIndex = await driver.query<{ name: string; bytes: string }>(
    `SELECT c.relname AS name, pg_relation_size(c.oid)::text AS bytes FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass ORDER BY c.relname`,
    [table],
  );
  return {
    total: Number(row!.total),
    table: Number(row!.heap),
    indexes: Number(row!.indexes),
    perIndex: perIndex.map((index) => ({ name: index.name, bytes: Number(index.bytes) })),
  };
}

/** Same documents in both layouts: size, the SQL report and an indexed range read through the store (inserts: insertComparison.ts). */
export async function compareLayouts(options: CompareOptions) {
  const { url, users, projects, rounds, run } = options;
  const docs = projects.length;
  const drivers = {
    [JSONB]: createPostgresDriver({
      connectionString: withApplicationName(url, STORE_APPS[JSONB]),
      maxConnections: run.concurrency,
    }),
    [RELATIONAL]: createPostgresDriver({
      connectionString: withApplicationName(url, STORE_APPS[RELATIONAL]),
      maxConnections: run.concurrency,
    }),
  };
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  console.log("Relational vs JSONB:");
  try {
    for (const layout of LAYOUTS) {
      const driver = drivers[layout];
      const kind = layout === JSONB ? "jsonb" : "relational";
      await syncSchema(driver, layout === JSONB ? jsonbSchema : relationalSchema, { schemaName: layout });
      await bulkLoad(driver, layout, "users", "jsonb", users);
      await bulkLoad(driver, layout, "projects", kind, projects);
      await driver.exec(`VACUUM ANALYZE "${layout}".users, "${layout}".projects`);
    }
    const [jsonbSizes, relationalSizes] = [
      await sizes(drivers[JSONB], JSONB),
      await sizes(drivers[RELATIONAL], RELATIONAL),
    ];
    console.log(`  size: JSONB ${jsonbSizes.total} bytes, relational ${relationalSizes.total} bytes`);

    // The report: the same rows from both layouts, or the figures mean nothing.
    const reports = await Promise.all(LAYOUTS.map((layout) => pool.query(AGGREGATE_SQL[layout])));
    const rounded = (rows: Record<string, unknown>[]) =>
      rows.map((row) => ({ ...row, budget: Number(row.budget).toFixed(2), hours: Number(row.hours).toFixed(6) }));
    if (
      reports[0]!.rows.length !== users.length ||
      !isDeepStrictEqual(rounded(reports[0]!.rows), rounded(reports[1]!.rows))
    ) {
      throw new Error("bench: the report differs between the JSONB and the relational table");
    }
    const aggregate = await runPair(
      "SQL report (GROUP BY user)",
      { [JSONB]: () => pool.query(AGGREGATE_SQL[JSONB]), [RELATIONAL]: () => pool.query(AGGREGATE_SQL[RELATIONAL]) },
      { run: { ...run, concurrency: 1 }, rounds, unit: "queries/s", pool },
    );
    const plans = await Promise.all(
      LAYOUTS.map(async (layout) => {
        const { rows } = await pool.query<{ "QUERY PLAN": string }>(
          `EXPLAIN (ANALYZE, BUFFERS) ${AGGREGATE_SQL[layout]}`,
        );
        return rows.map((row) => row["QUERY PLAN"]).join("\n");
      }),
    );

    const userIds = users.map((user) => user._id as UserId);
    const stores = {
      [JSONB]: createDocumentStore({ schema: jsonbSchema, driver: drivers[JSONB], schemaName: JSONB }),
      [RELATIONAL]: createDocumentStore({
        schema: relationalSchema,
        driver: drivers[RELATIONAL],
        schemaName: RELATIONAL,
      }),
    };
    const rangeRead = (layout: Layout, i: number) => {
      const userId = userIds[i % userIds.length]!;
      const since = START + ((i * 7919) % Math.max(1, docs - RANGE_MINUTES)) * MINUTE;
      return stores[layout].query((db) =>
        db
          .query("projects")
          .withIndex("by_user_created", (q) =>
            q
              .eq("userId", userId)
              .gte("createdAt", since)
              .lt("createdAt", since + RANGE_MINUTES * MINUTE),
          )
          .collect(),
      );
    };
    let rows = 0;
    for (let i = 0; i < 50; i++) {
      const [fromJsonb, fromRelational] = [await rangeRead(JSONB, i), await rangeRead(RELATIONAL, i)];
      if (!isDeepStrictEqual(fromJsonb, fromRelational))
        throw new Error(`bench: range read ${i} differs between layouts`);
      rows += fromJsonb.length;
    }
    console.log(`  range read: ${(rows / 50).toFixed(1)} documents a read on average`);
    const reads = await runPair(
      `ctx.db range read (${Math.round(rows / 50)} docs)`,
      { [JSONB]: (i) => rangeRead(JSONB, i), [RELATIONAL]: (i) => rangeRead(RELATIONAL, i) },
      { run, rounds, apps: STORE_APPS, pool },
    );

    return { sizes: { [JSONB]: jsonbSizes, [RELATIONAL]: relationalSizes }, pairs: [aggregate, reads], plans };
  } finally {
    await pool.end();
    for (const driver of Object.values(drivers)) await driver.close();
  }
}
