import type { SqlExecutor } from "../drivers/driver.js";
import type { WriteListener } from "../store/documentChange.js";
import type { CronJob, Crons } from "./cronJobs.js";
import type { CronSchedule } from "./cronSchedule.js";
import { newScheduledFunctionId, SCHEDULED_FUNCTIONS_TABLE, scheduledFunctionDoc } from "./scheduledFunctionsTable.js";

/** How many missed runs are counted at most (more are reported as this many). */
const MAX_COUNTED = 10_000;

/**
 * The runs of `schedule` that fell between a run due at `due` and `now`, less a
 * `graceMs` for an ordinary late start: runs missed while no server was up.
 * @internal
 */
export function missedRuns(schedule: CronSchedule, due: number, now: number, graceMs: number): number {
  let count = 0;
  for (let time = schedule.next(due); time <= now - graceMs && count < MAX_COUNTED; time = schedule.next(time)) {
    count++;
  }
  return count;
}

/**
 * Keeps one outstanding row (`pending` or `inProgress`) per cron job of `convoy/crons.ts`
 * in `convoy._scheduled_functions`; a partial unique index makes that hold across
 * servers. A run schedules the next when it finishes, so a job never overlaps itself.
 * @internal
 */
export class CronReconciler {
  constructor(
    private readonly crons: Crons,
    private readonly log: (message: string) => void,
    /** The kind of a cron job's function (throws a clear error for a query or a missing one). */
    private readonly kindOf: (path: string) => "mutation" | "action",
  ) {}

  job(name: string): CronJob | undefined {
    return this.crons.jobs.get(name);
  }

  /**
   * At start: adds the row of each cron job that has none, updates the function,
   * arguments and (when the schedule changed) time of pending rows, and cancels the
   * rows of cron jobs no longer in the file.
   */
  async reconcile(sql: SqlExecutor, table: string, now: number): Promise<void> {
    for (const cron of this.crons.jobs.values()) {
      await this.insert(sql, undefined, table, cron, cron.schedule.next(now), now);
      const [pending] = await sql.query<{ _id: string; scheduled_time: number; name: string }>(
        `SELECT _id, scheduled_time, name FROM ${table} WHERE cron = $1::text AND state = 'pending'`,
        [cron.name],
      );
      if (pending === undefined) continue;
      // A time that is not a run of the schedule means the schedule changed.
      const time = pending.scheduled_time;
      const onSchedule = cron.schedule.next(time - 1) === time;
      await sql.query(
        `UPDATE ${table} SET name = $2::text, args = $3::jsonb, scheduled_time = $4::float8
          WHERE _id = $1::text AND state = 'pending'
            AND (name <> $2::text OR args <> $3::jsonb OR scheduled_time <> $4::float8)`,
        [pending._id, cron.path, JSON.stringify(cron.args), onSchedule ? time : cron.schedule.next(now)],
      );
    }
    const canceled = await sql.query<{ cron: string }>(
      `UPDATE ${table} SET state = 'canceled', completed_time = $2::float8
        WHERE cron IS NOT NULL AND state = 'pending' AND NOT (cron = ANY($1::text[])) RETURNING cron`,
      [[...this.crons.jobs.keys()], now],
    );
    for (const row of canceled)
      this.log(`Cron job "${row.cron}" is no longer in convoy/crons.ts: its next run is canceled`);
  }

  /** After a run: the next one, at the schedule's first time after `now`. */
  async scheduleNext(
    sql: SqlExecutor,
    onWrite: WriteListener | undefined,
    table: string,
    name: string,
    now: number,
  ): Promise<void> {
    const cron = this.crons.jobs.get(name);
    if (cron === undefined) return; // removed from crons.ts while it ran
    await this.insert(sql, onWrite, table, cron, cron.schedule.next(now), now);
  }

  private async insert(
    sql: SqlExecutor,
    onWrite: WriteListener | undefined,
    table: string,
    cron: CronJob,
    time: number,
    now: number,
  ): Promise<void> {
    const id = newScheduledFunctionId();
    const kind = this.kindOf(cron.path);
    const rows = await sql.query(
      `INSERT INTO ${table} (_id, _creation_time, name, args, kind, scheduled_time, cron)
        VALUES ($1::text, $2::float8, $3::text, $4::jsonb, $5::text, $6::float8, $7::text)
        ON CONFLICT (cron) WHERE cron IS NOT NULL AND state IN ('pending', 'inProgress') DO NOTHING
        RETURNING _id`,
      [id, now, cron.path, JSON.stringify(cron.args), kind, time, cron.name],
    );
    if (rows.length === 0) return;
    onWrite?.({
      table: SCHEDULED_FUNCTIONS_TABLE,
      id,
      before: null,
      after: {
        creationTime: now,
        doc: scheduledFunctionDoc({
          name: cron.path,
          args: cron.args,
          scheduledTime: time,
          state: "pending",
          cron: cron.name,
        }),
      },
    });
  }
}
