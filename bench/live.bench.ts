/**
 * Live queries on Postgres: commit-to-client delivery latency over SSE, write
 * throughput with many unrelated watches, the change feed's cost on mutations, and
 * memory per idle SSE subscriber. Optional naive baselines (re-run every watch on every
 * change; poll every watch each second).
 *
 *   npm run bench:live             (node --import tsx bench/live.bench.ts)
 *
 * Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * BENCH_SUBSCRIBERS (idle SSE streams for the memory figure, default 10000; each needs a
 * file descriptor in this process and in the server process: raise `ulimit -n` if needed),
 * BENCH_SECONDS (measured seconds per throughput sample, default 2), BENCH_BASELINES=0 to
 * skip the naive and polling baselines, BENCH_ONLY=throughput to run only the insert
 * throughput comparison (b, c), BENCH_CONCURRENCY (workers of b and c, default 8).
 * Creates the schemas bench_live, bench_live_local and bench_live_raw and drops them at the end.
 */
import { spawnSync } from "node:child_process";
import { Agent, request, type ClientRequest } from "node:http";
import pg from "pg";
import { syncSchema } from "../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import { generateId } from "../runtime/schema/ids.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { nextCreationTime } from "../runtime/store/creationTime.js";
import { blockWatchEvents } from "../test/support/transitionEvents.js";
import { formatTable, sample, summarize, type Operation, type RunOptions, type Sample } from "./harness.js";
import {
  DEFAULT_DATABASE_URL,
  LOCAL_SCHEMA,
  liveFunctions,
  liveSchema,
  POOL_SIZE,
  RAW_SCHEMA,
  type LiveMode,
  type ServerReply,
  type ServerStats,
} from "./liveApp.js";
import { postMutation } from "./postMutation.js";
import { forkServer, type ServerProcess } from "./serverProcess.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const QUERIES = 100;
const SUBSCRIBERS_PER_QUERY = 10;
const SEQUENTIAL_MUTATIONS = 200;
const CONCURRENT_MUTATIONS = 400;
const MUTATION_CONCURRENCY = 8;
const UNRELATED_WATCHES = 10_000;
const DELIVERY_TIMEOUT_MS = 5000;
const RUN: RunOptions = {
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 8),
  warmupSeconds: 0.5,
  seconds: Number(process.env.BENCH_SECONDS ?? 2),
  maxOps: 200_000,
};

const kb = (bytes: number) => bytes / 1024;
const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "–");

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function fdLimit(): number {
  const result = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" });
  const limit = Number(result.stdout.trim());
  return Number.isFinite(limit) ? limit : 1024;
}

// ---------------------------------------------------------------------------
// The server process

type ServerHandle = ServerProcess<ServerReply>;

const startServer = (mode: LiveMode): Promise<ServerHandle> =>
  forkServer<ServerReply>(new URL("./liveServer.ts", import.meta.url), [mode]);

// ---------------------------------------------------------------------------
// SSE clients: raw node:http streaming GETs, parsing the event stream text

interface Subscriber {
  userIndex: number;
  /** Resolves with the first result. */
  first: Promise<void>;
  close(): void;
}

function subscribe(
  port: number,
  userIndex: number,
  userId: string,
  onResult: (subscriber: Subscriber, value: string[], at: number) => void,
): Subscriber {
  let resolveFirst!: () => void;
  let rejectFirst!: (error: Error) => void;
  const subscriber: Subscriber = {
    userIndex,
    first: new Promise<void>((resolve, reject) => {
      resolveFirst = resolve;
      rejectFirst = reject;
    }),
    close: () => req.destroy(),
  };
  const query = new URLSearchParams({ path: "projects.byUser", args: JSON.stringify({ userId }) });
  const req: ClientRequest = request(
    { host: "127.0.0.1", port, path: `/api/subscribe?${query}`, agent: false },
    (response) => {
      if (response.statusCode !== 200) {
        rejectFirst(new Error(`GET /api/subscribe answered ${response.statusCode}`));
        response.resume();
        return;
      }
      response.setEncoding("utf8");
      let buffer = "";
      let seenFirst = false;
      response.on("data", (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const event of blockWatchEvents(block)) {
            if (event.type !== "result") continue;
            onResult(subscriber, event.data.value as string[], at);
            if (!seenFirst) {
              seenFirst = true;
              resolveFirst();
            }
          }
        }
      });
    },
  );
  req.on("error", (error) => rejectFirst(error));
  req.end();
  return subscriber;
}

