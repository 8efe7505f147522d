import type pg from "pg";
import type { TransactionExecutor } from "../driver.js";
import { inlineParameters } from "./inlineParameters.js";

/** A statement not sent yet: as given, and with its values written in when that is safe. */
interface Statement {
  text: string;
  params: readonly unknown[] | undefined;
  inlined: string | null;
  /** Where a queued read's rows go (see `queueQuery`). */
  deliver?: { resolve: (rows: unknown[]) => void; reject: (error: unknown) => void };
}

/** A caller's statement; it joins a batch only when the inliner fully understood it (one statement, no comments). */
function statement(text: string, params?: readonly unknown[]): Statement {
  return { text, params, inlined: inlineParameters(text, params) };
}

/** Convoy's own parameterless SQL, known to batch safely. */
function ownStatement(text: string): Statement {
  return { text, params: undefined, inlined: text };
}

const COMMIT = ownStatement("COMMIT");

/**
 * One transaction on a checked-out `pg` client that sends as few messages as it can:
 * BEGIN (with its setup) and the queued writes travel with the next statement, and
 * the writes still queued at the end travel with COMMIT, each batch as one
 * simple-protocol message. A mutation that only writes costs one round trip.
 *
 * When a statement in a batch fails, Postgres skips the rest of the message and the
 * transaction is aborted; {@link rollback} ends it.
 * @internal
 */
export class PipelinedTransaction implements TransactionExecutor {
  private opening: Statement | null;
  private readonly queued: Statement[] = [];
  /** Something reached the server: the connection is in a transaction (or its COMMIT failed). */
  private started = false;

  constructor(
    private readonly client: pg.PoolClient,
    setup: string,
  ) {
    this.opening = ownStatement(setup ? `BEGIN; ${setup}` : "BEGIN");
  }

  queue(text: string, params?: readonly unknown[]): void {
    this.queued.push(statement(text, params));
  }

  queueQuery<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
    const queued = statement(text, params);
    const rows = new Promise<TRow[]>((resolve, reject) => {
      queued.deliver = { resolve: resolve as (rows: unknown[]) => void, reject };
    });
    // The caller may never wait for it (the transaction failed first).
    rows.catch(() => {});
    this.queued.push(queued);
    return rows;
  }

  async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
    // Nothing to send ahead of it (a later read): no batch, so no need to write its values in.
    if (this.opening === null && this.queued.length === 0) {
      return (await this.client.query(text, params as unknown[] | undefined)).rows as TRow[];
    }
    return (await this.send(statement(text, params))) as TRow[];
  }

  /** Runs what is queued and commits. A transaction that never sent anything has nothing to commit. */
  async commit(): Promise<void> {
    if (!this.started && this.queued.length === 0) return;
    await this.send(COMMIT);
  }

  /** Ends the transaction after `error`, if it began; queued reads reject with `error`. */
  async rollback(error: unknown = new Error("The transaction was rolled back")): Promise<void> {
    for (const dropped of this.queued.splice(0)) dropped.deliver?.reject(error);
    if (this.started) await this.client.query("ROLLBACK");
  }

  /** Sends the opening, the queue and `last` in order, in as few messages as possible; resolves to `last`'s rows. */
  private async send(last: Statement): Promise<unknown[]> {
    const statements = [...(this.opening ? [this.opening] : []), ...this.queued.splice(0), last];
    this.opening = null;
    this.started = true;
    try {
      let batch: Statement[] = [];
      let rows: unknown[] = [];
      for (const next of statements) {
        if (next.inlined !== null) {
          batch.push(next);
          continue;
        }
        // Values that cannot be written into the text go as parameters, in a message of their own.
        if (batch.length > 0) await this.sendBatch(batch);
        batch = [];
        rows = (await this.client.query(next.text, next.params as unknown[] | undefined)).rows;
        next.deliver?.resolve(rows);
      }
      if (batch.length > 0) rows = await this.sendBatch(batch);
      return rows;
    } catch (error) {
      for (const unsent of statements) unsent.deliver?.reject(error);
      throw error;
    }
  }

  /** Sends statements as one message; resolves to the last one's rows and hands queued reads theirs. */
  private async sendBatch(batch: Statement[]): Promise<unknown[]> {
    if (batch.length === 1) {
      const only = batch[0]!;
      const rows = (await this.client.query(only.text, only.params as unknown[] | undefined)).rows;
      only.deliver?.resolve(rows);
      return rows;
    }
    const result = (await this.client.query(batch.map((s) => s.inlined).join(";\n"))) as unknown as
      pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(result) ? result : [result];
    // One result per SQL statement: only the opening (first, never a queued read) may
    // hold several, so queued reads are found counting from the end.
    const offset = results.length - batch.length;
    batch.forEach((s, i) => s.deliver?.resolve(results[offset + i]?.rows ?? []));
    return results[results.length - 1]!.rows;
  }
}
