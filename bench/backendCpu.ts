import { readFileSync } from "node:fs";
import type pg from "pg";

const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process on this machine has used, from `/proc/<pid>/stat`;
 * null when it cannot be read (another machine's Postgres, the process gone, not Linux).
 * For a Postgres backend it measures the server's work, whatever else shares the CPU.
 */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU seconds of each of `pids` now (missing when unreadable). */
export function cpuSnapshot(pids: Iterable<number>): Map<number, number> {
  const snapshot = new Map<number, number>();
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds !== null) snapshot.set(pid, seconds);
  }
  return snapshot;
}

/** CPU the processes of `after` used since `before` (a process new since then counts from 0); null if none was readable. */
export function cpuUsed(before: Map<number, number>, after: Map<number, number>): number | null {
  if (after.size === 0) return null;
  let used = 0;
  for (const [pid, seconds] of after) used += seconds - (before.get(pid) ?? 0);
  return used;
}

/**
 * CPU this process and some Postgres backends use over measured samples: with
 * {@link SampleHooks}, it adds up each sample's CPU, to report CPU per operation.
 */
export class CpuMeter {
  /** CPU seconds of this process (the client: Convoy's store, pg) over the samples. */
  client = 0;
  /** CPU seconds of the backends over the samples; null once one could not be read. */
  server: number | null = 0;
  private clientStart: NodeJS.CpuUsage | null = null;
  private serverStart = new Map<number, number>();
  private pidsNow: number[] = [];

  /** `pids` lists the backends to count (e.g. from pg_stat_activity by application_name). */
  constructor(private readonly pids: () => Promise<number[]>) {}

  readonly hooks = {
    beforeMeasure: async () => {
      this.pidsNow = await this.pids();
      this.serverStart = cpuSnapshot(this.pidsNow);
      this.clientStart = process.cpuUsage();
    },
    afterMeasure: () => {
      const client = process.cpuUsage(this.clientStart ?? undefined);
      this.client += (client.user + client.system) / 1e6;
      const used = cpuUsed(this.serverStart, cpuSnapshot(this.pidsNow));
      this.server = used === null || this.server === null ? null : this.server + used;
    },
  };
}

/** The pids of the Postgres backends whose sessions set `applicationName`, as {@link CpuMeter} takes them. */
export function backendsOf(pool: pg.Pool, applicationName: string): () => Promise<number[]> {
  return async () =>
    (
      await pool.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1::text", [
        applicationName,
      ])
    ).rows.map((row) => row.pid);
}
