/**
 * Soak: 1,000 SSE subscribers on one Convoy server process and a steady stream of
 * mutations for 10 minutes. Checks that every change reaches every subscriber that
 * watches it and that each subscriber ends on exactly what a fresh query returns;
 * samples the server's memory (after a full GC) every 30 s to show it stays flat;
 * reports delivery latency (p50, p99) per sample window and overall.
 *
 *   npm run bench:soak                      (node --import tsx bench/soak.ts; 10 minutes)
 *   npm run bench:soak -- --minutes 1
 *
 * Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), SOAK_MINUTES
 * (default 10; --minutes wins), SOAK_SUBSCRIBERS (1000), SOAK_USERS (100: each user's
 * project list is watched by SUBSCRIBERS / USERS streams), SOAK_RATE (mutations per
 * second, 20), SOAK_SAMPLE_SECONDS (30). Creates the schema bench_soak and drops it at
 * the end. Exits 1 when a change was not delivered, a subscriber ended stale, a stream
 * broke or a mutation failed.
 */
import { Agent, request } from "node:http";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import { blockWatchEvents } from "../test/support/transitionEvents.js";
import { DEFAULT_DATABASE_URL } from "./liveApp.js";
import type { SoakReply, SoakSample } from "./soakServer.js";
import { postMutation } from "./postMutation.js";
import { forkServer, type ServerProcess } from "./serverProcess.js";

const { values } = parseArgs({ options: { minutes: { type: "string" } } });
const MINUTES = Number(values.minutes ?? process.env.SOAK_MINUTES ?? 10);
const SUBSCRIBERS = Number(process.env.SOAK_SUBSCRIBERS ?? 1000);
const USERS = Number(process.env.SOAK_USERS ?? 100);
const RATE = Number(process.env.SOAK_RATE ?? 20);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 30);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const SETTLE_MS = 30_000;

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

// ---------------------------------------------------------------------------
// The server process

const startServer = (): Promise<ServerProcess<SoakReply>> =>
  forkServer<SoakReply>(new URL("./soakServer.ts", import.meta.url), [String(USERS)]);

// ---------------------------------------------------------------------------
// Subscribers: raw streaming GETs, each watching one user's project names

interface Subscriber {
  userIndex: number;
  seen: Set<string>;
  latest: string[];
  first: Promise<void>;
  close(): void;
}

let brokenStreams = 0;
let closing = false;

function subscribe(
  port: number,
  userIndex: number,
  userId: string,
  onNew: (name: string, userIndex: number, at: number) => void,
): Subscriber {
  let resolveFirst!: () => void;
  let rejectFirst!: (error: Error) => void;
  const query = new URLSearchParams({ path: "projects.byUser", args: JSON.stringify({ userId }) });
  const req = request({ host: "127.0.0.1", port, path: `/api/subscribe?${query}`, agent: false });
  const subscriber: Subscriber = {
    userIndex,
    seen: new Set(),
    latest: [],
    first: new Promise((resolve, reject) => {
      resolveFirst = resolve;
      rejectFirst = reject;
    }),
    close: () => req.destroy(),
  };
  const broke = () => {
    if (!closing) brokenStreams++;
  };
  req.on("response", (response) => {
    if (response.statusCode !== 200) {
      rejectFirst(new Error(`GET /api/subscribe answered ${response.statusCode}`));
      return;
    }
    response.setEncoding("utf8");
    let buffer = "";
    response.on("data", (chunk: string) => {
      const at = performance.now();
      buffer += chunk;
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const event of blockWatchEvents(block)) {
          if (event.type !== "result") continue;
          const value = event.data.value as string[];
          subscriber.latest = value;
          for (const name of value) {
            if (subscriber.seen.has(name)) continue;
            subscriber.seen.add(name);
            onNew(name, userIndex, at);
          }
          resolveFirst();
        }
      }
    });
    response.on("end", broke);
    response.on("error", broke);
  });
  req.on("error", (error) => {
    rejectFirst(error);
    broke();
  });
  req.end();
  return subscriber;
}

// ---------------------------------------------------------------------------
// Mutations and delivery tracking

interface Mutation {
  userIndex: number;
  sentAt: number;
  respondedAt: number | undefined;
  /** When each subscriber of the user first saw it. */
  arrivals: number[];
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

async function freshQuery(port: number, userId: string): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${port}/api/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: "projects.byUser", args: { userId } }),
  });
  return ((await response.json()) as { value: string[] }).value;
}

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return ((await client.query<{ version: string }>("SELECT version()")).rows[0]?.version ?? "?").split(" on ")[0]!;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------

interface Row {
  at: string;
  sample: SoakSample;
  mutations: number;
  delivered: number;
  p50: number;
  p99: number;
}

