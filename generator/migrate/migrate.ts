import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Driver } from "../../runtime/drivers/driver.js";
import { ConvoyError } from "../../runtime/errors.js";
import type { SchemaDefinition } from "../../runtime/schema/defineSchema.js";
import type { LayoutKind } from "../../runtime/schema/defineTable.js";
import { checkSchemaName, DEFAULT_SCHEMA_NAME } from "../../runtime/store/documentStore.js";
import { layoutsTable, readStoredLayouts } from "../../runtime/store/layout/tableLayouts.js";
import { quoteIdent } from "../../runtime/store/sqlText.js";
import { applyMigration, type ApplyOptions } from "./applyMigration.js";
import { acquireMigrateLock, migrateLockHolder } from "./migrateLock.js";
import {
  cancelStatements,
  planMigration,
  schemaHashOf,
  STEPS,
  type MigrationPlan,
  type StepName,
} from "./migrationPlan.js";
import { migrationsTable } from "./migrationState.js";
import { parsePlan, planHash, renderPlan } from "./planFile.js";

/** Options of {@link migrate} and {@link rollback}. */
export interface MigrateOptions {
  driver: Driver;
  /** The app's schema (synced first: `syncSchema` creates Convoy's tables). */
  schema: SchemaDefinition;
  /** @default "convoy" */
  schemaName?: string;
  /** The folder of plan files, `convoy/migrations/`. */
  plansDir: string;
  /** Write and show plans, apply nothing. */
  dryRun?: boolean;
  /** Move these tables to their declared layout even after a rollback. */
  tables?: readonly string[];
  /** Wait for another `convoy migrate` to finish (true) or refuse. @default true */
  wait?: boolean;
  batchSize?: number;
  lockTimeoutMs?: number;
  onProgress?: (message: string) => void;
  /** Called with each plan before it is applied (the CLI prints it). */
  onPlan?: (plan: MigrationPlan, file: string, text: string) => void;
  /** Awaited before each step of each plan (see {@link ApplyOptions.beforeStep}). */
  beforeStep?: (step: StepName, plan: MigrationPlan) => Promise<void> | void;
  now?: () => Date;
}

/** What {@link migrate} did. */
export interface MigrateReport {
  /** Plan files written (paths). */
  written: string[];
  /** Plans applied to the end. */
  applied: string[];
  /** Tables whose declared layout differs from the stored one, left as they are, and why. */
  held: { table: string; reason: string }[];
}

interface PlanFile {
  name: string;
  path: string;
  text: string;
  plan: MigrationPlan;
}

interface MigrationRecord {
  plan: string;
  table_name: string;
  from_layout: LayoutKind;
  to_layout: LayoutKind;
  status: "running" | "done" | "cancelled";
  step: string;
}

function readPlanFiles(dir: string): PlanFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => /^\d{4}_.+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const path = join(dir, file);
      const text = readFileSync(path, "utf8");
      const name = file.slice(0, -".sql".length);
      return { name, path, text, plan: parsePlan(text, path, name) };
    });
}

async function records(driver: Driver, schemaName: string): Promise<MigrationRecord[]> {
  return driver.query<MigrationRecord>(
    `SELECT plan, table_name, from_layout, to_layout, status, step FROM ${migrationsTable(schemaName)} ORDER BY started_at, plan`,
  );
}

