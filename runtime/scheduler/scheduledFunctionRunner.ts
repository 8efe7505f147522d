import { sqlState, type SqlExecutor } from "../drivers/driver.js";
import { ConvoyError } from "../errors.js";
import type { ConvoyRuntime } from "../server/convoyRuntime.js";
import type { TransactionContext } from "../store/transactionContext.js";
import type { Clock } from "./clock.js";
import { CronReconciler, missedRuns } from "./cronReconciler.js";
import type { Crons } from "./cronJobs.js";
import { RunnerIdentity } from "./runnerIdentity.js";
import { changeChannel } from "../live/changeLogDdl.js";
import {
  SCHEDULED_FUNCTIONS_TABLE,
  SCHEDULED_FUNCTION_RUNS_TABLE,
  scheduledFunctionRunsSql,
  scheduledFunctionsSql,
} from "./scheduledFunctionsTable.js";

/** Options of {@link ScheduledFunctionRunner}. */
export interface ScheduledFunctionRunnerOptions {
  runtime: ConvoyRuntime;
  /** The app's cron jobs (`convoy/crons.ts`). */
  crons?: Crons;
  /** Scheduled functions one server runs at once. @default 32 */
  concurrency?: number;
  /** How often an idle runner looks for due jobs that no notification announced. @default 1000 */
  pollIntervalMs?: number;
  /** How often jobs claimed by servers that died are taken back (Postgres). @default 30000 */
  sweepIntervalMs?: number;
  /** Receives unexpected errors (a lost connection, a failed claim). */
  onError?: (error: unknown) => void;
  /** Reports what operators should know: failed jobs, missed cron runs, jobs taken back. */
  log?: (message: string) => void;
}

/** What {@link ScheduledFunctionRunner.runDue} did. */
export interface RunReport {
  /** Jobs run (each once). */
  ran: number;
  succeeded: number;
  failed: number;
}

/** A job as its claim returns it. @internal */
export interface ClaimedJob {
  _id: string;
  _creation_time: number;
  name: string;
  args: Record<string, unknown>;
  kind: "mutation" | "action";
  scheduled_time: number;
  cron: string | null;
  doc: Record<string, unknown>;
}

type Outcome = "success" | "failed" | "lost";

/** True when a scheduled mutation failed because its run is recorded already (it committed before). */
function ranAlready(error: unknown): boolean {
  return sqlState(error) === "23505" && String((error as Error).message).includes(SCHEDULED_FUNCTION_RUNS_TABLE);
}

/** How long a scheduled mutation's run record is kept after it ran. */
const RUN_RECORD_RETENTION_MS = 24 * 60 * 60 * 1000;
/** How old a runner's own claim must be before its sweep may take it back (it may be about to run). */
const OWN_CLAIM_GRACE_MS = 60_000;

/**
 * A CTE that makes the statement's change-log triggers log quietly (`convoy.mutation =
 * 'on'`, see changeTriggerFunctionSql): joined first, it is set before they fire.
 */
// Read in the statement's one-row result too, so it is evaluated even when no row matches.
const QUIET_CTE = `quiet AS MATERIALIZED (SELECT set_config('convoy.mutation', 'on', true) AS mode)`;

const ACTION_LOST =
  "The server running this action stopped before it finished; Convoy does not run actions twice (at most once)";

/** The NOTIFY channel on which servers announce newly scheduled jobs. @internal */
export function jobsChannel(schemaName: string): string {
  return `convoy_jobs_${schemaName}`;
}

/**
 * Runs scheduled functions and cron jobs from `convoy._scheduled_functions`.
 *
 * A job is claimed with `FOR UPDATE SKIP LOCKED` (state `pending` → `inProgress`, with
 * this runner's token), so each runs on one server. A scheduled mutation records its
 * `success` in its own transaction: exactly once. An action's outcome is recorded
 * after it returns; if its server dies first, a sweep marks it `failed` (never run
 * twice). A mutation whose server died goes back to `pending` (it did not commit).
 *
 * Started by a server it waits for work: a commit in this process wakes it at once,
 * peers' commits by NOTIFY, future jobs by a timer, anything else (psql) by a poll.
 * Tests drive it by hand with {@link runDue} and a `ManualClock` on the runtime.
 *
 * @example
 * ```ts
 * const runner = new ScheduledFunctionRunner({ runtime, crons });
 * await runner.start(); // ...
 * await runner.stop();
 * ```
 */
