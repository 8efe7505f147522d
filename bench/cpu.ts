/** CPU-time counters, to see where the time of a benchmark goes. */
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/** Busy CPU time of the whole machine so far, summed over all CPUs, in µs (10 ms resolution). */
export function machineBusyMicros(): number {
  return cpus().reduce((sum, { times }) => sum + (times.user + times.nice + times.sys + times.irq) * 1000, 0);
}

/**
 * CPU time so far of every local process whose name is `name`, by pid, in µs, from
 * `/proc/<pid>/schedstat` (nanosecond resolution). Null without a Linux `/proc`.
 */
export function processCpuMicros(name: string): Map<number, number> | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return null;
  }
  const byPid = new Map<number, number>();
  for (const pid of entries) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== name) continue;
      byPid.set(Number(pid), Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1000);
    } catch {
      // The process exited (or is not readable); skip it.
    }
  }
  return byPid;
}

/** CPU time the processes of `after` used since `before`; processes started since then count from zero. */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, micros] of after) total += micros - (before.get(pid) ?? 0);
  return total;
}