async function rowsEstimate(driver: Driver, schemaName: string, table: string): Promise<number> {
  const qualified = `${quoteIdent(schemaName)}.${quoteIdent(table)}`;
  const [row] = await driver.query<{ estimate: number }>(
    `SELECT reltuples::float8 AS estimate FROM pg_class WHERE oid = to_regclass($1::text)`,
    [qualified],
  );
  if (row && row.estimate >= 0) return Math.round(row.estimate);
  const [count] = await driver.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${qualified}`);
  return count?.n ?? 0;
}

function applyOptions(options: MigrateOptions, file: PlanFile, lost: () => boolean): ApplyOptions {
  const { beforeStep } = options;
  return {
    driver: options.driver,
    plan: file.plan,
    hash: planHash(file.text),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(options.lockTimeoutMs ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(beforeStep ? { beforeStep: (step: StepName) => beforeStep(step, file.plan) } : {}),
    shouldStop: lost,
  };
}

/** Writes a new plan file for `table`, numbered after the existing ones. */
async function writePlan(
  options: MigrateOptions,
  schemaName: string,
  existing: PlanFile[],
  table: string,
  from: LayoutKind,
  to: LayoutKind,
): Promise<PlanFile> {
  const last = existing.map((file) => Number(file.name.slice(0, 4))).reduce((a, b) => Math.max(a, b), 0);
  const name = `${String(last + 1).padStart(4, "0")}_${table}_to_${to}`;
  const plan = planMigration({
    name,
    schemaName,
    table,
    definition: options.schema.tables[table]!,
    from,
    to,
    rowsEstimate: await rowsEstimate(options.driver, schemaName, table),
  });
  const text = renderPlan(plan, (options.now ?? (() => new Date()))());
  mkdirSync(options.plansDir, { recursive: true });
  const path = join(options.plansDir, `${name}.sql`);
  writeFileSync(path, text);
  const file = { name, path, text, plan };
  existing.push(file);
  return file;
}

/**
 * `convoy migrate`: moves every table to the layout its schema declares. For a table
 * stored otherwise it writes a plan file (unless one is waiting), then applies every
 * plan file the database has not finished, in name order, online and resumably. A table
 * a rollback returned to JSONB stays there unless named in `tables`.
 *
 * @example
 * ```ts
 * await migrate({ driver, schema, plansDir: "convoy/migrations", onProgress: console.log });
 * ```
 */
export async function migrate(options: MigrateOptions): Promise<MigrateReport> {
  const schemaName = checkSchemaName(options.schemaName ?? DEFAULT_SCHEMA_NAME);
  const { driver } = options;
  const report: MigrateReport = { written: [], applied: [], held: [] };
  const lock = options.dryRun
    ? null
    : await acquireMigrateLock(driver, schemaName, {
        wait: options.wait ?? true,
        onWait: (message) => options.onProgress?.(message),
      });
  try {
    const files = readPlanFiles(options.plansDir).filter((file) => file.plan.schema === schemaName);
    const recorded = await records(driver, schemaName);
    const finished = new Set(recorded.filter((row) => row.status !== "running").map((row) => row.plan));
    const stored = await readStoredLayouts(driver, schemaName);
    const waiting = files.filter((file) => !finished.has(file.name));

    for (const [table, definition] of Object.entries(options.schema.tables)) {
      const kind = stored.get(table) ?? "jsonb";
      if (kind === definition.layout) continue;
      if (waiting.some((file) => file.plan.table === table)) continue;
      const last = recorded.filter((row) => row.table_name === table && row.status === "done").at(-1);
      const rolledBack = last !== undefined && last.to_layout === kind && last.from_layout === definition.layout;
      if (rolledBack && !options.tables?.includes(table)) {
        report.held.push({
          table,
          reason: `rolled back to ${kind} by ${last.plan}; remove .relational() from its schema, or run \`convoy migrate --table ${table}\` to move it again`,
        });
        continue;
      }
      const file = await writePlan(options, schemaName, files, table, kind, definition.layout);
      waiting.push(file);
      report.written.push(file.path);
    }

    for (const file of waiting) {
      const definition = options.schema.tables[file.plan.table];
      const started = recorded.some((row) => row.plan === file.name && row.step !== "planned");
      // A plan that would start moving the table must have been made for its schema as it is
      // (one whose table is already in its target layout, a new database's, just gets recorded).
      const now = await readStoredLayouts(driver, schemaName);
      const wouldMove = (now.get(file.plan.table) ?? "jsonb") === file.plan.from;
      const stale = definition && file.plan.schemaHash !== schemaHashOf(file.plan.table, definition, file.plan.to);
      if (stale && wouldMove && !started) {
        throw new ConvoyError({
          code: "PRECONDITION_FAILED",
          message: `${file.path} was planned for another version of table "${file.plan.table}" (its schema changed since). Nothing of it was applied: delete the file and run convoy migrate again to plan it anew.`,
        });
      }
      options.onPlan?.(file.plan, file.path, file.text);
      if (options.dryRun) continue;
      const outcome = await applyMigration(applyOptions(options, file, () => lock?.lost ?? false));
      if (outcome === "applied") report.applied.push(file.name);
    }
    return report;
  } finally {
    await lock?.release();
  }
}

/** What {@link rollback} did. */
export type RollbackOutcome =
  | { kind: "cancelled"; plan: string }
  | { kind: "migrated"; plan: string; file: string }
  | { kind: "nothing"; message: string };

/**
 * `convoy migrate --rollback <table>`: returns a table to JSONB. A promotion that has
 * not contracted yet is cancelled: what its expand step added is dropped (and a switch
 * undone), instantly. A relational table is migrated back, with a plan file of its own.
 */
