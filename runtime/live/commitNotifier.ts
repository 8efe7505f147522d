import type { SqlExecutor } from "../drivers/driver.js";
import { CoalescedTask } from "./coalescedTask.js";

/** The least time between the starts of back-to-back NOTIFYs: a stream of commits shares one per interval. */
const MIN_NOTIFY_INTERVAL_MS = 2;

/**
 * Announces commits on a NOTIFY channel from outside the committing transactions
 * (NOTIFY inside every transaction would serialise commits on Postgres's notify lock).
 * One NOTIFY is in flight at a time; commits made meanwhile share the next one, sent at
 * least {@link MIN_NOTIFY_INTERVAL_MS} after it, so a stream of commits costs a statement
 * every few milliseconds, not one each. A lone commit is announced at once.
 * @internal
 */
export class CommitNotifier {
  private readonly sender: CoalescedTask;

  /**
   * @param payload tells listeners who sent it (a feed ignores its own).
   * @param onError told when a NOTIFY fails; listeners then find the rows at their safety poll.
   */
  constructor(sql: SqlExecutor, channel: string, payload: string, onError?: (error: unknown) => void) {
    this.sender = new CoalescedTask(
      () =>
        sql.query("SELECT pg_notify($1::text, $2::text)", [channel, payload]).then(
          () => {},
          (error: unknown) => onError?.(error),
        ),
      MIN_NOTIFY_INTERVAL_MS,
    );
  }

  /** A commit happened: notify now, or right after the NOTIFY in flight. */
  notify(): void {
    this.sender.request();
  }

  /** Resolves when every NOTIFY asked for so far has been sent. */
  settled(): Promise<void> {
    return this.sender.settled();
  }
}
