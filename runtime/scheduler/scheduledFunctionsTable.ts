import { randomBytes } from "node:crypto";
import { changeTriggersSql } from "../live/changeLogDdl.js";
import { JsonbLayout } from "../store/layout/jsonbLayout.js";
import { quoteIdent } from "../store/sqlText.js";
import { SCHEDULED_FUNCTIONS_TABLE, type ScheduledFunctionState } from "../store/systemTables.js";

export { SCHEDULED_FUNCTIONS_TABLE };

/** The quoted, qualified name of the table. @internal */
export function scheduledFunctionsSql(schemaName: string): string {
  return `${quoteIdent(schemaName)}.${quoteIdent(SCHEDULED_FUNCTIONS_TABLE)}`;
}

/** The table where a scheduled mutation records its run, in its own transaction. */
export const SCHEDULED_FUNCTION_RUNS_TABLE = "_scheduled_function_runs";

/** The quoted, qualified name of the runs table. @internal */
export function scheduledFunctionRunsSql(schemaName: string): string {
  return `${quoteIdent(schemaName)}.${quoteIdent(SCHEDULED_FUNCTION_RUNS_TABLE)}`;
}

/** A new job id: `_scheduled_functions_` and 24 random hex digits. @internal */
export function newScheduledFunctionId(): string {
  return `${SCHEDULED_FUNCTIONS_TABLE}_${randomBytes(12).toString("hex")}`;
}

/** True when `value` looks like an id {@link newScheduledFunctionId} made. @internal */
export function isScheduledFunctionId(value: unknown): value is string {
  return typeof value === "string" && /^_scheduled_functions_[0-9a-f]{24}$/.test(value);
}

/**
 * The document of a row, built in JavaScript exactly as the table's generated `doc`
 * column builds it in SQL (the live engine compares the two).
 * @internal
 */
export function scheduledFunctionDoc(row: {
  name: string;
  args: unknown;
  scheduledTime: number;
  state: ScheduledFunctionState;
  completedTime?: number | null;
  error?: string | null;
  cron?: string | null;
  missedRuns?: number;
}): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    name: row.name,
    args: row.args,
    scheduledTime: row.scheduledTime,
    state: row.error == null ? { kind: row.state } : { kind: row.state, error: row.error },
  };
  if (row.completedTime != null) doc.completedTime = row.completedTime;
  if (row.cron != null) doc.cron = row.cron;
  if (row.missedRuns) doc.missedRuns = row.missedRuns;
  return doc;
}

/**
 * DDL of the jobs table: plain columns for SQL readers and the scheduler, a generated
 * `doc` column in the shape of a JSONB document table (so `ctx.db.system` reads it and
 * the change log's triggers feed the live engine), and partial indexes for the due
 * scan, the in-progress sweep and one outstanding run per cron job.
 * @internal
 */
export function scheduledFunctionsTableSql(schemaName: string): string[] {
  const schema = quoteIdent(schemaName);
  const table = scheduledFunctionsSql(schemaName);
  const docFunction = `${schema}."_scheduled_function_doc"`;
  return [
    // Declared IMMUTABLE (jsonb_build_object is STABLE only because of types it is not given here).
    `CREATE OR REPLACE FUNCTION ${docFunction}(name text, args jsonb, scheduled_time double precision, state text,
        completed_time double precision, error text, cron text, missed_runs integer)
      RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $doc$
      SELECT jsonb_build_object('name', name, 'args', args, 'scheduledTime', scheduled_time,
          'state', CASE WHEN error IS NULL THEN jsonb_build_object('kind', state)
                        ELSE jsonb_build_object('kind', state, 'error', error) END)
        || CASE WHEN completed_time IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('completedTime', completed_time) END
        || CASE WHEN cron IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('cron', cron) END
        || CASE WHEN missed_runs = 0 THEN '{}'::jsonb ELSE jsonb_build_object('missedRuns', missed_runs) END
    $doc$`,
    `CREATE TABLE IF NOT EXISTS ${table} (
      _id text PRIMARY KEY,
      _creation_time double precision NOT NULL,
      name text NOT NULL,
      args jsonb NOT NULL,
      kind text NOT NULL CHECK (kind IN ('mutation', 'action')),
      scheduled_time double precision NOT NULL,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'inProgress', 'success', 'failed', 'canceled')),
      started_time double precision,
      completed_time double precision,
      error text,
      claimed_by text,
      cron text,
      missed_runs integer NOT NULL DEFAULT 0,
      doc jsonb GENERATED ALWAYS AS (${docFunction}(name, args, scheduled_time, state, completed_time, error, cron, missed_runs)) STORED
    )`,
    `CREATE INDEX IF NOT EXISTS "_scheduled_functions_due" ON ${table} (scheduled_time) WHERE state = 'pending'`,
    `CREATE INDEX IF NOT EXISTS "_scheduled_functions_running" ON ${table} (claimed_by) WHERE state = 'inProgress'`,
    `CREATE UNIQUE INDEX IF NOT EXISTS "_scheduled_functions_one_cron_run" ON ${table} (cron)
      WHERE cron IS NOT NULL AND state IN ('pending', 'inProgress')`,
    changeTriggersSql(schemaName, new JsonbLayout(schemaName, SCHEDULED_FUNCTIONS_TABLE, table)),
    // A scheduled mutation inserts its job's id here in its own transaction: a second run
    // of the same job (its first server died before marking it) fails on the key and
    // rolls back. Rows are deleted a day later (by a sweep). Insert-only, so the
    // mutation takes no serializable read of the jobs table (no conflicts between jobs).
    `CREATE TABLE IF NOT EXISTS ${scheduledFunctionRunsSql(schemaName)} (
      job_id text PRIMARY KEY,
      completed_time double precision NOT NULL
    )`,
  ];
}