export async function rollback(options: MigrateOptions & { table: string }): Promise<RollbackOutcome> {
  const schemaName = checkSchemaName(options.schemaName ?? DEFAULT_SCHEMA_NAME);
  const { driver, table } = options;
  const definition = options.schema.tables[table];
  if (definition === undefined) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `--rollback ${table}: no table "${table}" in the schema. Tables: ${Object.keys(options.schema.tables).join(", ")}`,
    });
  }
  const lock = await acquireMigrateLock(driver, schemaName, {
    wait: options.wait ?? true,
    onWait: (message) => options.onProgress?.(message),
  });
  try {
    const running = (await records(driver, schemaName)).find(
      (row) => row.table_name === table && row.status === "running",
    );
    if (
      running &&
      running.to_layout === "relational" &&
      STEPS.indexOf(running.step as never) < STEPS.indexOf("contract")
    ) {
      const statements = cancelStatements(schemaName, table, definition, "relational");
      await driver.transaction(`SET LOCAL lock_timeout = '5s'`, async (tx) => {
        // Undo a switch: servers on the relational layout meet its dropped columns and re-read the layouts.
        await tx.query(`DELETE FROM ${layoutsTable(schemaName)} WHERE table_name = $1::text`, [table]);
        for (const statement of statements) await tx.query(statement);
        await tx.query(
          `UPDATE ${migrationsTable(schemaName)} SET status = 'cancelled', finished_at = now(), updated_at = now() WHERE plan = $1::text`,
          [running.plan],
        );
      });
      options.onProgress?.(
        `${table}: ${running.plan} cancelled at step "${running.step}"; the table is JSONB as before`,
      );
      return { kind: "cancelled", plan: running.plan };
    }
    if (running?.to_layout === "jsonb") {
      // A rollback interrupted earlier: resume it.
      const file = readPlanFiles(options.plansDir).find((plan) => plan.name === running.plan);
      if (file === undefined) {
        throw new ConvoyError({
          code: "PRECONDITION_FAILED",
          message: `${table} is being returned to JSONB by ${running.plan}, but ${join(options.plansDir, `${running.plan}.sql`)} is missing: restore it (e.g. from git) and run convoy migrate --rollback ${table} again.`,
        });
      }
      options.onPlan?.(file.plan, file.path, file.text);
      await applyMigration(applyOptions(options, file, () => lock.lost));
      return { kind: "migrated", plan: file.name, file: file.path };
    }
    if (running) {
      throw new ConvoyError({
        code: "CONFLICT",
        message: `${table} is being migrated by ${running.plan} and has reached its last step ("${running.step}"): run convoy migrate to finish it, then roll back.`,
      });
    }
    const kind = (await readStoredLayouts(driver, schemaName)).get(table) ?? "jsonb";
    if (kind === "jsonb") return { kind: "nothing", message: `${table} is already stored as JSONB` };
    const files = readPlanFiles(options.plansDir);
    const file = await writePlan(options, schemaName, files, table, "relational", "jsonb");
    options.onPlan?.(file.plan, file.path, file.text);
    await applyMigration(applyOptions(options, file, () => lock.lost));
    return { kind: "migrated", plan: file.name, file: file.path };
  } finally {
    await lock.release();
  }
}

/** One migration as `convoy migrate --status` shows it. */
export interface MigrationStatus {
  plan: string;
  table: string;
  from: LayoutKind;
  to: LayoutKind;
  status: "running" | "done" | "cancelled";
  step: string;
  rowsDone: number;
  rowsEstimate: number | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  lastError: string | null;
  /** For a running migration: whether a `convoy migrate` holds the lock now (else it was interrupted). */
  active: boolean;
}

/** Every migration the database has recorded, oldest first. */
export async function migrationStatus(driver: Driver, schemaName = DEFAULT_SCHEMA_NAME): Promise<MigrationStatus[]> {
  const holder = await migrateLockHolder(driver, schemaName);
  const rows = await driver.query<{
    plan: string;
    table_name: string;
    from_layout: LayoutKind;
    to_layout: LayoutKind;
    status: MigrationStatus["status"];
    step: string;
    rows_done: string;
    rows_estimate: string | null;
    started_at: Date;
    updated_at: Date;
    finished_at: Date | null;
    last_error: string | null;
  }>(`SELECT * FROM ${migrationsTable(schemaName)} ORDER BY started_at, plan`);
  return rows.map((row) => ({
    plan: row.plan,
    table: row.table_name,
    from: row.from_layout,
    to: row.to_layout,
    status: row.status,
    step: row.step,
    rowsDone: Number(row.rows_done),
    rowsEstimate: row.rows_estimate === null ? null : Number(row.rows_estimate),
    startedAt: new Date(row.started_at),
    updatedAt: new Date(row.updated_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
    lastError: row.last_error,
    active: row.status === "running" && holder !== null,
  }));
}
