import { setTimeout as sleep } from "node:timers/promises";
import type { Driver, DriverSession } from "../drivers/driver.js";
import { FEED_LOCKS, schemaLockKey } from "./changeLogDdl.js";

/** `solo`: no other feed listens, own mutations may skip the log; `shared`: they log. */
export type FeedMode = "solo" | "shared";

/** Options of {@link PeerPresence}. */
export interface PeerPresenceOptions {
  /** Runs the lock-table queries. */
  driver: Driver;
  /** Opens the lock session (the driver's `openSession`). */
  openSession: NonNullable<Driver["openSession"]>;
  schemaName: string;
  /** The lock session dropped: the feed must reconnect and re-run its watches. */
  onLost: (error: unknown) => void;
}

/** How often joining checks whether the guard lock is held yet. */
const GUARD_POLL_MS = 5;
/** How long a feed that finds itself alone waits for the guard before it stays shared instead. */
const SOLO_WAIT_MS = 2000;
/**
 * How long one request for the guard waits in Postgres's lock queue before it is made
 * again. A waiting statement holds a snapshot, which holds back VACUUM and makes
 * `CREATE INDEX CONCURRENTLY` wait for it, so no request waits longer than this.
 */
const GUARD_REQUEST_MS = 1000;

const LOCKS_OF_SCHEMA = `FROM pg_locks
  WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2 AND granted`;

/**
 * Tells a change feed whether it is the only one listening on its database, so that
 * the mutations of its own server, which it applies to its watches directly, need not
 * be written to the change log at all (a tenth of a mutation's cost).
 *
 * Each feed holds, on a lock session of its own, a shared presence lock and an
 * exclusive lock on its session's pid. A feed that sees peers holds or waits for the
 * exclusive guard lock; a mutation skips the log only if it gets the guard shared and
 * its feed's session lock is held (see `changeTriggerFunctionSql`). Joining waits until
 * the guard is held exclusively by some feed: every mutation that skipped the log has
 * ended by then, and no other can start while feeds with peers keep holding or queueing
 * for it, so a joining feed misses nothing after its cursor. A feed left alone joins
 * again (a fresh session, which releases the guard) and becomes solo.
 */
export class PeerPresence {
  private session: DriverSession | null = null;
  private guard: { granted: boolean } | null = null;
  private currentMode: FeedMode = "shared";
  private checking: Promise<void> | null = null;
  /** The current session's loss was reported to the feed (once per session). */
  private lossReported = false;
  /** Joins, checks and leaves run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly schemaKey: number;

  constructor(private readonly options: PeerPresenceOptions) {
    this.schemaKey = schemaLockKey(options.schemaName);
  }

  /** The mode for the next mutation. */
  get mode(): FeedMode {
    return this.currentMode;
  }

  /** The pid whose session lock a solo mutation checks, or null when not joined. */
  get sessionPid(): number | null {
    return this.session?.processId ?? null;
  }

