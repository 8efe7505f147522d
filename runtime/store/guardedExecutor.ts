import type { TransactionExecutor } from "../drivers/driver.js";
import { ConvoyError } from "../errors.js";

/**
 * Wraps a transaction's executor so that (1) a statement error the function caught
 * still fails the transaction (Postgres would otherwise turn COMMIT into a silent
 * ROLLBACK), and (2) `ctx.db` used after the function returned fails loudly.
 * @internal
 */
export class GuardedExecutor implements TransactionExecutor {
  private firstError: unknown;
  private closed = false;

  constructor(private readonly inner: TransactionExecutor) {}

  queue(text: string, params?: readonly unknown[]): void {
    this.checkOpen();
    this.inner.queue(text, params);
  }

  queueQuery<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
    this.checkOpen();
    const rows = this.inner.queueQuery<TRow>(text, params);
    rows.catch((error: unknown) => {
      this.firstError ??= error;
    });
    return rows;
  }

  async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
    this.checkOpen();
    try {
      return await this.inner.query<TRow>(text, params);
    } catch (error) {
      this.firstError ??= error;
      throw error;
    }
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new ConvoyError({
        code: "INTERNAL_SERVER_ERROR",
        message: "ctx.db was used after its function returned; await every database call inside the handler",
      });
    }
  }

  /** Ends use of the executor; throws the first statement error if one was swallowed. */
  finish(): void {
    this.closed = true;
    if (this.firstError !== undefined) throw this.firstError;
  }

  /**
   * Ends use of the executor after the function threw `error`, and returns the error to
   * report: the swallowed statement error when `isRetryable` says a rerun may succeed
   * (a caught serialization failure must still lead to a retry), else `error` itself.
   */
  abandon(error: unknown, isRetryable: (statementError: unknown) => boolean): unknown {
    this.closed = true;
    return this.firstError !== undefined && isRetryable(this.firstError) ? this.firstError : error;
  }
}
