import { randomBytes } from "node:crypto";
import type { Driver, SqlExecutor } from "../drivers/driver.js";
import { quoteIdent } from "../store/sqlText.js";
import type { Change } from "../store/documentChange.js";
import { changeChannel } from "./changeLogDdl.js";
import { CoalescedTask } from "./coalescedTask.js";
import { CommitNotifier } from "./commitNotifier.js";
import { PeerPresence } from "./peerPresence.js";

export type { Change, ChangedDocument } from "../store/documentChange.js";

/** Where reading stopped: the snapshot's xmax and the transactions then in progress. */
interface FeedCursor {
  xmax: string;
  inProgress: string[];
}

interface ChangeRow {
  xid: string;
  tbl: string;
  doc_id: string | null;
  old_creation_time: number | null;
  old_doc: Record<string, unknown> | null;
  new_creation_time: number | null;
  new_doc: Record<string, unknown> | null;
}

/**
 * The least time between the starts of back-to-back log reads. Reads serve only other
 * writers' changes (this server applies its own), so under a stream of them a read takes
 * a few milliseconds' worth at once; a lone notification is read at once.
 */
const MIN_READ_INTERVAL_MS = 2;

/** Options of {@link ChangeFeed}. */
export interface ChangeFeedOptions {
  driver: Driver;
  schemaName: string;
  /** Receives each batch of settled changes, in log order. */
  onChanges: (changes: Change[]) => void;
  /** Called after the feed lost track (it reconnected): every watch must re-run. */
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
 * The mutations of this feed's own server are not read back: the server applies their
 * writes itself ({@link committed}), its log rows carry its origin and reads skip them,
 * and while no other feed listens they are not logged at all ({@link PeerPresence}).
 * Reads are triggered by other writers' NOTIFY on a dedicated listener connection and
 * by a slow safety poll. When the listener or the lock session drops, the feed
 * reconnects with backoff and calls `onReset`, since changes may have been missed.
 */
export class ChangeFeed {
  private cursor: FeedCursor | null = null;
  /** Log reads, one at a time (see {@link MIN_READ_INTERVAL_MS}). */
  private readonly reads = new CoalescedTask(() => this.poll(), MIN_READ_INTERVAL_MS);
  private stopListening: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Where reading had got to at each prune: the rows of transactions settled by then were read. */
  private readonly pruneMarks: { at: number; cursor: FeedCursor }[] = [];
  /** Tells the other feeds of this server's logged commits. */
  private readonly notifier: CommitNotifier;
  private reconnecting = false;
  /** A connection was lost while reconnecting: connect once more. */
  private lostAgain = false;
  /** Set once started: connection losses before that fail `start` instead. */
  private running = false;
  private readonly table: string;
  private readonly channel: string;
  /** This feed's origin: tags its server's log rows and NOTIFY payloads, which it skips. */
  private readonly token = randomBytes(8).toString("hex");
  private readonly presence: PeerPresence | null;

  constructor(private readonly options: ChangeFeedOptions) {
    this.table = `${quoteIdent(options.schemaName)}."_changes"`;
    this.channel = changeChannel(options.schemaName);
    const driver = options.driver;
    this.notifier = new CommitNotifier(driver, this.channel, this.token, options.onError);
    // PGlite serves one process: its feeds always log (and notify each other).
    this.presence = driver.openSession
      ? new PeerPresence({
          driver,
          openSession: driver.openSession.bind(driver),
          schemaName: options.schemaName,
          onLost: (error) => void this.reconnect(error),
        })
      : null;
  }

