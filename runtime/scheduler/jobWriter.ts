import type { SqlExecutor } from "../drivers/driver.js";
import { ConvoyError } from "../errors.js";
import type { AnyConvoyFunction } from "../functions/defineFunction.js";
import type { WriteListener } from "../store/documentChange.js";
import { storableValueProblem } from "../store/storableValue.js";
import type { TransactionContext } from "../store/transactionContext.js";
import type { Clock } from "./clock.js";
import type { Scheduler, ScheduledFunctionId } from "./scheduler.js";
import {
  isScheduledFunctionId,
  newScheduledFunctionId,
  SCHEDULED_FUNCTIONS_TABLE,
  scheduledFunctionDoc,
  scheduledFunctionsSql,
} from "./scheduledFunctionsTable.js";

/** Where a {@link JobWriter} writes: a mutation's transaction, or the database directly (actions). */
export interface JobWriterTarget {
  schemaName: string;
  clock: Clock;
  /** The function at a path, public or internal (NOT_FOUND otherwise). */
  resolve(path: string): AnyConvoyFunction;
  /** Runs a statement whose rows are needed. */
  query: SqlExecutor["query"];
  /** Runs a statement whose rows are not needed (queued with a mutation's next statement or its COMMIT). */
  queue(text: string, params: readonly unknown[]): Promise<void> | void;
  /** Told of each write, for the live engine (mutations). */
  onWrite?: WriteListener | undefined;
}

/**
 * `ctx.scheduler`: writes job rows into `convoy._scheduled_functions`, checking the
 * reference, the time and the arguments first.
 * @internal
 */
export class JobWriter implements Scheduler {
  /** Jobs scheduled through this writer. */
  scheduled = 0;

  constructor(private readonly target: JobWriterTarget) {}

  /** The writer of one mutation attempt: its writes commit or roll back with the mutation. */
  static inTransaction(tx: TransactionContext, target: Pick<JobWriterTarget, "clock" | "resolve">): JobWriter {
    return new JobWriter({
      ...target,
      schemaName: tx.layouts.schemaName,
      query: (text, params) => tx.sql.query(text, params),
      queue: (text, params) => tx.sql.queue(text, params),
      onWrite: tx.onWrite,
    });
  }

  runAfter(delayMs: number, ref: unknown, args?: unknown): Promise<ScheduledFunctionId> {
    if (typeof delayMs !== "number" || Number.isNaN(delayMs)) {
      return refuse(
        `ctx.scheduler.runAfter(delayMs, ...): delayMs must be a number of milliseconds, got ${typeof delayMs}`,
      );
    }
    return this.schedule("runAfter", this.target.clock.now() + Math.max(0, delayMs), ref, args);
  }

  runAt(timestamp: number | Date, ref: unknown, args?: unknown): Promise<ScheduledFunctionId> {
    const time = timestamp instanceof Date ? timestamp.getTime() : timestamp;
    if (typeof time !== "number" || !Number.isFinite(time)) {
      return refuse("ctx.scheduler.runAt(timestamp, ...): pass a valid Date or a number of ms since the epoch");
    }
    return this.schedule("runAt", time, ref, args);
  }

  async cancel(id: ScheduledFunctionId): Promise<void> {
    if (!isScheduledFunctionId(id)) {
      await refuse(
        `ctx.scheduler.cancel: ${JSON.stringify(String(id).slice(0, 80))} is not a scheduled function id (runAfter and runAt return one)`,
      );
    }
    const [row] = await this.target.query<{ _creation_time: number; doc: Record<string, unknown> }>(
      `UPDATE ${scheduledFunctionsSql(this.target.schemaName)} SET state = 'canceled', completed_time = $2::float8
        WHERE _id = $1::text AND state = 'pending' RETURNING _creation_time, doc`,
      [id, this.target.clock.now()],
    );
    if (row === undefined) return;
    const { completedTime: _completed, ...before } = row.doc;
    this.target.onWrite?.({
      table: SCHEDULED_FUNCTIONS_TABLE,
      id,
      before: { creationTime: row._creation_time, doc: { ...before, state: { kind: "pending" } } },
      after: { creationTime: row._creation_time, doc: row.doc },
    });
  }

  private async schedule(method: string, time: number, ref: unknown, args: unknown): Promise<ScheduledFunctionId> {
    const path = (ref as { path?: unknown } | null)?.path;
    if (typeof path !== "string") {
      return refuse(`ctx.scheduler.${method}: pass a function reference such as internal.emails.send`);
    }
    const fn = this.target.resolve(path);
    if (fn.kind === "query") {
      return refuse(`ctx.scheduler.${method}: ${path} is a query; schedule a mutation or an action`);
    }
    const jobArgs = args ?? {};
    if (typeof jobArgs !== "object" || jobArgs === null || Array.isArray(jobArgs)) {
      return refuse(`ctx.scheduler.${method}(${path}): pass the arguments as one object`);
    }
    const problem = storableValueProblem(jobArgs);
    if (problem !== null) return refuse(`ctx.scheduler.${method}(${path}): the arguments cannot be stored: ${problem}`);
    const id = newScheduledFunctionId();
    const creationTime = this.target.clock.now();
    await this.target.queue(
      `INSERT INTO ${scheduledFunctionsSql(this.target.schemaName)} (_id, _creation_time, name, args, kind, scheduled_time)
        VALUES ($1::text, $2::float8, $3::text, $4::jsonb, $5::text, $6::float8)`,
      [id, creationTime, path, JSON.stringify(jobArgs), fn.kind, time],
    );
    this.target.onWrite?.({
      table: SCHEDULED_FUNCTIONS_TABLE,
      id,
      before: null,
      after: {
        creationTime,
        doc: scheduledFunctionDoc({ name: path, args: jobArgs, scheduledTime: time, state: "pending" }),
      },
    });
    this.scheduled++;
    return id as ScheduledFunctionId;
  }
}

function refuse(message: string): Promise<never> {
  return Promise.reject(new ConvoyError({ code: "BAD_REQUEST", message }));
}
