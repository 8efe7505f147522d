/**
 * One `migrate()` of a freshly loaded JSONB projects table to relational, for
 * `bench/relational.bench.ts`: optionally with app mutations running before, during and
 * after it, and a lock sampler watching every session. Checks the table afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "../generator/migrate/migrate.js";
import { syncSchema } from "../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { createDocumentStore } from "../runtime/server/createDocumentStore.js";
import { cpuSnapshot, cpuUsed } from "./backendCpu.js";
import { LockSampler, withApplicationName, type LockWait } from "./lockSampler.js";
import { MutationLoad, type OpRecord } from "./migrationLoad.js";
import { bulkLoad, jsonbSchema, relationalSchema, type Seeded, type UserId } from "./relationalData.js";

export const APP = "bench_relational_app";
export const MIGRATOR = "bench_relational_migrate";

/** A step of the migration and when it ran (performance.now() ms). */
export interface StepTime {
  step: string;
  start: number;
  end: number;
}

export interface LoadOptions {
  workers: number;
  /** Mutations run this long before the migration starts (after 1 s of warm-up). */
  beforeSeconds: number;
  /** ... and this long after it finished. */
  afterSeconds: number;
}

export interface MigrationRun {
  batchSize: number;
  steps: StepTime[];
  /** migrate() from call to return. */
  start: number;
  end: number;
  /** Rows the backfill filled (`_migrations.rows_done`). */
  backfilled: number;
  /** CPU seconds the migration's Postgres backends used during the backfill (null: not measurable here). */
  backfillCpu: number | null;
  /** pg_total_relation_size of the table after the migration. */
  bytesAfter: number;
  load: { ops: OpRecord[]; errors: number; loadStart: number } | null;
  appWaits: LockWait[];
  migratorWaits: LockWait[];
  lockSamples: number;
}

/** Loads `projects` (JSONB) into `schemaName`, then migrates it with `migrate()`. Throws if the result is wrong. */
export async function runMigration(options: {
  url: string;
  schemaName: string;
  users: readonly Seeded[];
  projects: readonly Seeded[];
  batchSize: number;
  load: LoadOptions | null;
}): Promise<MigrationRun> {
  const { schemaName, batchSize } = options;
  const migrator = createPostgresDriver({
    connectionString: withApplicationName(options.url, MIGRATOR),
    maxConnections: 4,
  });
  const app = createPostgresDriver({
    connectionString: withApplicationName(options.url, APP),
    maxConnections: Math.max(options.load?.workers ?? 1, 2),
  });
  const sampler = new LockSampler(withApplicationName(options.url, "bench_relational_sampler"), [APP, MIGRATOR]);
  const plansDir = mkdtempSync(join(tmpdir(), "convoy-bench-plans-"));
  let load: MutationLoad | null = null;
  try {
    await migrator.exec(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await syncSchema(migrator, jsonbSchema, { schemaName });
    await bulkLoad(migrator, schemaName, "users", "jsonb", options.users);
    await bulkLoad(migrator, schemaName, "projects", "jsonb", options.projects);
    await migrator.exec(`VACUUM ANALYZE "${schemaName}".users, "${schemaName}".projects`);
    // Write out the load's dirty pages now, so the checkpoint does not slow the mutations measured before the migration.
    await migrator.exec("CHECKPOINT").catch(() => {});
    // As `convoy migrate` does: sync the new schema (the table stays JSONB, reported pending), then migrate.
    const report = await syncSchema(migrator, relationalSchema, { schemaName });
    if (!report.pendingLayouts.some((pending) => pending.table === "projects")) {
      throw new Error("bench: projects should be pending a migration to relational");
    }

    const store = createDocumentStore({ schema: relationalSchema, driver: app, schemaName });
    const userIds = options.users.map((user) => user._id as UserId);
    load = options.load ? new MutationLoad(store, userIds, options.projects, options.load.workers) : null;
    await sampler.start();
    const loadStart = performance.now();
    if (load && options.load) {
      load.start();
      await sleep((1 + options.load.beforeSeconds) * 1000);
    }

    const steps: StepTime[] = [];
    let cpuBefore = new Map<number, number>();
    let backfillCpu: number | null = null;
    const start = performance.now();
    await migrate({
      driver: migrator,
      schema: relationalSchema,
      schemaName,
      plansDir,
      batchSize,
      onProgress: (message) => {
        const begun = /^projects: (\w+)\.\.\.$/.exec(message);
        if (begun) {
          steps.push({ step: begun[1]!, start: performance.now(), end: NaN });
          if (begun[1] === "backfill") cpuBefore = cpuSnapshot(sampler.pids(MIGRATOR));
        } else if (/^projects: \w+ done in/.test(message)) {
          const step = steps.at(-1)!;
          step.end = performance.now();
          if (step.step === "backfill") backfillCpu = cpuUsed(cpuBefore, cpuSnapshot(sampler.pids(MIGRATOR)));
        }
      },
    });
    const end = performance.now();
    if (load && options.load) {
      await sleep(options.load.afterSeconds * 1000);
      await load.stop();
    }
    await sampler.stop();

    const [layout] = await migrator.query<{ layout: string }>(
      `SELECT layout FROM "${schemaName}"."_layouts" WHERE table_name = 'projects'`,
    );
    const [doc] = await migrator.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = $1::text AND table_name = 'projects' AND column_name = 'doc'`,
      [schemaName],
    );
    if (layout?.layout !== "relational" || doc?.n !== 0) {
      throw new Error(`bench: after migrate() projects is ${layout?.layout ?? "jsonb"}, doc columns: ${doc?.n}`);
    }
    const reference = load ?? new MutationLoad(store, userIds, options.projects, 1);
    const reader = createDocumentStore({ schema: relationalSchema, driver: migrator, schemaName });
    const problems = await reference.check(reader);
    if (load && load.errors.length > 0) {
      problems.unshift(`${load.errors.length} mutations failed, the first with: ${String(load.errors[0])}`);
    }
    if (problems.length > 0) throw new Error(`bench: the migrated table is wrong:\n  ${problems.join("\n  ")}`);

    const [progress] = await migrator.query<{ rows: string }>(
      `SELECT rows_done::text AS rows FROM "${schemaName}"."_migrations" WHERE table_name = 'projects'`,
    );
    const [size] = await migrator.query<{ bytes: string }>(
      `SELECT pg_total_relation_size('"${schemaName}".projects')::text AS bytes`,
    );
    return {
      batchSize,
      steps,
      start,
      end,
      backfilled: Number(progress?.rows ?? 0),
      backfillCpu,
      bytesAfter: Number(size?.bytes ?? 0),
      load: load ? { ops: load.ops, errors: load.errors.length, loadStart } : null,
      appWaits: sampler.longest(APP),
      migratorWaits: sampler.longest(MIGRATOR),
      lockSamples: sampler.samples,
    };
  } finally {
    await load?.stop();
    await sampler.stop();
    rmSync(plansDir, { recursive: true, force: true });
    await migrator.exec(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`).catch(() => {});
    await app.close();
    await migrator.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
