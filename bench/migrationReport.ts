/** The migration tables of `bench/relational.bench.ts`. */
import { formatTable } from "./harness.js";
import type { LockWait } from "./lockSampler.js";
import type { OpRecord } from "./migrationLoad.js";
import type { MigrationRun } from "./migrationRun.js";

const STEPS = ["check", "expand", "backfill", "validate", "index", "switch", "contract"];

function stepSeconds(run: MigrationRun, step: string): number {
  const time = run.steps.find((s) => s.step === step);
  return time ? (time.end - time.start) / 1000 : NaN;
}

/** Backfill rows/s: rows filled over the backfill step's time. */
export function backfillRate(run: MigrationRun): number {
  return run.backfilled / stepSeconds(run, "backfill");
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Mutations that started in [from, to): rate, latency percentiles, the slowest. */
export function windowStats(ops: readonly OpRecord[], from: number, to: number) {
  const inside = ops.filter((op) => op.start >= from && op.start < to);
  const latencies = inside.map((op) => op.end - op.start).sort((a, b) => a - b);
  return {
    seconds: (to - from) / 1000,
    ops: inside.length,
    failed: inside.filter((op) => op.failed).length,
    opsPerSec: inside.length / ((to - from) / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? NaN,
  };
}

const describeWait = (wait: LockWait | undefined) =>
  wait === undefined
    ? "none seen"
    : `${wait.waitedMs.toFixed(0)} ms, ${wait.mode} on ${wait.relation ?? wait.locktype}, by: ${wait.query.replace(/\s+/g, " ").slice(0, 110)}`;

export function migrationReport(
  runs: readonly MigrationRun[],
  loaded: MigrationRun,
  freshRelationalBytes: number | null,
) {
  const sweep = formatTable(
    [
      "batch size",
      "load",
      "rows",
      "backfill s",
      "rows/s",
      "backend CPU s",
      "rows/CPU s",
      "ms/batch",
      "migrate() s",
      ...STEPS.map((step) => `${step} s`),
    ],
    [...runs, loaded].map((run) => [
      String(run.batchSize),
      run.load ? "mutations" : "none",
      String(run.backfilled),
      stepSeconds(run, "backfill").toFixed(2),
      backfillRate(run).toFixed(0),
      run.backfillCpu === null ? "n/a" : run.backfillCpu.toFixed(2),
      run.backfillCpu === null ? "n/a" : (run.backfilled / run.backfillCpu).toFixed(0),
      ((stepSeconds(run, "backfill") * 1000) / Math.ceil(run.backfilled / run.batchSize)).toFixed(0),
      ((run.end - run.start) / 1000).toFixed(2),
      ...STEPS.map((step) => stepSeconds(run, step).toFixed(2)),
    ]),
  );

  const load = loaded.load!;
  const before = windowStats(load.ops, load.loadStart + 1000, loaded.start);
  const windows: [string, ReturnType<typeof windowStats>][] = [
    ["before the migration", before],
    ["during migrate()", windowStats(load.ops, loaded.start, loaded.end)],
    ...loaded.steps.map((step): [string, ReturnType<typeof windowStats>] => [
      `  during ${step.step}`,
      windowStats(load.ops, step.start, step.end),
    ]),
    ["after the migration", windowStats(load.ops, loaded.end, Math.max(...load.ops.map((op) => op.start)) + 1e-3)],
  ];
  const traffic = formatTable(
    ["window", "s", "mutations", "ops/s", "÷ before", "p50 ms", "p99 ms", "max ms"],
    windows.map(([name, stats]) => [
      name,
      stats.seconds.toFixed(2),
      String(stats.ops),
      stats.opsPerSec.toFixed(0),
      (stats.opsPerSec / before.opsPerSec).toFixed(2),
      stats.p50.toFixed(2),
      stats.p99.toFixed(2),
      stats.max.toFixed(1),
    ]),
    1,
  );
  const app = loaded.appWaits;
  return [
    "Backfill (migrate() of the 100,000-document JSONB table; a fresh table each run):",
    sweep,
    "",
    `Mutations during the migration (batch size ${loaded.batchSize}; half inserts, half patches of the migrating table):`,
    traffic,
    "",
    `Longest lock wait of a mutation (pg_locks every 20 ms, ${loaded.lockSamples} samples): ${describeWait(app[0])}`,
    ...app.slice(1).map((wait) => `  next: ${describeWait(wait)}`),
    `Longest lock wait of migrate(): ${describeWait(loaded.migratorWaits[0])}`,
    `Size after the migration under load (the dropped doc column's space is not given back): ${(loaded.bytesAfter / 1024 / 1024).toFixed(1)} MB` +
      (freshRelationalBytes
        ? `, ${(loaded.bytesAfter / freshRelationalBytes).toFixed(2)}x the freshly loaded relational table`
        : ""),
  ].join("\n");
}

/** One target of the issue, its figure and whether this run met it. */
export type TargetRow = [target: string, figure: string, met: string];

/** The migration's targets: backfill rate, mutations during ÷ before, the longest lock wait. */
export function migrationTargets(runs: readonly MigrationRun[], loaded: MigrationRun): TargetRow[] {
  const load = loaded.load!;
  const before = windowStats(load.ops, load.loadStart + 1000, loaded.start);
  const during = windowStats(load.ops, loaded.start, loaded.end);
  const atDefault = runs.find((run) => run.batchSize === 2000) ?? runs[0];
  const best = Math.max(...runs.map(backfillRate));
  const longestWait = loaded.appWaits[0]?.waitedMs ?? 0;
  const yes = (ok: boolean) => (ok ? "yes" : "no");
  return [
    [
      "backfill >= 20,000 rows/s",
      `${atDefault ? backfillRate(atDefault).toFixed(0) : "?"} rows/s at batch 2000 (best of the sweep ${best.toFixed(0)})`,
      yes((atDefault ? backfillRate(atDefault) : best) >= 20_000),
    ],
    [
      "mutations during migrate() >= 0.5x before",
      `${(during.opsPerSec / before.opsPerSec).toFixed(2)}x (${during.opsPerSec.toFixed(0)} / ${before.opsPerSec.toFixed(0)} ops/s)`,
      yes(during.opsPerSec / before.opsPerSec >= 0.5),
    ],
    [
      "p50 / p99 latency before -> during",
      `${before.p50.toFixed(1)} / ${before.p99.toFixed(1)} ms -> ${during.p50.toFixed(1)} / ${during.p99.toFixed(1)} ms`,
      "stated",
    ],
    [
      "no lock wait over 1 s",
      `longest seen ${longestWait.toFixed(0)} ms; slowest mutation ${during.max.toFixed(0)} ms`,
      yes(longestWait < 1000 && during.max < 1000),
    ],
  ];
}
