import { randomBytes } from "node:crypto";
import type { Driver, DriverSession } from "../drivers/driver.js";

/** Advisory-lock key (first half; the second is the session's pid) a runner holds while alive. */
export const RUNNER_LOCK = 1131376210;

/**
 * Who claims jobs: a token written into `claimed_by`, and how dead claimers are told
 * apart from live ones.
 *
 * - Postgres: a session of its own holds the advisory lock (RUNNER_LOCK, pid); the
 *   token is `pg:<pid>:<random>`. A claim whose pid holds no such lock (the process was
 *   killed, its connection dropped) is dead; a new runner that got the same pid
 *   declares every other token of that pid dead.
 * - PGlite: one process owns the database (Convoy's lock file), so every claim that is
 *   not this runner's is from a process that stopped.
 * @internal
 */
export class RunnerIdentity {
  private session: DriverSession | null = null;
  private current: Promise<string> | null = null;

  constructor(
    private readonly driver: Driver,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** True when claims by other processes can be live (Postgres). */
  get shared(): boolean {
    return this.driver.openSession !== undefined;
  }

  /** This runner's token, opening its lock session first when needed. */
  token(): Promise<string> {
    this.current ??= this.open().catch((error: unknown) => {
      this.current = null;
      throw error;
    });
    return this.current;
  }

  private async open(): Promise<string> {
    const random = randomBytes(6).toString("hex");
    if (this.driver.openSession === undefined) return `local:${process.pid}:${random}`;
    const session = await this.driver.openSession((error) => {
      // The lock is gone with the connection: claims under this token may be taken over.
      if (this.session === session) {
        this.session = null;
        this.current = null;
      }
      this.onError(error);
    });
    await session.query(`SELECT pg_advisory_lock(${RUNNER_LOCK}, $1::int)`, [session.processId]);
    this.session = session;
    return `pg:${session.processId}:${random}`;
  }

  /**
   * SQL (a boolean over `claimed_by`) that is true for claims of runners that are gone;
   * `$mine` is the placeholder of this runner's token.
   */
  deadClaimSql(mine: string): string {
    if (!this.shared) return `claimed_by IS DISTINCT FROM ${mine}`;
    return `(claimed_by IS NULL OR claimed_by NOT LIKE 'pg:%'
      OR (split_part(claimed_by, ':', 2) = split_part(${mine}, ':', 2) AND claimed_by <> ${mine})
      OR NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted
                       AND l.classid = ${RUNNER_LOCK} AND l.objid = split_part(claimed_by, ':', 2)::oid AND l.objsubid = 2))`;
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = null;
    this.current = null;
    await session?.close().catch(() => {});
  }
}
