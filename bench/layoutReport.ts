/** The layout comparison's tables and targets, for `bench/relational.bench.ts`. */
import { formatTable } from "./harness.js";
import type { InsertResult } from "./insertComparison.js";
import { JSONB, LAYOUTS, RELATIONAL, type compareLayouts, type Layout, type Pair } from "./layoutComparison.js";
import type { TargetRow } from "./migrationReport.js";

const LABEL: Record<Layout, string> = { [JSONB]: "JSONB", [RELATIONAL]: "relational" };
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
type Comparison = Awaited<ReturnType<typeof compareLayouts>>;

/** The summary (ratios side by side), then each workload's throughput, latency and CPU. */
export function compareReport(result: Comparison): string {
  const detail = formatTable(
    ["workload", "layout", "ops/s", "range ops/s", "p50 ms", "p99 ms", "client CPU µs/op", "Postgres CPU µs/op"],
    result.pairs.flatMap((pair) =>
      LAYOUTS.map((layout) => {
        const m = pair.results[layout];
        const cpu = pair.cpu?.[layout];
        return [
          pair.workload,
          LABEL[layout],
          m.opsPerSec.toFixed(1),
          `${m.minOpsPerSec.toFixed(1)}–${m.maxOpsPerSec.toFixed(1)}`,
          m.p50.toFixed(2),
          m.p99.toFixed(2),
          cpu ? cpu.client.toFixed(0) : "",
          cpu?.server == null ? "" : cpu.server.toFixed(0),
        ];
      }),
    ),
  );
  const { sizes: s } = result;
  const sizeRows = (["total", "table", "indexes"] as const).map((part) => [
    `size: ${part === "total" ? "table + indexes" : part === "table" ? "table (heap + TOAST)" : "indexes"} MB`,
    mb(s[JSONB][part]),
    mb(s[RELATIONAL][part]),
    (s[RELATIONAL][part] / s[JSONB][part]).toFixed(2),
  ]);
  const indexRows = s[JSONB].perIndex.map((index, i) => {
    const other = s[RELATIONAL].perIndex[i]!;
    return [`  index ${index.name} MB`, mb(index.bytes), mb(other.bytes), (other.bytes / index.bytes).toFixed(2)];
  });
  const ratio = (pair: Pair) => (pair.results[RELATIONAL].opsPerSec / pair.results[JSONB].opsPerSec).toFixed(2);
  const summary = formatTable(
    ["figure", "JSONB", "relational", "relational ÷ JSONB"],
    [
      ...result.pairs.map((pair) => [
        `${pair.workload}, ${pair.unit}`,
        pair.results[JSONB].opsPerSec.toFixed(1),
        pair.results[RELATIONAL].opsPerSec.toFixed(1),
        ratio(pair),
      ]),
      ...result.pairs.flatMap((pair) => {
        const cpu = pair.cpu;
        if (cpu === null || cpu[JSONB].server === null || cpu[RELATIONAL].server === null) return [];
        const total = (layout: Layout) => cpu[layout].client + cpu[layout].server!;
        return [
          [
            `${pair.workload}, CPU µs/op (client + Postgres)`,
            total(JSONB).toFixed(0),
            total(RELATIONAL).toFixed(0),
            (total(RELATIONAL) / total(JSONB)).toFixed(2),
          ],
        ];
      }),
      ...sizeRows,
      ...indexRows,
    ],
    1,
  );
  return `${summary}\n\n${detail}`;
}

/** The insert comparison: each contender's rate, its paired ratio to JSONB, latency and CPU. */
export function insertReport(results: readonly InsertResult[]): string {
  return formatTable(
    [
      "ctx.db insert into",
      "mutations/s",
      "range per sample",
      "÷ JSONB, median of rounds",
      "÷ JSONB, range",
      "p50 ms",
      "p99 ms",
      "Postgres CPU µs/op",
      "client CPU µs/op",
    ],
    results.map((result) => {
      const m = result.measurement;
      return [
        result.name,
        m.opsPerSec.toFixed(0),
        `${m.minOpsPerSec.toFixed(0)}–${m.maxOpsPerSec.toFixed(0)}`,
        result.medianRatio.toFixed(3),
        `${result.ratioRange[0].toFixed(2)}–${result.ratioRange[1].toFixed(2)}`,
        m.p50.toFixed(2),
        m.p99.toFixed(2),
        result.postgresMicros === null ? "" : result.postgresMicros.toFixed(0),
        result.clientMicros.toFixed(0),
      ];
    }),
    1,
  );
}

/** The comparison's targets and whether this run met them. */
export function compareTargets(result: Comparison | null, inserts: readonly InsertResult[]): TargetRow[] {
  const yes = (ok: boolean) => (ok ? "yes" : "no");
  const layoutRows = (): TargetRow[] => {
    const [aggregate, reads] = result!.pairs as [Pair, Pair];
    const ratio = (pair: Pair) => pair.results[RELATIONAL].opsPerSec / pair.results[JSONB].opsPerSec;
    const size = result!.sizes[RELATIONAL].total / result!.sizes[JSONB].total;
    return [
      ["SQL report >= 3x faster on relational", `${ratio(aggregate).toFixed(2)}x`, yes(ratio(aggregate) >= 3)],
      ["ctx.db range read >= 1.0x", `${ratio(reads).toFixed(2)}x`, yes(ratio(reads) >= 1)],
      ["table + indexes <= 0.9x", `${size.toFixed(2)}x`, yes(size <= 0.9)],
    ];
  };
  return [
    ...(result ? layoutRows() : []),
    ...inserts
      .filter((insert) => insert.name !== "JSONB")
      .map((insert): TargetRow => {
        const keyed = insert.name === "relational";
        return [
          keyed ? "ctx.db insert, with its foreign key (stated)" : "ctx.db insert >= 1.0x (no foreign key, like JSONB)",
          `${insert.medianRatio.toFixed(2)}x`,
          keyed ? "stated" : yes(insert.medianRatio >= 1),
        ];
      }),
  ];
}