// ---------------------------------------------------------------------------
// Mutations over HTTP

const mutationAgent = new Agent({ keepAlive: true, maxSockets: MUTATION_CONCURRENCY });

// ---------------------------------------------------------------------------
// Delivery latency

interface PendingMutation {
  userIndex: number;
  sentAt: number;
  respondedAt: number;
  /** When each subscriber of the user first saw the new project. */
  received: number[];
  delivered: Set<Subscriber>;
  done: () => void;
  allDelivered: Promise<void>;
}

interface DeliveryResult {
  mutations: number;
  expected: number;
  delivered: number;
  /** From the mutation's HTTP response (commit as the writer sees it), clamped at 0. */
  fromResponse: number[];
  /** From sending the mutation request. */
  fromSend: number[];
  /** Deliveries that arrived before the mutation's HTTP response did. */
  beforeResponse: number;
  stats: { runs: number; pushes: number; statements: number };
  seconds: number;
}

class DeliveryTracker {
  readonly pending = new Map<string, PendingMutation>();
  readonly subscribersPerUser: number[];

  constructor(users: number) {
    this.subscribersPerUser = new Array<number>(users).fill(0);
  }

  readonly onResult = (subscriber: Subscriber, value: string[], at: number): void => {
    for (const name of value) {
      const pending = this.pending.get(name);
      if (pending === undefined || pending.userIndex !== subscriber.userIndex || pending.delivered.has(subscriber))
        continue;
      pending.delivered.add(subscriber);
      pending.received.push(at);
      if (pending.delivered.size === this.subscribersPerUser[subscriber.userIndex]) pending.done();
    }
  };

  expect(name: string, userIndex: number): PendingMutation {
    let done!: () => void;
    const allDelivered = new Promise<void>((resolve) => (done = resolve));
    const pending: PendingMutation = {
      userIndex,
      sentAt: performance.now(),
      respondedAt: NaN,
      received: [],
      delivered: new Set(),
      done,
      allDelivered,
    };
    this.pending.set(name, pending);
    return pending;
  }
}