  /** Starts listening and reading from now on. */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      await this.disconnect();
      throw error;
    }
    this.running = true;
    const interval = this.options.pollIntervalMs ?? 2000;
    // Timers past 2^31 ms overflow and fire at once; no interval needs to be longer than a day.
    this.timer = setInterval(
      () => {
        this.poke();
        this.checkPeers();
      },
      Math.min(interval, 86_400_000),
    );
    this.timer.unref();
    this.cleanupTimer = setInterval(() => void this.prune(), Math.min(Math.max(interval * 10, 30_000), 86_400_000));
    this.cleanupTimer.unref();
  }

  /** Listens, joins the feeds present (see {@link PeerPresence}), greets them, and takes the cursor. */
  private async connect(): Promise<void> {
    this.stopListening = await this.options.driver.listen(
      this.channel,
      (payload) => {
        if (payload === this.token || payload === `hello:${this.token}`) return;
        if (payload.startsWith("hello:")) {
          // A feed joined: stop skipping the log at once, rather than at the next check.
          this.checkPeers();
        } else {
          this.poke();
        }
      },
      (error) => void this.reconnect(error),
    );
    if (this.presence) {
      await this.presence.join();
      await this.options.driver.query("SELECT pg_notify($1::text, $2::text)", [this.channel, `hello:${this.token}`]);
    }
    this.cursor = await this.currentCursor();
  }

  /** Has the presence look again at who is listening (see {@link PeerPresence.check}). */
  private checkPeers(): void {
    this.presence?.check().catch((error: unknown) => this.options.onError?.(error));
  }

  private async disconnect(): Promise<void> {
    const stopListening = this.stopListening;
    this.stopListening = null;
    await stopListening?.();
    await this.presence?.leave();
  }

  private async reconnect(error: unknown): Promise<void> {
    if (this.stopped || !this.running) return;
    this.options.onError?.(error);
    if (this.reconnecting) {
      this.lostAgain = true;
      return;
    }
    this.reconnecting = true;
    try {
      for (let attempt = 0; !this.stopped; attempt++) {
        await this.disconnect();
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5000)));
        if (this.stopped) return;
        this.lostAgain = false;
        try {
          await this.connect();
          if (this.lostAgain) continue;
          this.options.onReset();
          return;
        } catch (retryError) {
          this.options.onError?.(retryError);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  /** Reads new changes soon; calls made while a read runs cause one more read after it. */
  poke(): void {
    if (this.stopped || this.cursor === null) return;
    this.reads.request();
  }

  /**
   * The `convoy.mutation` setting for a mutation of this feed's server (see
   * `changeTriggerFunctionSql`): skip the log while solo, else log with this origin.
   */
  changeLogMode(): string {
    const pid = this.presence?.mode === "solo" ? this.presence.sessionPid : null;
    return pid === null ? `log:${this.token}` : `solo:${this.token}:${pid}`;
  }

  /**
   * A mutation of this feed's server committed with `mode`. Its writes are applied by
   * the caller; a logged one is announced to the other feeds after commit (NOTIFY inside
   * every transaction would serialise commits), one NOTIFY per burst of commits.
   */
  committed(mode: string): void {
    if (mode.startsWith("log:") && !this.stopped) this.notifier.notify();
  }

  /**
   * Resolves once a log read that began after this call has finished: every change
   * committed before the call has then been handed to `onChanges` (unless the feed
   * lost its connection meanwhile, when `onReset` follows).
   */
  async caughtUp(): Promise<void> {
    if (this.stopped || this.cursor === null) return;
    await this.reads.fresh();
  }

  /** Resolves when every read and NOTIFY asked for so far is done (tests, shutdown). */
  async settled(): Promise<void> {
    await this.reads.settled();
    await this.notifier.settled();
  }

  private async currentCursor(): Promise<FeedCursor> {
    const [row] = await this.options.driver.query<{ xmax: string; xip: string[] | null }>(
      `SELECT pg_snapshot_xmax(s)::text AS xmax, ARRAY(SELECT pg_snapshot_xip(s)::text) AS xip
         FROM (SELECT pg_current_snapshot() AS s) AS snapshot`,
    );
    return { xmax: row!.xmax, inProgress: row!.xip ?? [] };
  }

  /**
   * Reads, with `sql`, the settled changes since the cursor that its snapshot sees, and
   * hands them to `onChanges` before resolving: run inside a snapshot scope, every
   * logged commit the scope's snapshot sees has been applied when it resolves. May run
   * beside the feed's own reads: a change may then be handed over twice, never missed.
   */
  async readAt(sql: SqlExecutor): Promise<void> {
    await this.poll(sql);
  }

  /** Reads the settled changes since the cursor and hands them to `onChanges`. */
  private async poll(sql: SqlExecutor = this.options.driver): Promise<void> {
    const cursor = this.cursor;
    // Stopped while a read was pending: the stop has already settled the reads it waits for.
    if (cursor === null || this.stopped) return;
    try {
      const [row] = await sql.query<{
        xmax: string;
        xip: string[] | null;
        changes: ChangeRow[] | null;
      }>(
        `WITH snapshot AS (SELECT pg_current_snapshot() AS s)
         SELECT pg_snapshot_xmax(s)::text AS xmax,
                ARRAY(SELECT pg_snapshot_xip(s)::text) AS xip,
                (SELECT json_agg(json_build_object('xid', c.xid::text, 'tbl', c.tbl, 'doc_id', c.doc_id,
                          'old_creation_time', c.old_creation_time, 'old_doc', c.old_doc,
                          'new_creation_time', c.new_creation_time, 'new_doc', c.new_doc) ORDER BY c.id)
                   FROM ${this.table} c
                  WHERE (c.xid >= $1::xid8 OR c.xid = ANY($2::xid8[])) AND pg_visible_in_snapshot(c.xid, s)
                    AND c.origin IS DISTINCT FROM $3::text) AS changes
           FROM snapshot`,
        [cursor.xmax, cursor.inProgress, this.token],
      );
      // Moved meanwhile (a reset, or a read at a snapshot scope): keep that cursor, and
      // hand the changes over anyway; one read later may hand some over again.
      if (this.cursor === cursor) this.cursor = { xmax: row!.xmax, inProgress: row!.xip ?? [] };
      const changes = (row!.changes ?? []).map(toChange);
      if (changes.length > 0) this.options.onChanges(changes);
    } catch (error) {
      this.options.onError?.(error);
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
    await this.disconnect();
  }
}

function toChange(row: ChangeRow): Change {
  return {
    table: row.tbl,
    id: row.doc_id,
    before: row.old_doc === null ? null : { creationTime: row.old_creation_time!, doc: row.old_doc },
    after: row.new_doc === null ? null : { creationTime: row.new_creation_time!, doc: row.new_doc },
    position: row.xid,
  };
}
