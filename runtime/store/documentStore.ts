import { setTimeout as sleep } from "node:timers/promises";
import { sqlState, type Driver } from "../drivers/driver.js";
import type { SnapshotScope } from "../drivers/snapshotScope.js";
import { ConvoyError, isConvoyError } from "../errors.js";
import type { GenericDataModel } from "../schema/dataModel.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import { Database, type DatabaseReader, type DatabaseWriter } from "./database.js";
import type { Change, WriteListener } from "./documentChange.js";
import { GuardedExecutor } from "./guardedExecutor.js";
import type { ReadListener } from "./readSet.js";
import { refusedValue } from "./refusedValue.js";
import { TableLayouts } from "./layout/tableLayouts.js";
import {
  DEFAULT_MUTATION_RECORD_RETENTION_MS,
  isRecordedAlready,
  missingTable,
  pruneMutationRecords,
  queueMutationRecord,
  recordedResult,
  type RecordedResult,
  type MutationCallId,
} from "./mutationRecords.js";
import { quoteIdent, quoteLiteral } from "./sqlText.js";
import type { TransactionContext } from "./transactionContext.js";

/** Options of {@link createDocumentStore}. */
export interface DocumentStoreOptions<TSchema extends SchemaDefinition> {
  schema: TSchema;
  driver: Driver;
  /**
   * The Postgres schema that holds Convoy's tables.
   * @default "convoy"
   */
  schemaName?: string;
  /**
   * How many times a mutation runs at most when concurrent writes conflict with it.
   * @default 10
   */
  maxAttempts?: number;
  /**
   * Who follows this store's mutations (see {@link MutationObserver}): the live-query
   * engine, or whatever announces commits to servers. Without one, mutations are logged
   * quietly and nobody is told (servers find them at their safety poll).
   */
  observer?: () => MutationObserver | null;
  /**
   * How long the result of a mutation sent with an id is kept, so that sending it
   * again returns that result instead of running it twice.
   * @default 24 hours
   */
  mutationRecordRetentionMs?: number;
}

/**
 * How the live-query engine follows this store's mutations: it says how the change-log
 * trigger should treat each one, and receives every committed mutation's writes, so it
 * can update watches without reading them back from the log.
 * @internal
 */
export interface MutationObserver {
  /** The `convoy.mutation` setting for the next attempt (see `changeTriggerFunctionSql`). */
  changeLogMode(): string;
  /**
   * An attempt's writes, after it committed (or when whether it did is unknown), with
   * its position: the transaction id (`pg_current_xact_id()` as text), null when unknown.
   */
  committed(changes: Change[], mode: string, position: string | null): void;
}

/** Options of one transaction. */
export interface TransactionOptions {
  /** Called with every read the function makes (the live-query engine's read set). */
  onRead?: ReadListener;
  /** Reads at this scope's snapshot (queries only; see `inOneSnapshot`). */
  scope?: Pick<SnapshotScope, "transaction">;
}

/** Options of one mutation. */
export interface MutationOptions extends TransactionOptions {
  /**
   * Names the call: if a mutation with this id already committed, its recorded result
   * is returned and nothing runs; otherwise the result is recorded with the writes.
   */
  call?: MutationCallId;
  /**
   * Told the mutation's position once it committed: its transaction id as text (null
   * when it wrote nothing). When a named call returns its recorded result, told the
   * first run's.
   */
  onCommit?: (position: string | null) => void;
}

/** Without an observer: log quietly (see changeTriggerFunctionSql), tell nobody. */
const UNOBSERVED: MutationObserver = { changeLogMode: () => "on", committed: () => {} };

/** SQLSTATEs after which a transaction is safe and useful to run again. */
const RETRYABLE = new Set(["40001", "40P01"]);
function isRetryable(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && RETRYABLE.has(state);
}

/** SQLSTATEs of a statement that met a table shape another layout replaced: undefined column or table. */
const SHAPE_GONE = new Set(["42703", "42P01"]);
function isShapeGone(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && SHAPE_GONE.has(state);
}

/** How often expired mutation records are deleted. */
const RECORD_PRUNE_INTERVAL_MS = 60_000;

/** Optimistic attempts before a mutation runs alone under an exclusive lock. */
const OPTIMISTIC_ATTEMPTS = 3;

/** The default Postgres schema of Convoy's tables. */
export const DEFAULT_SCHEMA_NAME = "convoy";
const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/;

/** Checks a Postgres schema name given in options. @internal */
export function checkSchemaName(schemaName: string): string {
  if (!SCHEMA_NAME_PATTERN.test(schemaName)) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `schemaName ${JSON.stringify(schemaName)}: use lower-case letters, digits and "_" (at most 48)`,
    });
  }
  return schemaName;
}

