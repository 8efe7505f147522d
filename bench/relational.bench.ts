/**
 * Relational tables against JSONB tables holding the same 100,000 documents, and the
 * online migration of a JSONB table to relational (`migrate()`), in one run.
 *
 *   npm run bench:relational       (node --import tsx bench/relational.bench.ts)
 *
 * Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * BENCH_DOCS (default 100000), BENCH_ROUNDS (default 3), BENCH_SECONDS (measured seconds
 * per layout per round, default 2), BENCH_BATCH_SIZES (backfill batch sizes tried
 * without load, default 1000,2000,5000,10000), BENCH_LOAD_WORKERS (mutation workers during
 * the migration, default 4), BENCH_LOAD_SECONDS (mutations before and after it, default 5),
 * BENCH_LOAD_BATCH_SIZE (the backfill batch size of the migration under load, default 2000),
 * BENCH_ONLY (compare, inserts or migration: that part only; compare includes inserts), BENCH_EXPLAIN (print the report's plans),
 * BENCH_INSERT_ROUNDS (paired insert rounds, default 15), BENCH_INSERT_SECONDS (measured
 * seconds of each insert sample, default 1).
 * Creates the Postgres schemas `bench_relational_*` and drops them at the end.
 */
import pg from "pg";
import { redactConnectionString } from "../runtime/drivers/postgres/postgresDriver.js";
import { formatTable, type RunOptions } from "./harness.js";
import { compareLayouts, JSONB, RELATIONAL } from "./layoutComparison.js";
import { compareInserts, INSERT_CONTENDERS, type InsertResult } from "./insertComparison.js";
import { compareReport, compareTargets, insertReport } from "./layoutReport.js";
import { migrationReport, migrationTargets } from "./migrationReport.js";
import { runMigration, type MigrationRun } from "./migrationRun.js";
import { projectDoc, seededDocuments, type UserId } from "./relationalData.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const DOCS = Number(process.env.BENCH_DOCS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH_SIZES = (process.env.BENCH_BATCH_SIZES ?? "1000,2000,5000,10000").split(",").map(Number);
const LOAD_WORKERS = Number(process.env.BENCH_LOAD_WORKERS ?? 4);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 5);
const LOAD_BATCH_SIZE = Number(process.env.BENCH_LOAD_BATCH_SIZE ?? 2000);
/** `compare` or `migration`: run that part only (default: both). */
const ONLY = process.env.BENCH_ONLY;
const USERS = 100;
const CONCURRENCY = 8;
const RUN: RunOptions = {
  concurrency: CONCURRENCY,
  warmupSeconds: 0.5,
  seconds: Number(process.env.BENCH_SECONDS ?? 2),
  maxOps: 200_000,
};
const INSERT_ROUNDS = Number(process.env.BENCH_INSERT_ROUNDS ?? 15);
const INSERT_RUN: RunOptions = {
  concurrency: CONCURRENCY,
  warmupSeconds: 0.3,
  seconds: Number(process.env.BENCH_INSERT_SECONDS ?? 1),
  maxOps: 100_000,
};
const MIGRATING = "bench_relational_migrate";
const SCHEMAS = [JSONB, RELATIONAL, MIGRATING, ...INSERT_CONTENDERS.map((contender) => contender.schemaName)];

async function main(): Promise<void> {
  const probe = new pg.Client({ connectionString: DATABASE_URL });
  await probe.connect();
  const { rows } = await probe.query<{ server_version: string }>("SHOW server_version");
  for (const schema of SCHEMAS) await probe.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await probe.end();
  console.log(
    `Convoy relational tables bench: ${redactConnectionString(DATABASE_URL)} (Postgres ${rows[0]?.server_version}), ` +
      `node ${process.version}, ${DOCS} projects of ${USERS} users, ${ROUNDS} rounds of ${RUN.warmupSeconds} s warm-up + ` +
      `${RUN.seconds} s measured per layout, ${CONCURRENCY} workers for store reads and inserts`,
  );
  const users = seededDocuments("users", USERS, (i) => ({ name: `User ${i}` }));
  const userIds = users.map((user) => user._id as UserId);
  const projects = seededDocuments("projects", DOCS, (i) => projectDoc(userIds, i));
  try {
    const compared =
      ONLY === "migration" || ONLY === "inserts"
        ? null
        : await compareLayouts({ url: DATABASE_URL, users, projects, rounds: ROUNDS, run: RUN });
    if (compared && process.env.BENCH_EXPLAIN) console.log(compared.plans.join("\n\n"));
    let inserts: InsertResult[] = [];
    if (ONLY !== "migration") {
      console.log(`Inserts, ${INSERT_ROUNDS} paired rounds of ${INSERT_RUN.seconds} s per table:`);
      inserts = await compareInserts({ url: DATABASE_URL, users, projects, rounds: INSERT_ROUNDS, run: INSERT_RUN });
    }
    if (ONLY === "compare" || ONLY === "inserts") {
      if (compared) console.log(`\n${compareReport(compared)}`);
      console.log(`\n${insertReport(inserts)}\n`);
      console.log(formatTable(["target", "this run", "met?"], compareTargets(compared, inserts), 3));
      return;
    }

    const runs: MigrationRun[] = [];
    for (const batchSize of BATCH_SIZES) {
      console.log(`Migration, batch size ${batchSize}, no load:`);
      runs.push(
        await runMigration({ url: DATABASE_URL, schemaName: MIGRATING, users, projects, batchSize, load: null }),
      );
    }
    console.log(`Migration under load (${LOAD_WORKERS} mutation workers):`);
    const loaded = await runMigration({
      url: DATABASE_URL,
      schemaName: MIGRATING,
      users,
      projects,
      batchSize: LOAD_BATCH_SIZE,
      load: { workers: LOAD_WORKERS, beforeSeconds: LOAD_SECONDS, afterSeconds: LOAD_SECONDS },
    });

    if (compared) console.log(`\n${compareReport(compared)}\n\n${insertReport(inserts)}\n`);
    console.log(`${migrationReport(runs, loaded, compared?.sizes[RELATIONAL].total ?? null)}\n`);
    const targets = [...compareTargets(compared, inserts), ...migrationTargets(runs, loaded)];
    console.log(formatTable(["target", "this run", "met?"], targets, 3));
  } finally {
    const cleanup = new pg.Client({ connectionString: DATABASE_URL });
    await cleanup.connect();
    for (const schema of SCHEMAS) await cleanup.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await cleanup.end();
  }
}

await main();
