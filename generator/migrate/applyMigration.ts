import { setTimeout as sleep } from "node:timers/promises";
import { sqlState, type Driver, type SqlExecutor } from "../../runtime/drivers/driver.js";
import { ConvoyError } from "../../runtime/errors.js";
import { readStoredLayouts } from "../../runtime/store/layout/tableLayouts.js";
import { quoteLiteral } from "../../runtime/store/sqlText.js";
import { STEPS, type MigrationPlan, type PlanStep, type StepName } from "./migrationPlan.js";
import { migrationsTable } from "./migrationState.js";

/** Options of {@link applyMigration}. */
export interface ApplyOptions {
  driver: Driver;
  plan: MigrationPlan;
  /** The plan file's hash ({@link planHash}): a plan whose file changed while it ran is refused. */
  hash: string;
  /** Rows a backfill batch fills. @default 2000 */
  batchSize?: number;
  /** How long one DDL statement may wait for its lock before it gives up and tries again. @default 500 */
  lockTimeoutMs?: number;
  /** How long a step keeps retrying its lock before the migration stops (resumable). @default 120000 */
  lockPatienceMs?: number;
  onProgress?: (message: string) => void;
  /** Checked between statements: when it returns true the migration stops (a lost migration lock). */
  shouldStop?: () => boolean;
  /** Awaited before each step runs (progress displays; tests interleave writes or stop here). */
  beforeStep?: (step: StepName) => Promise<void> | void;
}

/** How an {@link applyMigration} ended. */
export type ApplyOutcome = "applied" | "already-applied" | "cancelled-earlier";

interface MigrationRow {
  status: "running" | "done" | "cancelled";
  step: StepName | "planned";
  plan_hash: string;
  backfill_cursor: string | null;
  rows_done: string | number;
}

/** SQLSTATEs of a statement that could not get its lock in time, or lost to a deadlock: worth another try. */
const LOCK_STATES = new Set(["55P03", "40P01", "40001"]);

/** The sync's advisory lock: a migration step and a sync never interleave their DDL. */
function syncLockSql(schemaName: string): string {
  return `SELECT pg_advisory_xact_lock(hashtext(${quoteLiteral(`convoy-sync:${schemaName}`)}))`;
}

/**
 * Applies a migration plan online, from the step its `_migrations` row says is done:
 * each transactional step records its completion in its own transaction, the backfill
 * after each batch, so a run killed at any point resumes where it stopped. DDL waits at
 * most `lockTimeoutMs` for a lock and is retried with backoff, so it never holds up the
 * app's queries for long. Hold the migration lock ({@link acquireMigrateLock}) while it runs.
 *
 * @example
 * ```ts
 * await applyMigration({ driver, plan, hash: planHash(text), onProgress: console.log });
 * ```
 */