  /**
   * Opens a lock session, takes presence, and waits until no mutation can skip the log
   * unseen; then becomes solo if no other feed is present. Call before taking the
   * feed's cursor.
   */
  join(): Promise<void> {
    return this.exclusive(() => this.joinNow());
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => {});
    return result;
  }

  private async joinNow(): Promise<void> {
    await this.leaveNow();
    this.lossReported = false;
    const session: DriverSession = await this.options.openSession((error) => this.lost(session, error));
    this.session = session;
    await session.query(`SET lock_timeout = '${GUARD_REQUEST_MS}ms'`);
    await session.query(`SELECT pg_advisory_lock_shared($1::int, $2::int), pg_advisory_lock($3::int, $4::int)`, [
      FEED_LOCKS.presence,
      this.schemaKey,
      FEED_LOCKS.session,
      session.processId,
    ]);
    const guard = this.requestGuard(session);
    await this.pollUntil(session, async () => guard.granted || (await this.guardHeld()));
    if ((await this.peers(session)) > 0) return;
    // Alone: the guard is ours, or is about to be (no one else is queued). Release it. If a
    // session that is not a feed holds it, stay shared (always safe), waiting in the queue.
    if (!(await this.pollUntil(session, () => guard.granted, Date.now() + SOLO_WAIT_MS))) return;
    await session.query(`SELECT pg_advisory_unlock($1::int, $2::int)`, [FEED_LOCKS.guard, this.schemaKey]);
    this.guard = null;
    this.currentMode = "solo";
  }

  /** Polls `done` until true (then true) or past `deadline` (then false); throws if `session` closes meanwhile. */
  private async pollUntil(
    session: DriverSession,
    done: () => boolean | Promise<boolean>,
    deadline = Infinity,
  ): Promise<boolean> {
    while (!(await done())) {
      if (this.session !== session) throw new Error("the change feed's lock session closed while joining");
      if (Date.now() > deadline) return false;
      await sleep(GUARD_POLL_MS);
    }
    return true;
  }

  /**
   * Looks again at who is present: a solo feed with peers becomes shared (and queues
   * for the guard); a shared feed left alone joins again to become solo. Calls made
   * while one runs share it.
   */
  check(): Promise<void> {
    this.checking ??= this.exclusive(() => this.checkNow()).finally(() => (this.checking = null));
    return this.checking;
  }

  private async checkNow(): Promise<void> {
    const session = this.session;
    if (session === null) return;
    let peers: number;
    try {
      peers = await this.peers(session);
    } catch (error) {
      if (error instanceof LostLocksError) this.lost(session, error);
      throw error;
    }
    if (this.session !== session) return;
    if (peers > 0) {
      if (this.currentMode === "solo") {
        this.currentMode = "shared";
        this.requestGuard(session);
      }
    } else if (this.currentMode === "shared") {
      try {
        await this.joinNow();
      } catch (error) {
        // The old session is closed: the feed reconnects, which joins again.
        this.reportLoss(error);
        throw error;
      }
    }
  }

  /** Closes the lock session, releasing its locks. */
  leave(): Promise<void> {
    return this.exclusive(() => this.leaveNow());
  }

  private async leaveNow(): Promise<void> {
    const session = this.session;
    this.session = null;
    this.guard = null;
    this.currentMode = "shared";
    await session?.close();
  }

  /**
   * Asks for the guard on `session`: the request waits in Postgres's lock queue until
   * granted, made again every {@link GUARD_REQUEST_MS} (the session's lock_timeout) so
   * that it never holds a snapshot for long. Between two requests nobody can skip the
   * log unseen: a feed is joined only once some feed holds the guard.
   */
  private requestGuard(session: DriverSession): { granted: boolean } {
    const guard = { granted: false };
    this.guard = guard;
    const request = (): void => {
      session.query(`SELECT pg_advisory_lock($1::int, $2::int)`, [FEED_LOCKS.guard, this.schemaKey]).then(
        () => {
          guard.granted = true;
        },
        (error: unknown) => {
          const timedOut = (error as { code?: unknown } | null)?.code === "55P03";
          if (!timedOut) return this.lost(session, error);
          // Still wanted (not left, not replaced by a rejoin): ask again.
          if (this.session === session && this.guard === guard) request();
        },
      );
    };
    request();
    return guard;
  }

  private async guardHeld(): Promise<boolean> {
    const [row] = await this.options.driver.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 ${LOCKS_OF_SCHEMA} AND mode = 'ExclusiveLock') AS held`,
      [FEED_LOCKS.guard, this.schemaKey],
    );
    return row!.held;
  }

  /** How many other feeds are present; throws {@link LostLocksError} if `session`'s presence is gone. */
  private async peers(session: DriverSession): Promise<number> {
    const [row] = await this.options.driver.query<{ others: number; mine: number }>(
      `SELECT count(*) FILTER (WHERE pid <> $3::int)::int AS others, count(*) FILTER (WHERE pid = $3::int)::int AS mine
         ${LOCKS_OF_SCHEMA} AND mode = 'ShareLock'`,
      [FEED_LOCKS.presence, this.schemaKey, session.processId],
    );
    if (row!.mine === 0) throw new LostLocksError();
    return row!.others;
  }

  private lost(session: DriverSession, error: unknown): void {
    if (this.session !== session) return;
    void this.leaveNow(); // forgets the session at once, closes it in the background
    this.reportLoss(error);
  }

  /** Tells the feed its lock session is gone, once per session. */
  private reportLoss(error: unknown): void {
    if (this.lossReported) return;
    this.lossReported = true;
    this.options.onLost(error);
  }
}

/** The lock session is connected but no longer holds its presence lock. */
class LostLocksError extends Error {
  constructor() {
    super("the change feed's lock session lost its locks");
  }
}
