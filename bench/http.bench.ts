/**
 * Convoy's HTTP endpoints (native `/api` and tRPC) against a minimal express + pg app
 * running the same SQL, with and without Convoy's transaction statements.
 *
 *   npm run bench:http            (node --import tsx bench/http.bench.ts)
 *
 * The servers run in a child process (bench/httpServers.ts); this process is the load
 * generator: BENCH_CONNECTIONS keep-alive connections (default 16), each sending one
 * request after the other. Env: BENCH_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test), BENCH_ROUNDS (default 3), BENCH_SECONDS
 * (measured seconds per contender per round, default 1.5). Creates the Postgres schema
 * `bench_http` and drops it at the end.
 */
import { deepStrictEqual } from "node:assert/strict";
import { fork } from "node:child_process";
import { Agent, request as httpRequest } from "node:http";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { redactConnectionString } from "../runtime/drivers/postgres/postgresDriver.js";
import { cpuSince, machineBusyMicros, processCpuMicros } from "./cpu.js";
import {
  formatTable,
  sample,
  summarize,
  type Measurement,
  type Operation,
  type RunOptions,
  type Sample,
} from "./harness.js";
import {
  BASELINE_SCHEMA,
  DEFAULT_DATABASE_URL,
  POOL_SIZE,
  projectArgs,
  SCHEMA,
  TAKE,
  type Command,
  type ProjectArgs,
  type Reply,
  type ServerMode,
} from "./httpProtocol.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SEEDED_PROJECTS = 10_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RUN: RunOptions = {
  concurrency: CONNECTIONS,
  warmupSeconds: 0.5,
  seconds: Number(process.env.BENCH_SECONDS ?? 1.5),
  maxOps: 200_000,
};
/** A sample during which other programs used more than this share of the busy CPU time is run again... */
const MAX_OTHER_SHARE = 0.15;
/** ...at most this many times. */
const MAX_RERUNS = 2;
/** Postgres CPU is read from /proc, so only for a database on this machine. */
const LOCAL_DATABASE = ["127.0.0.1", "localhost", "[::1]"].includes(new URL(DATABASE_URL).hostname);

// ---------------------------------------------------------------------------------------------
// The server process

type Ready = Extract<Reply, { type: "ready" }>;

interface ServerProcess extends Ready {
  /** Sends a command and waits for its answer; resolves to the server process's CPU time in µs. */
  command(command: { type: "reset"; projects: number } | { type: "cpu" }): Promise<number>;
  stop(): Promise<void>;
}

