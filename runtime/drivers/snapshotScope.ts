import type { Driver, SqlExecutor, TransactionExecutor } from "./driver.js";

/**
 * Several read-only transactions that all see one snapshot: what the live-query engine
 * re-runs the watches of one transition in. Each `transaction` sees exactly the
 * commits `snapshot` sees, however many commit meanwhile.
 */
export interface SnapshotScope {
  /** The snapshot, as `pg_current_snapshot()::text` gives it (`xmin:xmax:xip,...`). */
  readonly snapshot: string;
  /** Runs a read in the scope's own transaction, at its snapshot (no setup, no savepoint). */
  readonly sql: SqlExecutor;
  /**
   * Runs `body` in a read-only transaction at the scope's snapshot. `setup` is the
   * caller's usual setup (its isolation level); a scope runs at REPEATABLE READ.
   */
  transaction<T>(setup: string, body: (tx: TransactionExecutor) => Promise<T>): Promise<T>;
}

const HOLDER_SETUP = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
const TAKE_SNAPSHOT = "SELECT pg_current_snapshot()::text AS snapshot";

/**
 * Runs `body` with a {@link SnapshotScope}, closed when `body` settles. On a driver that
 * runs transactions side by side (Postgres with a pool of two or more), one transaction
 * exports its snapshot (`pg_export_snapshot()`) and each scope transaction imports it
 * (`SET TRANSACTION SNAPSHOT`) on a connection of its own, so reads still run in
 * parallel. Otherwise (PGlite, a pool of one) the scope's transactions run one at a
 * time inside the one transaction, each in a savepoint so that a failing read does not
 * end the others.
 *
 * @example
 * ```ts
 * await inOneSnapshot(driver, (scope) => Promise.all(reads.map((read) => scope.transaction(setup, read))));
 * ```
 */
export function inOneSnapshot<T>(driver: Driver, body: (scope: SnapshotScope) => Promise<T>): Promise<T> {
  return (driver.connections ?? 1) >= 2 ? exportedScope(driver, body) : sharedScope(driver, body);
}

function exportedScope<T>(driver: Driver, body: (scope: SnapshotScope) => Promise<T>): Promise<T> {
  return driver.transaction(HOLDER_SETUP, async (holder) => {
    const [row] = await holder.query<{ id: string; snapshot: string }>(
      "SELECT pg_export_snapshot() AS id, pg_current_snapshot()::text AS snapshot",
    );
    const importSnapshot = `SET TRANSACTION SNAPSHOT '${row!.id.replace(/'/g, "''")}'`;
    return body({
      snapshot: row!.snapshot,
      sql: holder,
      transaction: (_setup, read) => readBeforeCommit(driver, `${HOLDER_SETUP}; ${importSnapshot}`, read),
    });
  });
}

function sharedScope<T>(driver: Driver, body: (scope: SnapshotScope) => Promise<T>): Promise<T> {
  return driver.transaction(HOLDER_SETUP, async (tx) => {
    const [row] = await tx.query<{ snapshot: string }>(TAKE_SNAPSHOT);
    // One read at a time: savepoints of one transaction do not interleave, and a read of
    // the scope's own must not meet a savepoint aborted by a failing statement.
    let turn: Promise<unknown> = Promise.resolve();
    const inTurn = <R>(step: () => Promise<R>): Promise<R> => {
      const run = turn.then(step);
      turn = run.catch(() => {});
      return run;
    };
    const transaction = <R>(_setup: string, read: (tx: TransactionExecutor) => Promise<R>): Promise<R> =>
      inTurn(async () => {
        await tx.query("SAVEPOINT convoy_scope_read");
        try {
          const value = await read(tx);
          await tx.query("RELEASE SAVEPOINT convoy_scope_read");
          return value;
        } catch (error) {
          await tx.query("ROLLBACK TO SAVEPOINT convoy_scope_read");
          throw error;
        }
      });
    const sql: SqlExecutor = { query: (text, params) => inTurn(() => tx.query(text, params)) };
    return body({ snapshot: row!.snapshot, sql, transaction });
  });
}

/**
 * A scope for one read alone: its own transaction, whose snapshot `snapshot()` gives
 * after it ran (read with the transaction's first statement, in the same message). No
 * transaction holds the snapshot for others, so it costs what the read alone costs.
 * `transaction` resolves when the read is done, not after its COMMIT (see
 * {@link readBeforeCommit}).
 *
 * @example
 * ```ts
 * const alone = ownSnapshot(driver);
 * await alone.transaction(setup, read);
 * const version = await alone.snapshot();
 * ```
 */
export function ownSnapshot(driver: Driver): Pick<SnapshotScope, "transaction"> & { snapshot(): Promise<string> } {
  // A read that opened no transaction (its arguments were refused first) read nothing:
  // its answer holds at any snapshot, so the current one serves.
  let taken: Promise<string> | undefined;
  return {
    transaction: (setup, read) =>
      readBeforeCommit(driver, setup, async (tx) => {
        const snapshot = tx.queueQuery<{ snapshot: string }>(TAKE_SNAPSHOT).then((rows) => rows[0]!.snapshot);
        snapshot.catch(() => {});
        const value = await read(tx);
        // Only a read that succeeded runs what it queued (a failed one may leave it unsent).
        taken = snapshot;
        return value;
      }),
    snapshot: async () => taken ?? (await driver.query<{ snapshot: string }>(TAKE_SNAPSHOT))[0]!.snapshot,
  };
}

/**
 * Runs the read-only `read` in a transaction, resolving with its value as soon as it is
 * done rather than after the COMMIT: a transaction that only read has nothing to lose at
 * COMMIT (a connection lost then takes back nothing the read saw), so its caller need
 * not wait that round trip. Rejects with the read's error.
 */
function readBeforeCommit<T>(driver: Driver, setup: string, read: (tx: TransactionExecutor) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    driver
      .transaction(setup, async (tx) => {
        const value = await read(tx);
        resolve(value);
        return value;
      })
      // After `resolve`, a failing COMMIT is no news to the caller (this rejects nothing then).
      .catch(reject);
  });
}
