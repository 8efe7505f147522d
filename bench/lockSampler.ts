import pg from "pg";

/** One lock wait seen by {@link LockSampler}: the longest it was seen waiting. */
export interface LockWait {
  app: string;
  pid: number;
  mode: string;
  locktype: string;
  relation: string | null;
  query: string;
  waitedMs: number;
}

/** A row of the sampler's query: a lock request not granted yet. */
type WaitRow = Omit<LockWait, "waitedMs"> & { waited_ms: number | null; since: string | null };

/**
 * Polls `pg_locks` every `intervalMs` for lock requests not yet granted, of the sessions
 * whose `application_name` is one of `apps`, and keeps each wait's longest duration
 * (`clock_timestamp() - waitstart`). A wait shorter than the interval may be missed; a
 * longer one is seen at most one interval short of its length.
 */
export class LockSampler {
  private readonly client: pg.Client;
  private readonly waits = new Map<string, LockWait>();
  private running: Promise<void> | null = null;
  private stopped = false;
  /** How many times pg_locks was read. */
  samples = 0;
  private sessions: { app: string; pid: number }[] = [];

  constructor(
    connectionString: string,
    private readonly apps: readonly string[],
    private readonly intervalMs = 20,
  ) {
    this.client = new pg.Client({ connectionString });
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const { rows } = await this.client.query<WaitRow>(
        `SELECT a.application_name AS app, l.pid, l.mode, l.locktype, l.relation::regclass::text AS relation,
                left(a.query, 160) AS query,
                EXTRACT(EPOCH FROM clock_timestamp() - l.waitstart)::float8 * 1000 AS waited_ms,
                l.waitstart::text AS since
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND a.application_name = ANY($1::text[])`,
        [this.apps],
      );
      const sessions = await this.client.query<{ app: string; pid: number }>(
        `SELECT application_name AS app, pid FROM pg_stat_activity WHERE application_name = ANY($1::text[])`,
        [this.apps],
      );
      this.sessions = sessions.rows;
      this.samples++;
      for (const { waited_ms, since, ...wait } of rows) {
        // One wait: this backend, since this moment (waitstart is NULL for an instant when a wait begins).
        const key = `${wait.pid} ${since ?? wait.query}`;
        const waitedMs = waited_ms ?? 0;
        if ((this.waits.get(key)?.waitedMs ?? -1) < waitedMs) this.waits.set(key, { ...wait, waitedMs });
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }

  /** Stops polling; safe to call more than once, or before {@link start}. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.running === null) return;
    await this.running;
    await this.client.end();
  }

  /** Backend process ids of the sessions named `app`, as last polled. */
  pids(app: string): number[] {
    return this.sessions.filter((session) => session.app === app).map((session) => session.pid);
  }

  /** The longest waits seen of sessions named `app`, longest first. */
  longest(app: string, count = 3): LockWait[] {
    return [...this.waits.values()]
      .filter((wait) => wait.app === app)
      .sort((a, b) => b.waitedMs - a.waitedMs)
      .slice(0, count);
  }
}

/** `url` with `application_name` set, so its sessions can be told apart in `pg_stat_activity`. */
export function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("application_name", name);
  return parsed.toString();
}