const withTimeout = (promise: Promise<void>, ms: number) =>
  Promise.race([promise, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);

async function runDeliveries(
  server: ServerHandle,
  tracker: DeliveryTracker,
  label: string,
  mutations: number,
  concurrency: number,
): Promise<DeliveryResult> {
  tracker.pending.clear();
  const before = await server.request("stats");
  const started = performance.now();
  const all: PendingMutation[] = [];
  let next = 0;
  const worker = async () => {
    while (next < mutations) {
      const k = next++;
      const userIndex = k % server.users.length;
      const name = `${label}-${k}`;
      const pending = tracker.expect(name, userIndex);
      all.push(pending);
      await postMutation(server.port, { name, userId: server.users[userIndex], createdAt: k }, mutationAgent);
      pending.respondedAt = performance.now();
      // One at a time: wait for every subscriber of the user before the next write.
      if (concurrency === 1) await withTimeout(pending.allDelivered, DELIVERY_TIMEOUT_MS);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await withTimeout(
    Promise.all(all.map((p) => p.allDelivered)).then(() => {}),
    DELIVERY_TIMEOUT_MS,
  );
  const seconds = (performance.now() - started) / 1000;
  // Let trailing re-runs finish before reading the counters.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const after = await server.request("stats");
  const fromResponse: number[] = [];
  const fromSend: number[] = [];
  let beforeResponse = 0;
  for (const pending of all) {
    for (const at of pending.received) {
      if (at < pending.respondedAt) beforeResponse++;
      fromResponse.push(Math.max(0, at - pending.respondedAt));
      fromSend.push(at - pending.sentAt);
    }
  }
  fromResponse.sort((a, b) => a - b);
  fromSend.sort((a, b) => a - b);
  return {
    mutations,
    expected: all.reduce((sum, p) => sum + tracker.subscribersPerUser[p.userIndex]!, 0),
    delivered: fromResponse.length,
    fromResponse,
    fromSend,
    beforeResponse,
    stats: {
      runs: after.runs - before.runs,
      pushes: after.pushes - before.pushes,
      statements: after.statements - before.statements,
    },
    seconds,
  };
}

function deliveryRow(name: string, r: DeliveryResult): string[] {
  const lat = r.fromResponse;
  return [
    name,
    String(r.mutations),
    `${r.delivered}/${r.expected}`,
    fmt(percentile(lat, 0.5), 2),
    fmt(percentile(lat, 0.99), 2),
    fmt(lat[lat.length - 1] ?? NaN, 2),
    fmt(percentile(r.fromSend, 0.5), 2),
    fmt(percentile(r.fromSend, 0.99), 2),
    String(r.beforeResponse),
    fmt(r.stats.runs / r.mutations, 1),
    fmt(r.stats.statements / r.mutations, 1),
  ];
}

const DELIVERY_HEADER = [
  "server / workload",
  "mutations",
  "delivered",
  "p50 ms",
  "p99 ms",
  "max ms",
  "p50 from send",
  "p99 from send",
  "before resp.",
  "query runs / mutation",
  "statements / mutation",
];

async function openSubscribers(
  server: ServerHandle,
  tracker: DeliveryTracker,
  count: number,
  into: Subscriber[],
): Promise<void> {
  const BATCH = 250;
  for (let start = 0; start < count; start += BATCH) {
    const batch: Subscriber[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const userIndex = (into.length + batch.length) % QUERIES;
      tracker.subscribersPerUser[userIndex]!++;
      batch.push(subscribe(server.port, userIndex, server.users[userIndex]!, tracker.onResult));
    }
    await Promise.all(batch.map((s) => s.first));
    into.push(...batch);
  }
}

async function memory(server: ServerHandle) {
  return server.request("memory");
}

/** Workloads a, d: the shipped engine in the server process. */
async function engineServer(idleSubscribers: number) {
  const server = await startServer("engine");
  const tracker = new DeliveryTracker(server.users.length);
  const subscribers: Subscriber[] = [];
  try {
    const m0 = await memory(server);
    await openSubscribers(server, tracker, QUERIES * SUBSCRIBERS_PER_QUERY, subscribers);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const m1 = await memory(server);
    // Warm-up (JIT, connections), not measured.
    await runDeliveries(server, tracker, "warm", 50, 1);
    const sequential = await runDeliveries(server, tracker, "seq", SEQUENTIAL_MUTATIONS, 1);
    const concurrent = await runDeliveries(server, tracker, "conc", CONCURRENT_MUTATIONS, MUTATION_CONCURRENCY);
    const m2 = await memory(server);
    const extra = Math.max(0, idleSubscribers - subscribers.length);
    const openStarted = performance.now();
    await openSubscribers(server, tracker, extra, subscribers);
    const openSeconds = (performance.now() - openStarted) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const m3 = await memory(server);
    // With every stream open, one more round of writes (10x the subscribers per query).
    const crowded = await runDeliveries(server, tracker, "crowd", 100, 1);
    return { sequential, concurrent, crowded, memory: { m0, m1, m2, m3 }, extra, openSeconds };
  } finally {
    for (const s of subscribers) s.close();
    await server.stop();
  }
}

/** Workload e: the naive baselines in the server process. */
async function baselineServer(mode: LiveMode, mutations: number) {
  const server = await startServer(mode);
  const tracker = new DeliveryTracker(server.users.length);
  const subscribers: Subscriber[] = [];
  try {
    await openSubscribers(server, tracker, QUERIES * SUBSCRIBERS_PER_QUERY, subscribers);
    await runDeliveries(server, tracker, "warm", mode === "poll" ? 3 : 20, 1);
    const idleBefore = await server.request("stats");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idleAfter = await server.request("stats");
    const result = await runDeliveries(server, tracker, "seq", mutations, 1);
    const idle = (key: keyof ServerStats) => (idleAfter[key] - idleBefore[key]) / 3;
    return { result, idleRunsPerSecond: idle("runs"), idleStatementsPerSecond: idle("statements") };
  } finally {
    for (const s of subscribers) s.close();
    await server.stop();
  }
}

// ---------------------------------------------------------------------------
// Workloads b, c: in process

const MUTATION_SETUP = (schema: string) =>
  `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SET LOCAL convoy.mutation = 'on'; LOCK TABLE "${schema}"."_mutation_lock" IN ROW SHARE MODE`;

async function inProcess() {
  const driver = createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: POOL_SIZE });
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: POOL_SIZE });
  pool.on("error", () => {});
  const engineErrors: unknown[] = [];
  let engine: LiveQueryEngine | null = null;
  try {
    await driver.exec(`DROP SCHEMA IF EXISTS "${LOCAL_SCHEMA}" CASCADE; DROP SCHEMA IF EXISTS "${RAW_SCHEMA}" CASCADE`);
    await syncSchema(driver, liveSchema, { schemaName: LOCAL_SCHEMA });
    const copy = (table: string) =>
      `CREATE TABLE "${RAW_SCHEMA}"."${table}" (LIKE "${LOCAL_SCHEMA}"."${table}" INCLUDING ALL)`;
    await driver.exec(`CREATE SCHEMA "${RAW_SCHEMA}"; ${copy("projects")}; ${copy("_mutation_lock")}`);
    const [{ triggers } = { triggers: 0 }] = await driver.query<{ triggers: number }>(
      `SELECT count(*)::int AS triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'projects' AND NOT t.tgisinternal`,
      [RAW_SCHEMA],
    );
    if (triggers !== 0) throw new Error(`${RAW_SCHEMA}.projects has triggers`);
    const runtime = new ConvoyRuntime({
      schema: liveSchema,
      functions: liveFunctions,
      driver,
      schemaName: LOCAL_SCHEMA,
    });
    const users: string[] = [];
    for (let i = 0; i < QUERIES; i++)
      users.push(await runtime.store.mutation((db) => db.insert("users", { name: `user ${i}`, createdAt: i })));
    let counter = 0;
    const args = (i: number) => ({ name: `project ${counter++}`, userId: users[i % users.length]!, createdAt: i });
    const convoyInsert: Operation = (i) => runtime.call("projects.create", args(i), { kind: "mutation" });
    const rawProjects = `"${RAW_SCHEMA}"."projects"`;
    const insertSql = `INSERT INTO ${rawProjects} (_id, _creation_time, doc) VALUES ($1::text, $2::float8, $3::jsonb)`;
    const rawRow = (i: number) => {
      const time = nextCreationTime();
      return [generateId("projects", time), time, JSON.stringify(args(i))];
    };
    const rawAuto: Operation = (i) => pool.query(insertSql, rawRow(i));
    const setup = MUTATION_SETUP(RAW_SCHEMA);
    // What Convoy's driver sends for a one-insert mutation: BEGIN, the setup, the insert and COMMIT in one message.
    const rawTx: Operation = (i) => driver.transaction(setup, async (tx) => tx.queue(insertSql, rawRow(i)));
    const samples = new Map<string, Sample[]>();
    const measure = async (name: string, op: Operation) => {
      const s = await sample(op, RUN);
      samples.set(name, [...(samples.get(name) ?? []), s]);
      await engine?.settled();
    };
    const OFF = "Convoy mutation, no engine (logged, NOTIFY after commit)";
    await measure(OFF, convoyInsert);
    engine = new LiveQueryEngine({ runtime, onError: (error) => engineErrors.push(error) });
    await engine.start();
    const NONE = "Convoy mutation, change feed on, 0 watches";
    const MANY = `Convoy mutation, change feed on, ${UNRELATED_WATCHES.toLocaleString("en-US")} unrelated watches`;
    const RAW_AUTO = "raw pg INSERT, autocommit, table without triggers";
    const RAW_TX = "the insert in Convoy's transaction, table without triggers";
    const SHARED = "Convoy mutation, change feed on, a second server listening";
    await measure(NONE, convoyInsert);
    await measure(RAW_AUTO, rawAuto);
    await measure(RAW_TX, rawTx);
    // 10,000 watches on users that get no projects: ids of users that do not exist.
    const watchStarted = performance.now();
    const stops: (() => void)[] = [];
    for (let i = 0; i < UNRELATED_WATCHES; i++) {
      const userId = generateId("users", Date.now() + i);
      stops.push(engine.watch("projects.byUser", { userId }, null, () => {}));
    }
    await engine.settled();
    const watchSeconds = (performance.now() - watchStarted) / 1000;
    const runsBefore = engine.stats().runs;
    await measure(MANY, convoyInsert);
    await measure(MANY, convoyInsert);
    const runsDuring = engine.stats().runs - runsBefore;
    const watchCount = engine.stats().watches;
    for (const stop of stops) stop();
    // A second server's engine on the database: mutations are logged and announced.
    const peerRuntime = new ConvoyRuntime({
      schema: liveSchema,
      functions: liveFunctions,
      driver,
      schemaName: LOCAL_SCHEMA,
    });
    const peer = new LiveQueryEngine({ runtime: peerRuntime, onError: (error) => engineErrors.push(error) });
    await peer.start();
    await measure(SHARED, convoyInsert);
    await peer.stop();
    await measure(RAW_TX, rawTx);
    await measure(RAW_AUTO, rawAuto);
    await measure(NONE, convoyInsert);
    const stopping = engine;
    engine = null;
    await stopping.stop();
    await measure(OFF, convoyInsert);
    const results = new Map([...samples].map(([name, s]) => [name, summarize(s)]));
    return {
      results,
      names: { OFF, NONE, MANY, SHARED, RAW_AUTO, RAW_TX },
      watchSeconds,
      runsDuring,
      watchCount,
      engineErrors,
    };
  } finally {
    await engine?.stop();
    await driver
      .exec(`DROP SCHEMA IF EXISTS "${LOCAL_SCHEMA}" CASCADE; DROP SCHEMA IF EXISTS "${RAW_SCHEMA}" CASCADE`)
      .catch(() => {});
    await pool.end();
    await driver.close();
  }
}

