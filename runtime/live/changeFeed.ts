import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Driver } from "../drivers/driver.js";
import { quoteIdent } from "../store/sqlText.js";
import { changeChannel } from "./changeLogDdl.js";

/** A document as the change log saw it. */
export interface ChangedDocument {
  creationTime: number;
  doc: Record<string, unknown>;
}

/** One committed change to one document (`id` null: the whole table, e.g. TRUNCATE). */
export interface Change {
  table: string;
  id: string | null;
  before: ChangedDocument | null;
  after: ChangedDocument | null;
}

/** Where reading stopped: the snapshot's xmax and the transactions then in progress. */
interface FeedCursor {
  xmax: string;
  inProgress: string[];
}

interface ChangeRow {
  tbl: string;
  doc_id: string | null;
  old_creation_time: number | null;
  old_doc: Record<string, unknown> | null;
  new_creation_time: number | null;
  new_doc: Record<string, unknown> | null;
}

/** Changes one read must find for the feed to treat writes as streaming in. */
const BUSY_BATCH = 3;
/** The pause between back-to-back log reads while writes stream in. */
const BUSY_READ_GAP_MS = 2;

/** Options of {@link ChangeFeed}. */
export interface ChangeFeedOptions {
  driver: Driver;
  schemaName: string;
  /** Receives each batch of settled changes, in log order. */
  onChanges: (changes: Change[]) => void;
  /** Called after the feed lost track (listener reconnected): every watch must re-run. */
  onReset: () => void;
  /** Told about connection trouble. */
  onError?: (error: unknown) => void;
  /** Safety poll interval in ms, for notifications lost while reconnecting. @default 2000 */
  pollIntervalMs?: number;
  /** How long change rows are kept. @default 300_000 */
  retentionMs?: number;
}

/**
 * Reads the change log. A row is read once its transaction has settled: each read
 * takes the rows of transactions that started after the previous read's snapshot
 * (`xid >= xmax`) or were in progress then, and are visible now. Sequences and xids do
 * not follow commit order, so a plain "id > last" cursor would skip rows.
 *
 * Reads are triggered by NOTIFY on a dedicated listener connection, by local commits
 * (`poke`), and by a slow safety poll. When the listener drops, the feed reconnects
 * with backoff and calls `onReset`, since changes may have been missed meanwhile.
 */
export class ChangeFeed {
  private cursor: FeedCursor | null = null;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private stopListening: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Where reading had got to at each prune: the rows of transactions settled by then were read. */
  private readonly pruneMarks: { at: number; cursor: FeedCursor }[] = [];
  /** A local commit asked the next read to NOTIFY other processes. */
  private notifyPending = false;
  private readonly table: string;
  /** Marks this process's NOTIFY payloads, so its listener can ignore them. */
  private readonly token = randomBytes(8).toString("hex");

  constructor(private readonly options: ChangeFeedOptions) {
    this.table = `${quoteIdent(options.schemaName)}."_changes"`;
  }

  /** Starts listening and reading from now on. */
  async start(): Promise<void> {
    this.cursor = await this.currentCursor();
    await this.connect();
    const interval = this.options.pollIntervalMs ?? 2000;
    // Timers past 2^31 ms overflow and fire at once; no interval needs to be longer than a day.
    this.timer = setInterval(() => this.poke(), Math.min(interval, 86_400_000));
    this.timer.unref();
    this.cleanupTimer = setInterval(() => void this.prune(), Math.min(Math.max(interval * 10, 30_000), 86_400_000));
    this.cleanupTimer.unref();
  }

  private async connect(): Promise<void> {
    this.stopListening = await this.options.driver.listen(
      changeChannel(this.options.schemaName),
      // This process's own notices are already read: it polls right after its commits.
      (payload) => {
        if (payload !== this.token) this.poke();
      },
      (error) => void this.reconnect(error),
    );
  }

