/** A tiny closed-loop load runner: N workers call `op` back to back for a fixed time. */

export interface RunOptions {
  /** Workers issuing operations concurrently. */
  concurrency: number;
  /** Warm-up time before each sample, not measured (JIT, pool connections, caches). */
  warmupSeconds: number;
  /** Measured time of each sample. */
  seconds: number;
  /** Hard cap on operations per phase, so every loop is bounded. */
  maxOps: number;
}

/** One measured run of an operation. */
export interface Sample {
  ops: number;
  seconds: number;
  /** Per-operation latencies in milliseconds. */
  latencies: Float64Array;
}

/** Several samples of one operation, merged. */
export interface Measurement {
  opsPerSec: number;
  /** Slowest and fastest sample, to show the run-to-run spread. */
  minOpsPerSec: number;
  maxOpsPerSec: number;
  /** Latency percentiles over all samples, in milliseconds. */
  p50: number;
  p99: number;
}

/** `op(i)` gets a counter unique within the phase, to vary its input. */
export type Operation = (i: number) => Promise<unknown>;

async function phase(op: Operation, options: RunOptions, seconds: number, latencies: Float64Array | null) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = 0;
  const worker = async () => {
    while (next < options.maxOps && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      await op(i);
      if (latencies) latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { ops: next, seconds: (performance.now() - started) / 1000 };
}

/**
 * Called right before and right after the measured phase of {@link sample}, with no
 * operation in flight (e.g. to read CPU counters). Not part of the measured time.
 */
export interface SampleHooks {
  beforeMeasure?: () => unknown;
  afterMeasure?: () => unknown;
}

/** Warms up, then runs `op` for the measured time. */
export async function sample(op: Operation, options: RunOptions, hooks: SampleHooks = {}): Promise<Sample> {
  await phase(op, options, options.warmupSeconds, null);
  const latencies = new Float64Array(options.maxOps);
  await hooks.beforeMeasure?.();
  const { ops, seconds } = await phase(op, options, options.seconds, latencies);
  await hooks.afterMeasure?.();
  return { ops, seconds, latencies: latencies.slice(0, ops) };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Total ops over total time, and percentiles over every latency of every sample. */
export function summarize(samples: Sample[]): Measurement {
  const all = new Float64Array(samples.reduce((sum, s) => sum + s.ops, 0));
  let offset = 0;
  for (const s of samples) {
    all.set(s.latencies, offset);
    offset += s.ops;
  }
  all.sort();
  const rates = samples.map((s) => s.ops / s.seconds);
  return {
    opsPerSec: all.length / samples.reduce((sum, s) => sum + s.seconds, 0),
    minOpsPerSec: Math.min(...rates),
    maxOpsPerSec: Math.max(...rates),
    p50: percentile(all, 0.5),
    p99: percentile(all, 0.99),
  };
}

/** A table row of latencies in milliseconds: `label`, their count, p50, p99 and max (to 0.1 ms). */
export function latencyRow(label: string, latencies: number[]): string[] {
  const sorted = Float64Array.from(latencies).sort();
  const ms = (value: number) => value.toFixed(1);
  return [label, String(sorted.length), ms(percentile(sorted, 0.5)), ms(percentile(sorted, 0.99)), ms(sorted.at(-1)!)];
}

/** Formats rows as an aligned table (also valid Markdown); the first `textColumns` align left. */
export function formatTable(header: string[], rows: string[][], textColumns = 2): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const pad = (cell: string, i: number) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!));
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = widths.map((w, i) => (i < textColumns ? "-".repeat(w) : `${"-".repeat(w - 1)}:`));
  return [line(header), `| ${rule.join(" | ")} |`, ...rows.map(line)].join("\n");
}
