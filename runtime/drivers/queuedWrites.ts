import type { SqlExecutor, TransactionExecutor } from "./driver.js";

/** A {@link TransactionExecutor} whose queued statements still have to run at commit. @internal */
export interface QueueingExecutor extends TransactionExecutor {
  /** Runs the queued statements; call before committing. */
  flush(): Promise<void>;
  /** Drops the queued statements after the transaction failed: queued reads reject with `error`. */
  discard(error: unknown): void;
}

/**
 * Gives an executor a write queue that runs one statement at a time: before the next
 * query, or at `flush`. For drivers where a round trip costs little (PGlite runs in
 * process); the Postgres driver batches queued statements into one message instead.
 * @internal
 */
export function queueWrites(inner: SqlExecutor): QueueingExecutor {
  const queued: {
    text: string;
    params: readonly unknown[] | undefined;
    deliver?: { resolve: (rows: unknown[]) => void; reject: (error: unknown) => void };
  }[] = [];
  const discard = (error: unknown) => {
    for (const dropped of queued.splice(0)) dropped.deliver?.reject(error);
  };
  const flush = async () => {
    while (queued.length > 0) {
      const { text, params, deliver } = queued.shift()!;
      try {
        const rows = await inner.query(text, params);
        deliver?.resolve(rows);
      } catch (error) {
        deliver?.reject(error);
        discard(error);
        throw error;
      }
    }
  };
  return {
    queue(text, params) {
      queued.push({ text, params });
    },
    queueQuery<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
      const rows = new Promise<TRow[]>((resolve, reject) => {
        queued.push({ text, params, deliver: { resolve: resolve as (rows: unknown[]) => void, reject } });
      });
      // The caller may never wait for it (the transaction failed first).
      rows.catch(() => {});
      return rows;
    },
    async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
      await flush();
      return inner.query<TRow>(text, params);
    },
    flush,
    discard,
  };
}