// ---------------------------------------------------------------------------

function printThroughput(bc: Awaited<ReturnType<typeof inProcess>>): void {
  const { results, names } = bc;
  const r = (name: string) => results.get(name)!;
  console.log(`\nInsert throughput in process, ${RUN.concurrency} workers, ${POOL_SIZE} connections`);
  console.log(
    formatTable(
      ["contender", "ops/s", "range ops/s", "p50 ms", "p99 ms", "÷ 0 watches", "÷ raw auto", "÷ raw tx"],
      [names.OFF, names.NONE, names.MANY, names.SHARED, names.RAW_AUTO, names.RAW_TX].map((name) => {
        const m = r(name);
        return [
          name,
          fmt(m.opsPerSec, 0),
          `${fmt(m.minOpsPerSec, 0)}–${fmt(m.maxOpsPerSec, 0)}`,
          fmt(m.p50, 2),
          fmt(m.p99, 2),
          fmt(m.opsPerSec / r(names.NONE).opsPerSec, 2),
          fmt(m.opsPerSec / r(names.RAW_AUTO).opsPerSec, 2),
          fmt(m.opsPerSec / r(names.RAW_TX).opsPerSec, 2),
        ];
      }),
      1,
    ),
  );
  console.log(
    `  ${bc.watchCount} watches started in ${fmt(bc.watchSeconds)} s; query re-runs while inserting: ${bc.runsDuring}; engine errors: ${bc.engineErrors.length}`,
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const limit = fdLimit();
  const wanted = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
  const idleSubscribers = Math.max(QUERIES * SUBSCRIBERS_PER_QUERY, Math.min(wanted, limit - 500));
  if (idleSubscribers < wanted)
    console.log(`ulimit -n is ${limit}: opening ${idleSubscribers} streams (raise it with \`ulimit -n 65535\`)`);
  const version = await (async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const { rows } = await client.query<{ version: string }>("SELECT version()");
    await client.end();
    return rows[0]!.version;
  })();
  console.log(`Convoy live-query bench: ${version.split(" on ")[0]}, node ${process.version}`);

  if (process.env.BENCH_ONLY === "throughput") {
    console.log("\n[b, c] in process: write throughput ...");
    printThroughput(await inProcess());
    console.log(`\nDone in ${fmt((performance.now() - started) / 1000, 0)} s.`);
    mutationAgent.destroy();
    return;
  }
  console.log("\n[a, d] engine server process: delivery latency and memory per subscriber ...");
  const a = await engineServer(idleSubscribers);
  console.log("\n[b, c] in process: write throughput ...");
  const bc = await inProcess();
  const baselines: { name: string; result: Awaited<ReturnType<typeof baselineServer>> }[] = [];
  if (process.env.BENCH_BASELINES !== "0") {
    console.log("\n[e] naive baselines ...");
    baselines.push({
      name: "naive: re-run all 100 queries on every commit",
      result: await baselineServer("naive", 100),
    });
    baselines.push({ name: "poll: re-run all 100 queries every 1 s", result: await baselineServer("poll", 20) });
  }

  console.log(
    `\nDelivery latency (ms): ${QUERIES * SUBSCRIBERS_PER_QUERY} SSE subscribers over ${QUERIES} queries, from the mutation's HTTP response to each subscriber of that user receiving the new result`,
  );
  const rows = [
    deliveryRow("engine, 1 mutation at a time", a.sequential),
    deliveryRow(`engine, ${MUTATION_CONCURRENCY} mutations in flight`, a.concurrent),
    deliveryRow(`engine, 1 at a time, ${a.extra + QUERIES * SUBSCRIBERS_PER_QUERY} streams open`, a.crowded),
    ...baselines.map(({ name, result }) => deliveryRow(name, result.result)),
  ];
  console.log(formatTable(DELIVERY_HEADER, rows, 1));
  for (const { name, result } of baselines)
    console.log(
      `  ${name}: with no writes, ${fmt(result.idleRunsPerSecond, 0)} query runs/s, ${fmt(result.idleStatementsPerSecond, 0)} statements/s`,
    );

  const { m0, m1, m2, m3 } = a.memory;
  const per = (after: number, before: number, n: number) => fmt(kb(after - before) / n, 2);
  console.log(`\nMemory of the server process (after gc), idle SSE streams each watching one of ${QUERIES} queries`);
  console.log(
    formatTable(
      ["point", "streams", "rss MB", "heapUsed MB", "external MB"],
      [
        ["started, no streams", m0],
        ["1,000 streams", m1],
        ["1,000 streams, after the writes", m2],
        ["all streams", m3],
      ].map(([name, m]) => {
        const x = m as typeof m0;
        return [
          name as string,
          String(x.streams),
          fmt(x.rss / 2 ** 20),
          fmt(x.heapUsed / 2 ** 20),
          fmt(x.external / 2 ** 20),
        ];
      }),
      1,
    ),
  );
  console.log(
    `  per subscriber, ${m2.streams} -> ${m3.streams} streams (opened in ${fmt(a.openSeconds)} s): rss ${per(m3.rss, m2.rss, m3.streams - m2.streams)} KB, heapUsed ${per(m3.heapUsed, m2.heapUsed, m3.streams - m2.streams)} KB, heap+external ${per(m3.heapUsed + m3.external, m2.heapUsed + m2.external, m3.streams - m2.streams)} KB`,
  );
  console.log(
    `  per subscriber, 0 -> ${m1.streams} streams (includes the ${QUERIES} watches): rss ${per(m1.rss, m0.rss, m1.streams)} KB, heapUsed ${per(m1.heapUsed, m0.heapUsed, m1.streams)} KB`,
  );

  printThroughput(bc);
  console.log(`\nDone in ${fmt((performance.now() - started) / 1000, 0)} s.`);
  mutationAgent.destroy();
}

await main();