async function main(): Promise<number> {
  const durationMs = MINUTES * 60_000;
  console.log(
    `Soak: ${SUBSCRIBERS} SSE subscribers (${USERS} users, ${SUBSCRIBERS / USERS} per user), ${RATE} mutations/s for ${MINUTES} min; ` +
      `node ${process.version}, ${cpus().length} CPUs, ${mb(totalmem())} MB RAM, ${await postgresVersion()}`,
  );
  const server = await startServer();
  const mutations = new Map<string, Mutation>();
  let delivered = 0;
  let windowLatencies: number[] = [];
  const onNew = (name: string, userIndex: number, at: number) => {
    const mutation = mutations.get(name);
    if (mutation === undefined || mutation.userIndex !== userIndex) return;
    mutation.arrivals.push(at);
    windowLatencies.push(at - mutation.sentAt);
    delivered++;
  };

  const subscribers: Subscriber[] = [];
  const perUser = new Array<number>(USERS).fill(0);
  const opened = performance.now();
  for (let start = 0; start < SUBSCRIBERS; start += 100) {
    const batch: Subscriber[] = [];
    for (let i = start; i < Math.min(SUBSCRIBERS, start + 100); i++) {
      perUser[i % USERS]!++;
      batch.push(subscribe(server.port, i % USERS, server.users[i % USERS]!, onNew));
    }
    await Promise.all(batch.map((subscriber) => subscriber.first));
    subscribers.push(...batch);
  }
  console.log(`${subscribers.length} streams open in ${((performance.now() - opened) / 1000).toFixed(1)} s\n`);

  const rows: Row[] = [];
  const started = performance.now();
  let sent = 0;
  let failed = 0;
  const record = async () => {
    const sample = await server.request("sample");
    const at = `${((performance.now() - started) / 60_000).toFixed(1)} min`;
    const row = {
      at,
      sample,
      mutations: sent,
      delivered,
      p50: percentile(windowLatencies, 0.5),
      p99: percentile(windowLatencies, 0.99),
    };
    windowLatencies = [];
    rows.push(row);
    console.log(
      `${at.padStart(8)}  rss ${mb(sample.rss).padStart(6)} MB  heapUsed ${mb(sample.heapUsed).padStart(6)} MB  ` +
        `streams ${sample.streams}  mutations ${row.mutations}  delivered ${row.delivered}  ` +
        `window p50 ${row.p50.toFixed(1)} ms p99 ${row.p99.toFixed(1)} ms`,
    );
  };
  await record();
  const sampler = setInterval(() => void record(), SAMPLE_SECONDS * 1000);

  // A steady stream: one mutation every 1000 / RATE ms, whatever the answers' pace.
  const outstanding = new Set<Promise<void>>();
  const interval = 1000 / RATE;
  let next = performance.now();
  while (performance.now() - started < durationMs) {
    const n = sent++;
    const name = `s${n}`;
    const userIndex = n % USERS;
    const mutation: Mutation = { userIndex, sentAt: performance.now(), respondedAt: undefined, arrivals: [] };
    mutations.set(name, mutation);
    const done = postMutation(server.port, { name, userId: server.users[userIndex], createdAt: n }, agent).then(
      () => {
        mutation.respondedAt = performance.now();
      },
      (error: Error) => {
        failed++;
        mutations.delete(name);
        console.error(error.message);
      },
    );
    outstanding.add(done);
    void done.finally(() => outstanding.delete(done));
    next += interval;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
  await Promise.all(outstanding);
  const expected = [...mutations.values()].reduce((sum, m) => sum + perUser[m.userIndex]!, 0);
  const settleStarted = performance.now();
  while (delivered < expected && performance.now() - settleStarted < SETTLE_MS) await sleep(100);
  clearInterval(sampler);
  await record();

  // Every subscriber must hold exactly what a fresh run of its query returns.
  let stale = 0;
  for (let userIndex = 0; userIndex < USERS; userIndex++) {
    const fresh = JSON.stringify(await freshQuery(server.port, server.users[userIndex]!));
    for (const subscriber of subscribers) {
      if (subscriber.userIndex === userIndex && JSON.stringify(subscriber.latest) !== fresh) stale++;
    }
  }
  closing = true;
  for (const subscriber of subscribers) subscriber.close();
  agent.destroy();
  await server.stop();

  const all = [...mutations.values()];
  const fromSend = all.flatMap((m) => m.arrivals.map((at) => at - m.sentAt));
  const fromResponse = all.flatMap((m) => m.arrivals.map((at) => Math.max(0, at - (m.respondedAt ?? at))));
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const peak = (key: "rss" | "heapUsed") => Math.max(...rows.map((row) => row.sample[key]));
  const checks = {
    "mutations sent": sent,
    "mutations failed": failed,
    "deliveries expected": expected,
    "deliveries made": delivered,
    "deliveries missing": expected - delivered,
    "subscribers stale at the end": stale,
    "streams broken": brokenStreams,
    "server errors logged": last.sample.errors,
  };
  console.log("\nResult");
  for (const [name, value] of Object.entries(checks)) console.log(`  ${name.padEnd(30)} ${value}`);
  console.log(
    `  delivery from send             p50 ${percentile(fromSend, 0.5).toFixed(1)} ms, p99 ${percentile(fromSend, 0.99).toFixed(1)} ms, max ${Math.max(...fromSend).toFixed(1)} ms`,
  );
  console.log(
    `  delivery from the response     p50 ${percentile(fromResponse, 0.5).toFixed(1)} ms, p99 ${percentile(fromResponse, 0.99).toFixed(1)} ms`,
  );
  console.log(
    `  server rss                     first ${mb(first.sample.rss)} MB, last ${mb(last.sample.rss)} MB, peak ${mb(peak("rss"))} MB`,
  );
  console.log(
    `  server heapUsed (after gc)     first ${mb(first.sample.heapUsed)} MB, last ${mb(last.sample.heapUsed)} MB, peak ${mb(peak("heapUsed"))} MB`,
  );
  console.log(`  live engine                    ${last.sample.runs} runs, ${last.sample.pushes} pushes`);
  const ok = failed === 0 && delivered === expected && stale === 0 && brokenStreams === 0 && last.sample.errors === 0;
  console.log(ok ? "\nOK: every change reached every subscriber" : "\nFAILED: see the counts above");
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