export async function applyMigration(options: ApplyOptions): Promise<ApplyOutcome> {
  const { driver, plan } = options;
  const table = migrationsTable(plan.schema);
  const progress = options.onProgress ?? (() => {});
  await driver.query(
    `INSERT INTO ${table} (plan, table_name, from_layout, to_layout, plan_hash, rows_estimate)
     VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint) ON CONFLICT (plan) DO NOTHING`,
    [plan.name, plan.table, plan.from, plan.to, options.hash, plan.rowsEstimate],
  );
  const [row] = await driver.query<MigrationRow>(
    `SELECT status, step, plan_hash, backfill_cursor, rows_done FROM ${table} WHERE plan = $1::text`,
    [plan.name],
  );
  if (row!.status === "done") return "already-applied";
  if (row!.status === "cancelled") return "cancelled-earlier";
  if (row!.plan_hash !== options.hash) {
    throw new ConvoyError({
      code: "CONFLICT",
      message: `The plan file ${plan.name}.sql changed after \`convoy migrate\` started applying it (it is at step "${row!.step}"). Restore the file as it was (e.g. from git) and run convoy migrate again, or roll the migration back with \`convoy migrate --rollback ${plan.table}\`.`,
    });
  }
  if (row!.step === "planned") {
    const stored = (await readStoredLayouts(driver, plan.schema)).get(plan.table) ?? "jsonb";
    if (stored !== plan.from) {
      // Already in the target layout (e.g. the table was created that way): nothing to do.
      await finish(driver, plan, stored === plan.to ? "done" : "cancelled");
      if (stored === plan.to) return "already-applied";
      throw new ConvoyError({
        code: "PRECONDITION_FAILED",
        message: `Plan ${plan.name} moves "${plan.table}" from ${plan.from}, but the table is stored ${stored}; it was not applied.`,
      });
    }
  }
  const runner = new StepRunner(options, row!);
  const done = row!.step === "planned" ? -1 : STEPS.indexOf(row!.step);
  for (const step of plan.steps.slice(done + 1)) {
    await options.beforeStep?.(step.name);
    progress(`${plan.table}: ${step.name}...`);
    const started = performance.now();
    await runner.run(step);
    progress(`${plan.table}: ${step.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return "applied";
}

async function finish(sql: SqlExecutor, plan: MigrationPlan, status: "done" | "cancelled"): Promise<void> {
  await sql.query(
    `UPDATE ${migrationsTable(plan.schema)} SET status = $2::text, finished_at = now(), updated_at = now() WHERE plan = $1::text`,
    [plan.name, status],
  );
}

class StepRunner {
  private readonly table: string;
  private rowsDone: number;
  private cursor: string;

  constructor(
    private readonly options: ApplyOptions,
    row: MigrationRow,
  ) {
    this.table = migrationsTable(options.plan.schema);
    this.rowsDone = Number(row.rows_done);
    this.cursor = row.backfill_cursor ?? "";
  }

  private get plan(): MigrationPlan {
    return this.options.plan;
  }

  private checkStop(): void {
    if (this.options.shouldStop?.()) {
      throw new ConvoyError({
        code: "CONFLICT",
        message: `convoy migrate stopped: it lost its migration lock (its connection dropped). Run it again to resume ${this.plan.name}.`,
      });
    }
  }

  private recordStep(sql: SqlExecutor, step: StepName): Promise<unknown> {
    const done = step === "contract";
    return sql.query(
      `UPDATE ${this.table} SET step = $2::text, updated_at = now(), last_error = NULL${done ? ", status = 'done', finished_at = now()" : ""} WHERE plan = $1::text`,
      [this.plan.name, step],
    );
  }

  /** Runs `body` in a transaction whose statements wait at most the lock timeout, retrying lock failures. */
  private async locked<T>(what: string, extraSetup: string, body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const timeout = this.options.lockTimeoutMs ?? 500;
    const patience = this.options.lockPatienceMs ?? 120_000;
    const setup = `SET LOCAL lock_timeout = ${quoteLiteral(`${timeout}ms`)}; ${extraSetup}${syncLockSql(this.plan.schema)}`;
    const start = Date.now();
    for (let attempt = 1; ; attempt++) {
      this.checkStop();
      try {
        return await this.options.driver.transaction(setup, body);
      } catch (error) {
        const state = sqlState(error);
        if (state === undefined || !LOCK_STATES.has(state)) throw error;
        if (Date.now() - start > patience) {
          throw new ConvoyError({
            code: "CONFLICT",
            message: `${this.plan.table}: ${what} could not take its lock for ${Math.round(patience / 1000)} s: a long transaction holds the table. The migration stopped where it was; run convoy migrate again later to resume.`,
            cause: error,
          });
        }
        if (attempt === 1 || attempt % 10 === 0) {
          this.options.onProgress?.(`${this.plan.table}: ${what} is waiting for a lock (attempt ${attempt})`);
        }
        await sleep(Math.min(50 * 2 ** Math.min(attempt, 6), 2000) * (0.5 + Math.random() / 2));
      }
    }
  }

  async run(step: PlanStep): Promise<void> {
    try {
      await this.runStep(step);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.options.driver
        .query(`UPDATE ${this.table} SET last_error = $2::text, updated_at = now() WHERE plan = $1::text`, [
          this.plan.name,
          message.slice(0, 2000),
        ])
        .catch(() => {});
      throw error;
    }
  }

  private async runStep(step: PlanStep): Promise<void> {
    const { driver } = this.options;
    switch (step.name) {
      case "check":
        return this.check(step);
      case "backfill":
        return this.backfill(step);
      case "index":
        for (const statement of step.statements) {
          this.checkStop();
          await dropInvalidIndex(driver, statement);
          await driver.query(statement);
        }
        await this.recordStep(driver, step.name);
        return;
      case "validate":
        for (const statement of step.statements) await this.locked(step.name, "", (tx) => tx.query(statement));
        await this.recordStep(driver, step.name);
        return;
      default:
        await this.locked(step.name, "", async (tx) => {
          for (const statement of step.statements) await tx.query(statement);
          await this.recordStep(tx, step.name);
        });
    }
  }

  private async check(step: PlanStep): Promise<void> {
    const problems: { _id: string; problem: string }[] = [];
    for (const statement of step.statements) {
      problems.push(...(await this.options.driver.query<{ _id: string; problem: string }>(statement)));
    }
    if (problems.length > 0) {
      // Nothing was changed: forget the migration, so the table is served and synced as before.
      await this.options.driver.query(`DELETE FROM ${this.table} WHERE plan = $1::text`, [this.plan.name]);
      const shown = problems.slice(0, 20).map((row) => `  ${this.plan.table} ${row._id}: ${row.problem}`);
      if (problems.length > 20) shown.push("  ... and more");
      throw new ConvoyError({
        code: "PRECONDITION_FAILED",
        message:
          `${this.plan.table} was not migrated: these documents do not fit its ${this.plan.to} layout, and nothing was changed.\n${shown.join("\n")}\n` +
          "Fix them (with a mutation, or SQL), then run convoy migrate again.",
        data: { problems: problems.slice(0, 20) },
      });
    }
    await this.recordStep(this.options.driver, step.name);
  }

  private async backfill(step: PlanStep): Promise<void> {
    const batchSize = this.options.batchSize ?? 2000;
    const [statement] = step.statements;
    const started = performance.now();
    const startRows = this.rowsDone;
    let lastReport = started;
    const setup = `SET LOCAL convoy.mutation = 'backfill'; ${(await triggersSkippable(this.options.driver)) ? "SET LOCAL session_replication_role = replica; " : ""}`;
    for (;;) {
      const result = await this.locked(step.name, setup, async (tx) => {
        const [batch] = await tx.query<{ batched: number; last: string | null; filled: number }>(statement!, [
          this.cursor,
          batchSize,
        ]);
        const next = batch!.last ?? this.cursor;
        await tx.query(
          `UPDATE ${this.table} SET backfill_cursor = $2::text, rows_done = rows_done + $3::bigint, updated_at = now() WHERE plan = $1::text`,
          [this.plan.name, next, batch!.filled],
        );
        return { ...batch!, next };
      });
      this.cursor = result.next;
      this.rowsDone += result.filled;
      const now = performance.now();
      if (now - lastReport > 2000) {
        lastReport = now;
        const rate = ((this.rowsDone - startRows) / ((now - started) / 1000)).toFixed(0);
        this.options.onProgress?.(
          `${this.plan.table}: backfill ${this.rowsDone} / ~${this.plan.rowsEstimate} rows (${rate} rows/s)`,
        );
      }
      if (result.batched < batchSize) break;
    }
    await this.recordStep(this.options.driver, step.name);
  }
}

/**
 * True when this session may set `session_replication_role` (superusers): a backfill
 * batch then fires no triggers. Every trigger it would fire does nothing for it anyway
 * (the shape and change-log triggers return at once for a backfill) except the foreign
 * keys' checks, one lookup and row lock per filled row, which the validate step's
 * `VALIDATE CONSTRAINT` repeats for every row.
 */
async function triggersSkippable(driver: Driver): Promise<boolean> {
  const [row] = await driver.query<{ superuser: boolean }>(
    `SELECT current_setting('is_superuser') = 'on' AS superuser`,
  );
  return row?.superuser === true;
}

/**
 * A `CREATE INDEX CONCURRENTLY` interrupted earlier leaves an invalid index of its name:
 * drop it first. A killed `convoy migrate`'s backend may still be building it (Postgres
 * notices the lost client only when the statement ends): wait for that build, which
 * may leave the index valid, rather than drop it under the build's feet ("tuple
 * concurrently updated").
 */
async function dropInvalidIndex(driver: Driver, statement: string): Promise<void> {
  const match = /CREATE INDEX CONCURRENTLY IF NOT EXISTS ("(?:[^"]|"")+") ON ("(?:[^"]|"")+")\./.exec(statement);
  if (!match) return;
  const qualified = `${match[2]}.${match[1]}`;
  for (;;) {
    const [building] = await driver.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_progress_create_index WHERE index_relid = to_regclass($1::text)`,
      [qualified],
    );
    if (building === undefined) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const [index] = await driver.query<{ valid: boolean }>(
    `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1::text)`,
    [qualified],
  );
  if (index && !index.valid) await driver.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`);
}