async function startServers(mode: ServerMode): Promise<ServerProcess> {
  const execArgv = process.execArgv.some((arg) => arg.includes("tsx"))
    ? process.execArgv
    : [...process.execArgv, "--import", "tsx"];
  const child = fork(fileURLToPath(new URL("./httpServers.ts", import.meta.url)), [mode], { execArgv });
  const pending = new Map<number, { resolve: (cpuMicros: number) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<Ready>((resolve, reject) => {
    child.on("message", (raw: unknown) => {
      const reply = raw as Reply;
      if (reply.type === "ready") return resolve(reply);
      if (reply.type === "failed" && reply.id === null) return reject(new Error(`server process: ${reply.message}`));
      const waiter = reply.id === null ? undefined : pending.get(reply.id);
      if (reply.id !== null) pending.delete(reply.id);
      if (reply.type === "failed") waiter?.reject(new Error(`server process: ${reply.message}`));
      else waiter?.resolve(reply.cpuMicros);
    });
    child.once("exit", (code) => {
      const error = new Error(`The server process exited (code ${code})`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  return {
    ...(await ready),
    command: (command) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ ...command, id } satisfies Command);
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: "stop" } satisfies Command);
      const timeout = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The load generator's HTTP client: node:http with a keep-alive agent per contender.

interface HttpTarget {
  get(path: string): Promise<string>;
  post(path: string, body: string): Promise<string>;
  close(): void;
}

function httpTarget(port: number): HttpTarget {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const send = (method: string, path: string, body?: string) =>
    new Promise<string>((resolve, reject) => {
      const headers =
        body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
      const request = httpRequest({ host: "127.0.0.1", port, method, path, agent, headers }, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("error", reject);
        response.on("end", () => {
          if (response.statusCode === 200) resolve(text);
          else reject(new Error(`${method} ${path}: HTTP ${response.statusCode}: ${text.slice(0, 500)}`));
        });
      });
      request.on("error", reject);
      request.end(body);
    });
  return {
    get: (path) => send("GET", path),
    post: (path, body) => send("POST", path, body),
    close: () => agent.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------
// Contenders

interface Contender {
  name: string;
  /** `projects.create`; resolves to the response body. */
  mutate(args: ProjectArgs): Promise<string>;
  /** `projects.byUser`; resolves to the response body. */
  query(userId: string): Promise<string>;
  /** The function's return value in a response body. */
  value(body: string): unknown;
  close(): void;
}

const CONVOY = "Convoy /api (native)";
const TRPC = "Convoy /trpc";
const BASE_TX = "express+pg, Convoy's BEGIN/SET/COMMIT";
const BASE_AUTO = "express+pg, autocommit";

const nativeBody = (path: string, args: unknown) => JSON.stringify({ path, args });
const valueOf = (body: string) => (JSON.parse(body) as { value: unknown }).value;

/** Convoy's own endpoints, or the baseline's under `prefix`: same request and response bodies. */
function nativeContender(name: string, port: number, prefix: string): Contender {
  const http = httpTarget(port);
  return {
    name,
    mutate: (args) => http.post(`${prefix}/mutation`, nativeBody("projects.create", args)),
    query: (userId) => http.post(`${prefix}/query`, nativeBody("projects.byUser", { userId })),
    value: valueOf,
    close: () => http.close(),
  };
}

/** tRPC without batching: a mutation is a POST of the input, a query a GET with `?input=`. */
function trpcContender(name: string, port: number): Contender {
  const http = httpTarget(port);
  return {
    name,
    mutate: (args) => http.post("/trpc/projects.create", JSON.stringify(args)),
    query: (userId) => http.get(`/trpc/projects.byUser?input=${encodeURIComponent(JSON.stringify({ userId }))}`),
    value: (body) => (JSON.parse(body) as { result: { data: unknown } }).result.data,
    close: () => http.close(),
  };
}

/**
 * Fails unless every contender answers the same query with the same documents, and
 * each mutation writes the document it was sent.
 */
async function checkSameResults(contenders: Contender[], users: string[], probe: pg.Client | null): Promise<void> {
  for (const userId of users.slice(0, 3)) {
    const answers = await Promise.all(contenders.map(async (c) => JSON.stringify(c.value(await c.query(userId)))));
    if ((JSON.parse(answers[0]!) as unknown[]).length !== TAKE)
      throw new Error(`projects.byUser did not return ${TAKE} documents: ${answers[0]}`);
    answers.forEach((answer, k) => {
      if (answer !== answers[0])
        throw new Error(`${contenders[k]!.name} answers differently from ${contenders[0]!.name}:\n${answer}`);
    });
  }
  for (const [k, contender] of contenders.entries()) {
    const args = projectArgs(users, 1_000_000 + k);
    const id = contender.value(await contender.mutate(args));
    if (typeof id !== "string") throw new Error(`${contender.name}: projects.create returned ${String(id)}`);
    if (!probe) continue;
    const { rows } = await probe.query<{ doc: unknown }>(
      `SELECT doc FROM "${SCHEMA}"."projects" WHERE _id = $1 UNION ALL ` +
        `SELECT doc FROM "${BASELINE_SCHEMA}"."projects" WHERE _id = $1`,
      [id],
    );
    deepStrictEqual(rows[0]?.doc, args, `${contender.name}: projects.create wrote a different document`);
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/** CPU time used during measured phases, in µs. */
interface CpuTotals {
  ops: number;
  client: number;
  server: number;
  /** Null when Postgres is not on this machine (or in PGlite mode: it runs inside the server). */
  postgres: number | null;
  machine: number;
}

interface CpuSnapshot {
  client: number;
  server: number;
  postgres: Map<number, number> | null;
  machine: number;
}

async function snapshot(servers: ServerProcess, withPostgres: boolean): Promise<CpuSnapshot> {
  const client = process.cpuUsage();
  return {
    client: client.user + client.system,
    server: await servers.command({ type: "cpu" }),
    postgres: withPostgres ? processCpuMicros("postgres") : null,
    machine: machineBusyMicros(),
  };
}

interface Row extends Measurement {
  workload: string;
  contender: string;
  cpu: CpuTotals;
  /** Samples run again because other programs disturbed them. */
  reruns: number;
}

/** CPU time used outside the three measured processes: other programs on the machine. */
const otherCpu = (cpu: CpuTotals) => cpu.machine - cpu.client - cpu.server - (cpu.postgres ?? 0);

/** Runs one sample of `op` and the CPU time each process used during its measured phase. */
async function measure(op: Operation, servers: ServerProcess, withPostgres: boolean) {
  let start: CpuSnapshot | undefined;
  const cpu: CpuTotals = { ops: 0, client: 0, server: 0, postgres: withPostgres ? 0 : null, machine: 0 };
  const result = await sample(op, RUN, {
    beforeMeasure: async () => (start = await snapshot(servers, withPostgres)),
    afterMeasure: async () => {
      const end = await snapshot(servers, withPostgres);
      cpu.client = end.client - start!.client;
      cpu.server = end.server - start!.server;
      if (withPostgres) cpu.postgres = cpuSince(start!.postgres!, end.postgres!);
      cpu.machine = end.machine - start!.machine;
    },
  });
  cpu.ops = result.ops;
  return { result, cpu };
}

/**
 * Runs every contender ROUNDS times, rotating their order each round so drift on a
 * shared machine (checkpoints, other processes) does not favour one of them. A sample
 * during which other programs used more than MAX_OTHER_SHARE of the machine's busy CPU
 * time is run again (at most MAX_RERUNS times).
 */
async function runWorkload(
  workload: string,
  contenders: Contender[],
  operation: (contender: Contender) => Operation,
  servers: ServerProcess,
  before?: () => Promise<unknown>,
): Promise<Row[]> {
  const withPostgres = LOCAL_DATABASE && servers.baselinePort !== null;
  const samples = contenders.map((): Sample[] => []);
  const totals = contenders.map((): CpuTotals => ({
    ops: 0,
    client: 0,
    server: 0,
    postgres: withPostgres ? 0 : null,
    machine: 0,
  }));
  const reruns = contenders.map(() => 0);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (k + round) % contenders.length;
      for (let attempt = 0; ; attempt++) {
        await before?.();
        const { result, cpu } = await measure(operation(contenders[index]!), servers, withPostgres);
        if (otherCpu(cpu) > MAX_OTHER_SHARE * cpu.machine && attempt < MAX_RERUNS) {
          reruns[index]!++;
          continue;
        }
        const sum = totals[index]!;
        sum.ops += cpu.ops;
        sum.client += cpu.client;
        sum.server += cpu.server;
        if (sum.postgres !== null) sum.postgres += cpu.postgres!;
        sum.machine += cpu.machine;
        samples[index]!.push(result);
        break;
      }
    }
  }
  const rows = contenders.map((contender, i) => ({
    workload,
    contender: contender.name,
    cpu: totals[i]!,
    reruns: reruns[i]!,
    ...summarize(samples[i]!),
  }));
  for (const row of rows) {
    const rerun = row.reruns ? ` (${row.reruns} disturbed sample(s) run again)` : "";
    console.log(`  ${workload}: ${row.contender}: ${Math.round(row.opsPerSec)} req/s${rerun}`);
  }
  return rows;
}

/** Both workloads on one server process: inserts into an emptied table, then take(20) out of 10,000. */
async function runBoth(servers: ServerProcess, contenders: Contender[], prefix: string, probe: pg.Client | null) {
  const { users } = servers;
  await servers.command({ type: "reset", projects: SEEDED_PROJECTS });
  await checkSameResults(contenders, users, probe);
  const mutations = await runWorkload(
    `${prefix}mutation insert`,
    contenders,
    (c) => (i) => c.mutate(projectArgs(users, i)),
    servers,
    () => servers.command({ type: "reset", projects: 0 }),
  );
  await servers.command({ type: "reset", projects: SEEDED_PROJECTS });
  const queries = await runWorkload(
    `${prefix}query take(20)`,
    contenders,
    (c) => (i) => c.query(users[i % users.length]!),
    servers,
  );
  return [...mutations, ...queries];
}

async function benchPostgres(probe: pg.Client): Promise<Row[]> {
  const servers = await startServers("postgres");
  const triggersOn = async (schemaName: string) => {
    const { rows } = await probe.query<{ tgname: string }>(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY 1`,
      [`"${schemaName}"."projects"`],
    );
    return rows.map((row) => row.tgname).join(", ") || "none";
  };
  console.log(`  Convoy's mutation transaction: BEGIN; ${servers.setups?.mutation}`);
  console.log(`  Convoy's query transaction: BEGIN; ${servers.setups?.query}`);
  console.log(
    `  The baseline sends them on "${BASELINE_SCHEMA}"."projects" (triggers: ${await triggersOn(BASELINE_SCHEMA)}); ` +
      `Convoy's "${SCHEMA}"."projects" has triggers: ${await triggersOn(SCHEMA)}`,
  );
  const contenders = [
    nativeContender(CONVOY, servers.convoyPort, "/api"),
    trpcContender(TRPC, servers.convoyPort),
    nativeContender(BASE_TX, servers.baselinePort!, "/tx"),
    nativeContender(BASE_AUTO, servers.baselinePort!, "/auto"),
  ];
  try {
    return await runBoth(servers, contenders, "", probe);
  } finally {
    for (const contender of contenders) contender.close();
    await servers.stop();
  }
}

async function benchPglite(): Promise<Row[]> {
  const servers = await startServers("pglite");
  const contenders = [
    nativeContender(`${CONVOY} on PGlite`, servers.convoyPort, "/api"),
    trpcContender(`${TRPC} on PGlite`, servers.convoyPort),
  ];
  try {
    return await runBoth(servers, contenders, "PGlite ", null);
  } finally {
    for (const contender of contenders) contender.close();
    await servers.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function report(rows: Row[]): string {
  const opsPerSec = (workload: string, name: string) =>
    rows.find((row) => row.workload === workload && row.contender === name)?.opsPerSec;
  const ratio = (value: number, baseline: number | undefined) => (baseline ? (value / baseline).toFixed(2) : "");
  return formatTable(
    ["workload", "contender", "req/s", "range req/s", "p50 ms", "p99 ms", "÷ express+pg tx", "÷ express+pg auto"],
    rows.map((row) => [
      row.workload,
      row.contender,
      Math.round(row.opsPerSec).toString(),
      `${Math.round(row.minOpsPerSec)}–${Math.round(row.maxOpsPerSec)}`,
      row.p50.toFixed(2),
      row.p99.toFixed(2),
      ratio(row.opsPerSec, opsPerSec(row.workload, BASE_TX)),
      ratio(row.opsPerSec, opsPerSec(row.workload, BASE_AUTO)),
    ]),
  );
}

function cpuReport(rows: Row[]): string {
  const perRequest = (micros: number, ops: number) => Math.round(micros / ops).toString();
  return formatTable(
    ["workload", "contender", "load generator", "server", "Postgres", "other", "machine total"],
    rows.map(({ workload, contender, cpu }) => {
      const other = otherCpu(cpu);
      return [
        workload,
        contender,
        perRequest(cpu.client, cpu.ops),
        perRequest(cpu.server, cpu.ops),
        cpu.postgres === null ? "–" : perRequest(cpu.postgres, cpu.ops),
        perRequest(other, cpu.ops),
        perRequest(cpu.machine, cpu.ops),
      ];
    }),
  );
}

async function main(): Promise<void> {
  const probe = new pg.Client({ connectionString: DATABASE_URL });
  // A dropped connection fails the next probe query instead of crashing the process.
  probe.on("error", () => {});
  await probe.connect();
  try {
    const { rows } = await probe.query<{ server_version: string }>("SHOW server_version");
    console.log(
      `Convoy HTTP bench: ${redactConnectionString(DATABASE_URL)} (Postgres ${rows[0]?.server_version}), ` +
        `node ${process.version}, ${availableParallelism()} CPUs, ${CONNECTIONS} keep-alive connections, ` +
        `pools of ${POOL_SIZE}, ${ROUNDS} rounds of ${RUN.warmupSeconds} s warm-up + ${RUN.seconds} s measured ` +
        `per contender`,
    );
    const results = [...(await benchPostgres(probe)), ...(await benchPglite())];
    console.log(`\n${report(results)}\n`);
    console.log("req/s: all rounds together; range: slowest and fastest round; p50/p99: per-request latency.");
    console.log("÷ express+pg tx / auto: req/s divided by that baseline's req/s (1.00 = as fast, 0.50 = half).");
    console.log(`PGlite rows: Convoy on in-memory PGlite; no baseline. Same ${CONNECTIONS} connections.\n`);
    console.log("CPU time per request, µs, during the measured phases:\n");
    console.log(`${cpuReport(results)}\n`);
    console.log(
      "load generator: this process; server: the server process (Node + PGlite in PGlite rows); " +
        "Postgres: all local postgres processes (/proc); other: rest of the machine's busy time.",
    );
    const machine = results.reduce((sum, row) => sum + row.cpu.machine, 0);
    const other = results.reduce((sum, row) => sum + otherCpu(row.cpu), 0);
    const reruns = results.reduce((sum, row) => sum + row.reruns, 0);
    console.log(
      `"other" was ${Math.round((100 * other) / machine)} % of the machine's busy time in the kept samples; ` +
        `${reruns} sample(s) were run again because other programs used more than ` +
        `${100 * MAX_OTHER_SHARE} % of it.`,
    );
    if (other > MAX_OTHER_SHARE * machine) {
      console.log("WARNING: other programs used the CPU during this run; its figures are disturbed. Run it again.");
    }
  } finally {
    await probe.end().catch(() => {});
    await dropSchemas();
  }
}

/** Drops the bench's schemas on a fresh connection (the server process normally has already). */
async function dropSchemas(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE; DROP SCHEMA IF EXISTS "${BASELINE_SCHEMA}" CASCADE`);
  } catch (error) {
    console.error(`Could not drop the schemas ${SCHEMA} and ${BASELINE_SCHEMA}:`, error);
  } finally {
    await client.end().catch(() => {});
  }
}

await main();