  private async reconnect(error: unknown): Promise<void> {
    this.stopListening = null;
    this.options.onError?.(error);
    for (let attempt = 0; !this.stopped; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5000)));
      if (this.stopped) return;
      try {
        await this.connect();
        this.cursor = await this.currentCursor();
        this.options.onReset();
        return;
      } catch (retryError) {
        this.options.onError?.(retryError);
      }
    }
  }

  /** Reads new changes soon; calls made while a read runs cause one more read after it. */
  poke(): void {
    if (this.stopped || this.cursor === null) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = this.poll()
      // A read that found a batch of changes means writes are streaming in: leave a
      // moment before the next, so it takes a larger batch. Sparse writes never wait.
      .then((found) => (this.pollAgain && found >= BUSY_BATCH ? sleep(BUSY_READ_GAP_MS) : undefined))
      .finally(() => {
        this.polling = null;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.poke();
        }
      });
  }

  /**
   * A Convoy mutation committed here: read the log now, and tell other processes. The
   * NOTIFY rides on that read's statement, so a burst of commits costs one statement
   * per read, not two.
   */
  committed(): void {
    if (this.options.driver.kind !== "pglite") this.notifyPending = true;
    this.poke();
  }

  /** Resolves when every read asked for so far is done (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.polling) await this.polling;
  }

  private async currentCursor(): Promise<FeedCursor> {
    const [row] = await this.options.driver.query<{ xmax: string; xip: string[] | null }>(
      `SELECT pg_snapshot_xmax(s)::text AS xmax, ARRAY(SELECT pg_snapshot_xip(s)::text) AS xip
         FROM (SELECT pg_current_snapshot() AS s) AS snapshot`,
    );
    return { xmax: row!.xmax, inProgress: row!.xip ?? [] };
  }

  /** Reads the settled changes since the cursor; resolves with how many it found. */
  private async poll(): Promise<number> {
    const cursor = this.cursor;
    if (cursor === null) return 0;
    const notify = this.notifyPending;
    this.notifyPending = false;
    try {
      const [row] = await this.options.driver.query<{
        xmax: string;
        xip: string[] | null;
        changes: ChangeRow[] | null;
      }>(
        `WITH snapshot AS (SELECT pg_current_snapshot() AS s)
         SELECT pg_snapshot_xmax(s)::text AS xmax,
                ARRAY(SELECT pg_snapshot_xip(s)::text) AS xip,
                (SELECT json_agg(c ORDER BY c.id) FROM ${this.table} c
                  WHERE (c.xid >= $1::xid8 OR c.xid = ANY($2::xid8[])) AND pg_visible_in_snapshot(c.xid, s)) AS changes
                ${notify ? ", pg_notify($3::text, $4::text) AS notified" : ""}
           FROM snapshot`,
        notify
          ? [cursor.xmax, cursor.inProgress, changeChannel(this.options.schemaName), this.token]
          : [cursor.xmax, cursor.inProgress],
      );
      if (this.cursor !== cursor) return 0; // reset while reading: the reset covers it
      this.cursor = { xmax: row!.xmax, inProgress: row!.xip ?? [] };
      const changes = (row!.changes ?? []).map(toChange);
      if (changes.length > 0) this.options.onChanges(changes);
      return changes.length;
    } catch (error) {
      // Other processes still need to hear of the commit: the next read notifies.
      if (notify) this.notifyPending = true;
      this.options.onError?.(error);
      return 0;
    }
  }

  /**
   * Deletes log rows read more than the retention time ago. Each prune marks the
   * cursor: every row of a transaction below its xmax and not in progress then has been
   * read, and is deleted once its mark is older than the retention (through the xid
   * index, so the log needs no timestamp column). A transaction still open at the mark
   * keeps its rows, without holding back the pruning of others.
   * @internal Runs on a timer; tests call it.
   */
  async prune(): Promise<void> {
    const cursor = this.cursor;
    if (cursor === null) return;
    const retentionMs = this.options.retentionMs ?? 300_000;
    const now = Date.now();
    this.pruneMarks.push({ at: now, cursor });
    let mark: FeedCursor | null = null;
    while (this.pruneMarks.length > 1 && this.pruneMarks[0]!.at <= now - retentionMs) {
      mark = this.pruneMarks.shift()!.cursor;
    }
    if (mark === null) return;
    try {
      await this.options.driver.query(
        `DELETE FROM ${this.table} WHERE xid < $1::xid8 AND NOT (xid = ANY($2::xid8[]))`,
        [mark.xmax, mark.inProgress],
      );
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    await this.settled().catch(() => {});
    await this.stopListening?.();
  }
}

function toChange(row: ChangeRow): Change {
  return {
    table: row.tbl,
    id: row.doc_id,
    before: row.old_doc === null ? null : { creationTime: row.old_creation_time!, doc: row.old_doc },
    after: row.new_doc === null ? null : { creationTime: row.new_creation_time!, doc: row.new_doc },
  };
}