export class ScheduledFunctionRunner {
  private readonly runtime: ConvoyRuntime;
  private readonly identity: RunnerIdentity;
  private readonly crons: CronReconciler | null;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly sweepIntervalMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly log: (message: string) => void;
  private readonly running = new Map<string, Promise<void>>();
  private started = false;
  private stopped = false;
  private pumping = false;
  private again = false;
  private backlog = false;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  private stopWaking: (() => void) | undefined;
  private notifyQueued = false;
  /** Claim statements run (the benchmark counts an idle server's). */
  claims = 0;

  constructor(options: ScheduledFunctionRunnerOptions) {
    this.runtime = options.runtime;
    this.onError = options.onError ?? (() => {});
    this.log = options.log ?? (() => {});
    this.identity = new RunnerIdentity(this.runtime.driver, this.onError);
    this.concurrency = Math.max(1, options.concurrency ?? 32);
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    this.crons = options.crons ? new CronReconciler(options.crons, this.log, (path) => this.kindOf(path)) : null;
  }

  private kindOf(path: string): "mutation" | "action" {
    const fn = this.runtime.resolve(path, { allowInternal: true });
    if (fn.kind === "query") {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `convoy/crons.ts: ${path} is a query; a cron job runs a mutation or an action`,
      });
    }
    return fn.kind;
  }

  private get table(): string {
    return scheduledFunctionsSql(this.runtime.store.schemaName);
  }

  private get runsTable(): string {
    return scheduledFunctionRunsSql(this.runtime.store.schemaName);
  }

  private get clock(): Clock {
    return this.runtime.clock;
  }

  /** Writes the cron jobs' rows and takes back the jobs of runners that are gone. */
  async prepare(): Promise<void> {
    await this.sweep();
    await this.crons?.reconcile(this.runtime.driver, this.table, this.clock.now());
  }

  /** Starts running jobs as they come due, until {@link stop}. */
  async start(): Promise<void> {
    if (this.started) throw new Error("This ScheduledFunctionRunner was started already");
    this.started = true;
    try {
      await this.prepare();
    } catch (error) {
      if (sqlState(error) !== "42P01") throw error;
      // A database synced by an older Convoy: serve, but say what to do.
      this.stopped = true;
      this.log(
        `${this.table} does not exist: run \`convoy generate\` (or syncSchema) to create it; scheduled functions and cron jobs will not run until then`,
      );
      return;
    }
    const channel = jobsChannel(this.runtime.store.schemaName);
    const mine = await this.identity.token();
    const listen = async (): Promise<void> => {
      this.stopListening = await this.runtime.driver.listen(
        channel,
        (payload) => {
          if (payload !== mine) this.wake();
        },
        (error) => {
          this.onError(error);
          // The poll covers the gap; listen again a second later.
          if (!this.stopped) setTimeout(() => void listen().catch(this.onError), 1000).unref();
        },
      );
    };
    await listen();
    this.stopWaking = this.runtime.onScheduled(() => {
      this.wake();
      this.announce(channel, mine);
    });
    if (this.identity.shared) {
      this.sweeper = setInterval(
        () => void this.sweep().catch((error: unknown) => this.onError(error)),
        this.sweepIntervalMs,
      );
      this.sweeper.unref();
    }
    this.wake();
  }

  /**
   * Stops claiming, then waits up to `timeoutMs` for the jobs running here. A job
   * still running then is left `inProgress` and taken back by a sweep later.
   */
  async stop({ timeoutMs = 10_000 } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.sweeper);
    this.stopWaking?.();
    await this.stopListening?.().catch(() => {});
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise((resolve) => (timeout = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timeout);
    await this.identity.close();
  }

  /**
   * Runs every job due at `now` (by default the runtime's clock), one after another in
   * order of their time, including jobs they schedule that are due by `now` too.
   * For tests: pair it with a `ManualClock` and do not {@link start} the runner.
   */
  async runDue(now = this.clock.now(), { maxJobs = 10_000 } = {}): Promise<RunReport> {
    const report: RunReport = { ran: 0, succeeded: 0, failed: 0 };
    if (this.crons && !this.started) await this.crons.reconcile(this.runtime.driver, this.table, this.clock.now());
    for (;;) {
      const { jobs } = await this.claim(now, 1);
      const job = jobs[0];
      if (job === undefined) return report;
      if (report.ran >= maxJobs) {
        throw new ConvoyError({
          code: "INTERNAL_SERVER_ERROR",
          message: `runDue ran ${maxJobs} jobs and more are due: does a function schedule itself with runAfter(0)?`,
        });
      }
      const outcome = await this.execute(job, now);
      report.ran++;
      if (outcome === "success") report.succeeded++;
      else if (outcome === "failed") report.failed++;
    }
  }

  /**
   * When the next pending job is due (ms since the epoch), or null when none is pending;
   * `withoutCrons` leaves out cron runs (which are always pending).
   */
  async nextDueTime({ withoutCrons = false } = {}): Promise<number | null> {
    const [row] = await this.runtime.driver.query<{ next: number | null }>(
      `SELECT min(scheduled_time) AS next FROM ${this.table} WHERE state = 'pending'${withoutCrons ? " AND cron IS NULL" : ""}`,
    );
    return row?.next ?? null;
  }

  /** Looks for due jobs now (a commit in this process, a NOTIFY, a timer). */
  wake(): void {
    if (this.stopped || !this.started) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  /** Tells other servers (one NOTIFY per burst) that jobs were scheduled. */
  private announce(channel: string, mine: string): void {
    if (!this.identity.shared || this.notifyQueued) return;
    this.notifyQueued = true;
    setImmediate(() => {
      this.notifyQueued = false;
      this.runtime.driver
        .query(`SELECT pg_notify($1::text, $2::text)`, [channel, mine])
        .catch((error: unknown) => this.onError(error));
    });
  }

  private changesQueued = false;

  /**
   * Tells live engines (one NOTIFY per burst) that claims and completions were logged:
   * those statements log quietly, since a NOTIFY in each would serialise their commits.
   */
  private notifyChanges(): void {
    const notify = () =>
      this.runtime.driver
        .query(`SELECT pg_notify($1::text, '')`, [changeChannel(this.runtime.store.schemaName)])
        .catch((error: unknown) => this.onError(error));
    // Driven by runDue (maybe under fake timers): at once.
    if (!this.started) return void notify();
    if (this.changesQueued) return;
    this.changesQueued = true;
    setImmediate(() => {
      this.changesQueued = false;
      void notify();
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        const free = this.concurrency - this.running.size;
        // With a backlog, claim in batches (a quarter of the slots at least), not one job per finished one.
        if (free <= 0 || (this.backlog && free < this.concurrency / 4)) {
          this.backlog = true;
          break;
        }
        const now = this.clock.now();
        const { jobs, next } = await this.claim(now, Math.min(free, 100));
        this.backlog = jobs.length === Math.min(free, 100);
        for (const job of jobs) this.launch(job);
        if (this.backlog) this.again = true;
        this.arm(next);
      } while (this.again && !this.stopped);
    } catch (error) {
      this.onError(error);
      this.arm(null);
    } finally {
      this.pumping = false;
    }
  }

  private launch(job: ClaimedJob): void {
    const run = this.execute(job, this.clock.now())
      .then(() => {}, this.onError)
      .finally(() => {
        this.running.delete(job._id);
        // Claims the next batch while three quarters still run, so the claim overlaps them.
        if (this.backlog && this.running.size <= (this.concurrency * 3) / 4) this.wake();
      });
    this.running.set(job._id, run);
  }

  /** Wakes at the next job's time, or at the poll interval, whichever is first. */
  private arm(next: number | null): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const wait = next === null ? this.pollIntervalMs : Math.min(this.pollIntervalMs, Math.max(0, next - Date.now()));
    this.timer = setTimeout(() => this.wake(), wait);
    this.timer.unref();
  }

  /** Claims up to `limit` jobs due at `now`; also says when the next later one is due. */
  private async claim(now: number, limit: number): Promise<{ jobs: ClaimedJob[]; next: number | null }> {
    const mine = await this.identity.token();
    this.claims++;
    const [row] = await this.runtime.driver.query<{ jobs: ClaimedJob[]; next: number | null }>(
      `WITH ${QUIET_CTE}, due AS (
         SELECT _id FROM ${this.table}, quiet WHERE state = 'pending' AND scheduled_time <= $1::float8
          ORDER BY scheduled_time LIMIT $2::int FOR UPDATE OF ${SCHEDULED_FUNCTIONS_TABLE} SKIP LOCKED
       ), claimed AS (
         UPDATE ${this.table} t SET state = 'inProgress', started_time = $1::float8, claimed_by = $3::text
           FROM due WHERE t._id = due._id
         RETURNING t._id, t._creation_time, t.name, t.args, t.kind, t.scheduled_time, t.cron, t.doc
       )
       SELECT (SELECT mode FROM quiet) AS quiet,
              (SELECT coalesce(json_agg(claimed), '[]'::json) FROM claimed) AS jobs,
              (SELECT min(scheduled_time) FROM ${this.table} WHERE state = 'pending' AND scheduled_time > $1::float8) AS next`,
      [now, limit, mine],
    );
    const jobs = (row?.jobs ?? []).sort((a, b) => a.scheduled_time - b.scheduled_time);
    if (jobs.length > 0) this.notifyChanges();
    return { jobs, next: row?.next ?? null };
  }

  /** Runs one claimed job and records its outcome. */
  private async execute(job: ClaimedJob, now: number): Promise<Outcome> {
    const mine = await this.identity.token();
    const cron = job.cron === null ? undefined : this.crons?.job(job.cron);
    const missed = cron ? missedRuns(cron.schedule, job.scheduled_time, now, this.pollIntervalMs * 2) : 0;
    if (missed > 0) {
      this.log(
        `Cron job "${job.cron}" missed ${missed} run(s) while no server was running (due ${new Date(job.scheduled_time).toISOString()}); running it once now`,
      );
    }
    const finish = async (sql: SqlExecutor, outcome: Outcome, error?: string) => {
      const done = await this.complete(sql, job, mine, outcome, error, missed);
      if (done && job.cron !== null) await this.crons?.scheduleNext(sql, undefined, this.table, job.cron, now);
      return done;
    };
    const record = (outcome: Outcome, error?: string) =>
      this.runtime.driver.transaction("", (tx) => finish(tx, outcome, error));
    if (job.kind === "mutation") {
      try {
        // The run's record commits with the mutation's writes, or neither does: exactly once.
        await this.runtime.runMutationWith(job.name, job.args, async (tx: TransactionContext) => {
          tx.sql.queue(`INSERT INTO ${this.runsTable} (job_id, completed_time) VALUES ($1::text, $2::float8)`, [
            job._id,
            this.clock.now(),
          ]);
        });
      } catch (error) {
        // It ran and committed already (on a server that died before marking it): mark it now.
        if (!ranAlready(error)) return this.recordFailure(job, error, record);
      }
      return (await this.recordSuccess(job, missed, record)) ? "success" : "lost";
    }
    try {
      await this.runtime.call(job.name, job.args, { kind: "action", auth: null, allowInternal: true });
    } catch (error) {
      return this.recordFailure(job, error, record);
    }
    return (await this.recordSuccess(job, missed, record)) ? "success" : "lost";
  }

  private successes: { job: ClaimedJob; done: (recorded: boolean) => void; failed: (error: unknown) => void }[] = [];

  /**
   * Marks a job `success`: a plain one with others finishing at the same moment, in one
   * statement (how the runner keeps up with a thousand jobs a second); a cron run, which
   * also schedules its next run and may report missed runs, on its own.
   */
  private recordSuccess(
    job: ClaimedJob,
    missed: number,
    record: (outcome: Outcome) => Promise<boolean>,
  ): Promise<boolean> {
    // Batching waits for setImmediate: a runner driven by runDue (tests, maybe with fake timers) records at once.
    if (job.cron !== null || missed > 0 || !this.started) return record("success");
    return new Promise((done, failed) => {
      if (this.successes.push({ job, done, failed }) === 1) setImmediate(() => void this.flushSuccesses());
    });
  }

  private async flushSuccesses(): Promise<void> {
    const batch = this.successes.splice(0);
    try {
      const mine = await this.identity.token();
      const [row] = await this.runtime.driver.query<{ ids: string[] | null }>(
        `WITH ${QUIET_CTE}, done AS (
           UPDATE ${this.table} SET state = 'success', completed_time = $2::float8
             FROM quiet WHERE _id = ANY($1::text[]) AND state = 'inProgress' AND claimed_by = $3::text RETURNING _id
         )
         SELECT (SELECT mode FROM quiet) AS quiet, (SELECT json_agg(_id) FROM done) AS ids`,
        [batch.map((entry) => entry.job._id), this.clock.now(), mine],
      );
      const rows = (row?.ids ?? []).map((_id) => ({ _id }));
      const recorded = new Set(rows.map((done) => done._id));
      if (rows.length > 0) this.notifyChanges();
      for (const entry of batch) entry.done(recorded.has(entry.job._id));
    } catch (error) {
      for (const entry of batch) entry.failed(error);
    }
  }

  private async recordFailure(
    job: ClaimedJob,
    error: unknown,
    record: (outcome: Outcome, error?: string) => Promise<boolean>,
  ): Promise<Outcome> {
    const message = error instanceof Error ? error.message : String(error);
    this.log(`Scheduled ${job.kind} ${job.name} (${job._id}) failed: ${message}`);
    return (await record("failed", message)) ? "failed" : "lost";
  }

  /** Records a claimed job's outcome, if the claim is still this runner's; false if not. */
  private async complete(
    sql: SqlExecutor,
    job: ClaimedJob,
    mine: string,
    outcome: Outcome,
    error: string | undefined,
    missed: number,
  ): Promise<boolean> {
    const [row] = await sql.query<{ doc: Record<string, unknown> }>(
      `UPDATE ${this.table} SET state = $3::text, completed_time = $4::float8, error = $5::text, missed_runs = $6::int
        WHERE _id = $1::text AND state = 'inProgress' AND claimed_by = $2::text RETURNING doc`,
      [job._id, mine, outcome, this.clock.now(), error ?? null, missed],
    );
    if (row === undefined) return false;
    return true;
  }

  /**
   * Takes back jobs claimed by runners that are gone (and this runner's own claims it
   * is not running): a mutation goes back to `pending` (it did not commit, or its
   * state would say `success`), an action becomes `failed` (it may have run).
   */
  private async sweep(): Promise<void> {
    const mine = await this.identity.token();
    const rows = await this.runtime.driver.query<{ _id: string; kind: string; name: string; cron: string | null }>(
      `UPDATE ${this.table} SET
          state = CASE WHEN kind = 'mutation' THEN 'pending' ELSE 'failed' END,
          error = CASE WHEN kind = 'mutation' THEN NULL ELSE $2::text END,
          completed_time = CASE WHEN kind = 'mutation' THEN NULL ELSE $3::float8 END,
          claimed_by = NULL
        WHERE state = 'inProgress' AND (${this.identity.deadClaimSql("$1::text")}
          OR (claimed_by = $1::text AND started_time < $5::float8 AND NOT (_id = ANY($4::text[]))))
        RETURNING _id, kind, name, cron`,
      // Its own claims only once they are a minute old: a claim may be on its way to running.
      [mine, ACTION_LOST, this.clock.now(), [...this.running.keys()], this.clock.now() - OWN_CLAIM_GRACE_MS],
    );
    for (const row of rows) {
      this.log(
        row.kind === "mutation"
          ? `Scheduled mutation ${row.name} (${row._id}) was claimed by a server that stopped; it runs again (it had not committed)`
          : `Scheduled action ${row.name} (${row._id}) was running on a server that stopped; marked failed (actions run at most once)`,
      );
    }
    // Run records outlive their job's `success` by a day: a stale run of a job taken back
    // (its server seemed dead, yet committed later) still meets its record and rolls back.
    await this.runtime.driver.query(`DELETE FROM ${this.runsTable} WHERE completed_time < $1::float8`, [
      this.clock.now() - RUN_RECORD_RETENTION_MS,
    ]);
    if (rows.some((row) => row.cron !== null)) {
      await this.crons?.reconcile(this.runtime.driver, this.table, this.clock.now());
    }
  }
}
