/** Runs one SQL statement with positional parameters (`$1`, `$2`, ...). */
export interface SqlExecutor {
  query<TRow = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<TRow[]>;
}

/**
 * Runs statements inside one transaction. Writes whose rows are not needed can be
 * queued: they travel with the transaction's next statement or with its COMMIT, so a
 * mutation that only writes takes one round trip.
 */
export interface TransactionExecutor extends SqlExecutor {
  /**
   * Queues a statement whose result rows are not needed. Queued statements run in
   * order, before the next `query` or at commit; an error from one is thrown there.
   * @example
   * ```ts
   * tx.queue("INSERT INTO t (a) VALUES ($1)", [1]);
   * await tx.query("SELECT count(*) FROM t"); // sees the row
   * ```
   */
  queue(text: string, params?: readonly unknown[]): void;
  /**
   * Queues a statement whose rows are wanted, but not before the queued writes run:
   * it travels with them (before the next `query`, or with COMMIT) and the promise
   * resolves with its rows then, or rejects when the transaction fails first.
   * @example
   * ```ts
   * const position = tx.queueQuery("SELECT pg_current_xact_id_if_assigned()::text AS xid");
   * ```
   */
  queueQuery<TRow = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<TRow[]>;
}

/** A connection of its own, outside the pool, for session state such as advisory locks. */
export interface DriverSession extends SqlExecutor {
  /** The server process id of this connection (`pg_backend_pid()`). */
  readonly processId: number;
  close(): Promise<void>;
}

/**
 * The one interface Convoy needs from a database: statements, transactions, and
 * closing. `pg` (any Postgres) and PGlite (embedded) implement it.
 */
export interface Driver extends SqlExecutor {
  readonly kind: "postgres" | "pglite";
  /** Where the data lives, safe to print (no password). */
  readonly description: string;
  /** How many transactions may run side by side (the pool size); 1 or absent: one at a time. */
  readonly connections?: number;
  /**
   * Runs `body` in a transaction. `setup` is parameterless SQL (e.g. `SET TRANSACTION
   * ...; LOCK TABLE ...`) run right after BEGIN, before the snapshot is taken. Commits
   * when `body` resolves (after running what it queued), rolls back when it throws.
   */
  transaction<T>(setup: string, body: (tx: TransactionExecutor) => Promise<T>): Promise<T>;
  /**
   * Listens to a NOTIFY channel on a connection of its own. `onLost` is called once if
   * that connection drops; listen again to resume. Resolves to a function that stops
   * listening.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost: (error: unknown) => void,
  ): Promise<() => Promise<void>>;
  /**
   * Opens a connection outside the pool (where the listener connects), for session-level
   * locks. `onLost` is called once if it drops. Only drivers that serve several
   * processes have it (Postgres, not PGlite).
   */
  openSession?(onLost: (error: unknown) => void): Promise<DriverSession>;
  /** Runs parameterless SQL that may hold several statements. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** The SQLSTATE of a database error, if it has one. @internal */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
