/** Runs one SQL statement with positional parameters (`$1`, `$2`, ...). */
export interface SqlExecutor {
  query<TRow = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<TRow[]>;
}

/**
 * The one interface Convoy needs from a database: statements, transactions, and
 * closing. `pg` (any Postgres) and PGlite (embedded) implement it.
 */
export interface Driver extends SqlExecutor {
  readonly kind: "postgres" | "pglite";
  /** Where the data lives, safe to print (no password). */
  readonly description: string;
  /**
   * Runs `body` in a transaction. `setup` is parameterless SQL (e.g. `SET TRANSACTION
   * ...; LOCK TABLE ...`) run right after BEGIN, before the snapshot is taken. Commits
   * when `body` resolves, rolls back when it throws.
   */
  transaction<T>(setup: string, body: (tx: SqlExecutor) => Promise<T>): Promise<T>;
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
  /** Runs parameterless SQL that may hold several statements. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** The SQLSTATE of a database error, if it has one. @internal */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
