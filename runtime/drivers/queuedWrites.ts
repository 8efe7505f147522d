import type { SqlExecutor, TransactionExecutor } from "./driver.js";

/** A {@link TransactionExecutor} whose queued statements still have to run at commit. @internal */
export interface QueueingExecutor extends TransactionExecutor {
  /** Runs the queued statements; call before committing. */
  flush(): Promise<void>;
}

/**
 * Gives an executor a write queue that runs one statement at a time: before the next
 * query, or at `flush`. For drivers where a round trip costs little (PGlite runs in
 * process); the Postgres driver batches queued statements into one message instead.
 * @internal
 */
export function queueWrites(inner: SqlExecutor): QueueingExecutor {
  const queued: { text: string; params: readonly unknown[] | undefined }[] = [];
  const flush = async () => {
    while (queued.length > 0) {
      const { text, params } = queued.shift()!;
      await inner.query(text, params);
    }
  };
  return {
    queue(text, params) {
      queued.push({ text, params });
    },
    async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
      await flush();
      return inner.query<TRow>(text, params);
    },
    flush,
  };
}