/** The table whose lock orders optimistic and exclusive mutations. @internal */
export function mutationLockTable(schemaName: string): string {
  return `${quoteIdent(schemaName)}."_mutation_lock"`;
}

/**
 * Runs functions against the document tables: queries on one consistent snapshot,
 * mutations as serializable transactions retried on conflict.
 *
 * Mutations first run optimistically under a shared lock; one that conflicted
 * {@link OPTIMISTIC_ATTEMPTS} times runs under an exclusive lock taken before its
 * snapshot, so it cannot conflict with another Convoy mutation and is sure to finish.
 */
export class DocumentStore<TDataModel extends GenericDataModel> {
  readonly schema: SchemaDefinition;
  readonly driver: Driver;
  readonly schemaName: string;
  private readonly maxAttempts: number;
  private readonly observer: () => MutationObserver | null;
  /** How each table is stored; read before the first transaction. */
  readonly layouts: TableLayouts;
  private readonly recordRetentionMs: number;
  private lastRecordPrune = 0;
  /** Mutations between sending COMMIT and telling the observer (see {@link commitBarrier}). */
  private readonly committing = new Set<Promise<void>>();

  constructor(options: DocumentStoreOptions<SchemaDefinition>) {
    this.observer = options.observer ?? (() => null);
    this.schema = options.schema;
    this.driver = options.driver;
    this.schemaName = checkSchemaName(options.schemaName ?? DEFAULT_SCHEMA_NAME);
    this.layouts = new TableLayouts(this.schema, this.schemaName);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 10);
    this.recordRetentionMs = options.mutationRecordRetentionMs ?? DEFAULT_MUTATION_RECORD_RETENTION_MS;
  }

  /**
   * Resolves once every mutation that had begun to commit when it was called has
   * finished: committed and told its observer, or failed. A snapshot taken before the
   * call sees no commit whose writes the observer has not been told of after it.
   */
  commitBarrier(): Promise<void> {
    return Promise.all([...this.committing]).then(() => {});
  }

  /**
   * Reads how each table is stored, if not read yet. Call it before opening a snapshot
   * scope on a driver that runs one transaction at a time: inside one, the store could
   * not read it.
   */
  async prepare(): Promise<void> {
    if (!this.layouts.loaded) await this.layouts.load(this.driver);
  }

  /**
   * Runs `fn` with a read-only `db` on one snapshot.
   * @example
   * ```ts
   * const projects = await store.query((db) => db.query("projects").collect());
   * ```
   */
  async query<T>(fn: (db: DatabaseReader<TDataModel>) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    for (;;) {
      const version = this.layouts.version;
      try {
        return await this.attempt("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", fn, options);
      } catch (error) {
        // In a snapshot scope the layouts cannot be read again (it may hold the only
        // connection), and the scope's snapshot would not see the new shape anyway.
        if (options.scope !== undefined || !(await this.layoutChanged(error, version))) throw error;
      }
    }
  }

  /**
   * True when `error` says a table's shape is gone (a migration's contract step dropped
   * it) and the layouts changed since the transaction began (read again now, or by a
   * concurrent one): the transaction, which did not commit, runs again on the new layout.
   */
  private async layoutChanged(error: unknown, version: number): Promise<boolean> {
    if (!isShapeGone(error)) return false;
    const now = await this.layouts.reload(this.driver).catch(() => this.layouts.version);
    return now !== version;
  }

  /**
   * Runs `fn` with a read-write `db` in one serializable transaction: all of its
   * writes commit or none do. `fn` may run again when a concurrent write conflicts,
   * so it must not have side effects outside the database. Its second argument is the
   * transaction itself, for system writes that must commit with the documents (jobs).
   * @example
   * ```ts
   * const id = await store.mutation((db) => db.insert("users", { name: "Ada", createdAt: Date.now() }));
   * ```
   */
  async mutation<T>(
    fn: (db: DatabaseWriter<TDataModel>, tx: TransactionContext) => Promise<T>,
    options: MutationOptions = {},
  ): Promise<T> {
    const lockTable = mutationLockTable(this.schemaName);
    const { call } = options;
    for (let attempt = 1; ; attempt++) {
      // A retry may be a call whose first run committed meanwhile (or met its record).
      if (call && attempt > 1) {
        const recorded = await recordedResult(this.driver, this.schemaName, call);
        if (recorded) return answerRecorded(recorded, options);
      }
      const lockMode = attempt > OPTIMISTIC_ATTEMPTS ? "EXCLUSIVE" : "ROW SHARE";
      const layoutVersion = this.layouts.version;
      const observer = this.observer() ?? UNOBSERVED;
      const mode = observer.changeLogMode();
      const setup = `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SET LOCAL convoy.mutation = ${quoteLiteral(mode)}; LOCK TABLE ${lockTable} IN ${lockMode} MODE`;
      const changes: Change[] = [];
      const onWrite = observer === UNOBSERVED ? undefined : (change: Change) => void changes.push(change);
      let committing = false;
      let finishCommit = () => {};
      const onCommitting = () => {
        committing = true;
        const finished = new Promise<void>((resolve) => (finishCommit = resolve));
        this.committing.add(finished);
        void finished.then(() => this.committing.delete(finished));
      };
      let position: Promise<{ xid: string | null }[]> | undefined;
      try {
        const beforeCommit = (tx: TransactionContext["sql"], value: unknown) => {
          if (call) queueMutationRecord(tx, this.schemaName, call, value);
          position = tx.queueQuery<{ xid: string | null }>("SELECT pg_current_xact_id_if_assigned()::text AS xid");
        };
        const value = await this.attempt(setup, fn, { ...options, onWrite, onCommitting, beforeCommit });
        let xid: string | null = null;
        try {
          xid = (await position!)[0]?.xid ?? null;
          observer.committed(changes, mode, xid);
        } finally {
          // Never left pending: a snapshot scope may be waiting on it (commitBarrier).
          finishCommit();
        }
        options.onCommit?.(xid);
        if (call) this.pruneRecordsNowAndThen();
        return value;
      } catch (error) {
        try {
          // The connection was lost at COMMIT: it may have committed, so watches re-run rather than miss it.
          if (committing && sqlState(error) === undefined) observer.committed(changes, mode, null);
        } finally {
          finishCommit();
        }
        const recorded = call ? await this.recordedAnswer(error, call, committing) : null;
        if (recorded) return answerRecorded(recorded, options);
        // A statement error (it has a SQLSTATE) means nothing committed, even at COMMIT.
        if (await this.layoutChanged(error, layoutVersion)) continue;
        if (!isRetryable(error)) throw error;
        if (attempt >= this.maxAttempts) {
          throw new ConvoyError({
            code: "CONFLICT",
            message: `The mutation conflicted with concurrent writes ${attempt} times and was not applied; try again`,
            cause: error,
          });
        }
        // Jittered backoff spreads the optimistic retries apart.
        if (attempt < OPTIMISTIC_ATTEMPTS) await sleep(Math.random() * 2 ** attempt);
      }
    }
  }

  /**
   * The first run's result, when a named call's attempt failed because that run is
   * there: it met the call's record, or its handler failed on the first run's writes
   * (a name now taken). Null when the error stands.
   */
  private async recordedAnswer(
    error: unknown,
    call: MutationCallId,
    committing: boolean,
  ): Promise<RecordedResult | null> {
    const missing = missingTable(error);
    if (missing) throw missing;
    if (!isRecordedAlready(error) && (isRetryable(error) || committing)) return null;
    return recordedResult(this.driver, this.schemaName, call).catch((lookupError: unknown) => {
      if (isConvoyError(lookupError)) throw lookupError;
      return null; // the call's own error says more
    });
  }

  /** Deletes expired mutation records, at most once a minute, in the background. */
  private pruneRecordsNowAndThen(): void {
    const now = Date.now();
    if (now - this.lastRecordPrune < RECORD_PRUNE_INTERVAL_MS) return;
    this.lastRecordPrune = now;
    // A failed prune is retried a minute later; records only grow meanwhile.
    pruneMutationRecords(this.driver, this.schemaName, this.recordRetentionMs).catch(() => {});
  }

  private async attempt<T>(
    setup: string,
    fn: (db: never, tx: TransactionContext) => Promise<T>,
    options: TransactionOptions & {
      onWrite?: WriteListener | undefined;
      onCommitting?: () => void;
      beforeCommit?: ((tx: TransactionContext["sql"], value: T) => void) | undefined;
    },
  ): Promise<T> {
    if (!this.layouts.loaded) await this.layouts.load(this.driver);
    return (options.scope ?? this.driver)
      .transaction(setup, async (tx) => {
        const guarded = new GuardedExecutor(tx);
        const ctx: TransactionContext = {
          sql: guarded,
          layouts: this.layouts,
          onRead: options.onRead,
          onWrite: options.onWrite,
        };
        let value: T;
        try {
          value = await fn(new Database(ctx) as never, ctx);
        } catch (error) {
          throw guarded.abandon(error, (statementError) => isRetryable(statementError) || isShapeGone(statementError));
        }
        guarded.finish();
        options.beforeCommit?.(tx, value);
        options.onCommitting?.();
        return value;
      })
      .catch((error: unknown) => {
        throw refusedValue(error);
      });
  }
}

/** A named call's first result, answered again: its caller learns the first run's commit position too. */
function answerRecorded<T>(recorded: RecordedResult, options: MutationOptions): T {
  options.onCommit?.(recorded.position);
  return recorded.value as T;
}
