import { sqlState, type SqlExecutor, type TransactionExecutor } from "../drivers/driver.js";
import { ConvoyError } from "../errors.js";
import { quoteIdent, quoteLiteral } from "./sqlText.js";

/**
 * A mutation call the client named, so that sending it again (after a lost response,
 * a proxy's 502, a restart) returns the first result instead of running it twice.
 * `fingerprint` identifies the call (function, arguments, caller): an id sent again
 * with another call is refused.
 */
export interface MutationCallId {
  id: string;
  fingerprint: string;
}

/** How long a mutation's result is kept for calls that send its id again. */
export const DEFAULT_MUTATION_RECORD_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Mutation ids the transports accept: URL-safe, 16 to 128 characters. */
export const MUTATION_ID_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/** The table holding recorded mutation results. @internal */
export function mutationRecordTable(schemaName: string): string {
  return `${quoteIdent(schemaName)}."_mutation_results"`;
}

const PRIMARY_KEY = "_mutation_results_pkey";

/** DDL of the table of recorded mutation results (one row per named mutation). @internal */
export function mutationRecordTableSql(schemaName: string): string {
  const table = mutationRecordTable(schemaName);
  // Only when missing: CREATE INDEX IF NOT EXISTS would lock the table against writes.
  return `DO $records$ BEGIN
    IF to_regclass(${quoteLiteral(table)}) IS NULL THEN
      CREATE TABLE ${table} (
        id text CONSTRAINT ${PRIMARY_KEY} PRIMARY KEY,
        fingerprint text NOT NULL,
        result text,
        recorded_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX "_mutation_results_recorded_at" ON ${table} (recorded_at);
    END IF;
  END $records$`;
}

/** A recorded result: the JSON text of the value the mutation returned (null for undefined), and its commit's position. */
interface RecordRow {
  fingerprint: string;
  result: string | null;
  position: string | null;
}

/**
 * Queues the record of a mutation's result in its transaction, so the record commits
 * exactly when the mutation's writes do. The value must be JSON; its JSON text is
 * kept (text, not jsonb, so any string survives).
 * @internal
 */
export function queueMutationRecord(
  tx: TransactionExecutor,
  schemaName: string,
  call: MutationCallId,
  value: unknown,
): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `The mutation's result cannot be sent as JSON (${(error as Error).message}), so nothing was applied: return plain JSON values`,
      cause: error,
    });
  }
  tx.queue(
    `INSERT INTO ${mutationRecordTable(schemaName)} (id, fingerprint, result) VALUES ($1::text, $2::text, $3::text)`,
    [call.id, call.fingerprint, text ?? null],
  );
}

/** True when `error` is the record insert meeting a record of the same id. @internal */
export function isRecordedAlready(error: unknown): boolean {
  return sqlState(error) === "23505" && (error as { constraint?: unknown }).constraint === PRIMARY_KEY;
}

/**
 * The record's commit position, the first run's transaction id as `pg_current_xact_id()`
 * gives it: the row's `xmin` is that id's low 32 bits, widened against the current
 * snapshot's (records are far younger than 2^31 transactions).
 */
const RECORD_POSITION = `(now_xid.full - ((now_xid.full - r.xmin::text::bigint) & 4294967295))::text`;
const NOW_XID = `(SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS full) now_xid`;

/** A named call's recorded answer: its value, and its first run's commit position (see docs/live.md). */
export interface RecordedResult {
  value: unknown;
  position: string | null;
}

/**
 * The result recorded for `call`, or null when none is. An id recorded for another call
 * is refused with a CONFLICT.
 * @internal
 */
export async function recordedResult(
  sql: SqlExecutor,
  schemaName: string,
  call: MutationCallId,
): Promise<RecordedResult | null> {
  let rows: RecordRow[];
  try {
    rows = await sql.query<RecordRow>(
      `SELECT r.fingerprint, r.result, ${RECORD_POSITION} AS position FROM ${mutationRecordTable(schemaName)} r, ${NOW_XID} WHERE r.id = $1::text`,
      [call.id],
    );
  } catch (error) {
    throw missingTable(error) ?? error;
  }
  const [row] = rows;
  if (row === undefined) return null;
  if (row.fingerprint !== call.fingerprint) {
    throw new ConvoyError({
      code: "CONFLICT",
      message: `Mutation id ${call.id} was already used for another call (another function, arguments or user): send a new id with each call`,
    });
  }
  return { value: row.result === null ? undefined : JSON.parse(row.result), position: row.position };
}

/** Deletes records older than `retentionMs`. @internal */
export async function pruneMutationRecords(sql: SqlExecutor, schemaName: string, retentionMs: number): Promise<void> {
  await sql.query(
    `DELETE FROM ${mutationRecordTable(schemaName)} WHERE recorded_at < now() - make_interval(secs => $1::float8)`,
    [retentionMs / 1000],
  );
}

/** A clear error for a database whose schema predates mutation records. @internal */
export function missingTable(error: unknown): ConvoyError | null {
  if (sqlState(error) !== "42P01" || !String((error as Error).message).includes("_mutation_results")) return null;
  return new ConvoyError({
    code: "PRECONDITION_FAILED",
    message:
      "This database has no table of mutation results yet: run `convoy generate` (or `convoy serve`, which syncs on start) to create it",
    cause: error,
  });
}
