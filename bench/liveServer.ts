/**
 * The Convoy server bench/live.bench.ts measures, in a child process of its own
 * (`fork`, argv[2] = "engine" | "naive" | "poll", see LiveMode), so SSE clients and the
 * server do not share an event loop. Serves createConvoyServer (with the engine of the
 * mode) on Postgres, talks to the parent over IPC (see liveApp.ts). Run with --expose-gc so
 * memory figures are taken after a full collection.
 */
import { syncSchema } from "../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { createConvoyServer } from "../runtime/server/convoyServer.js";
import {
  countingDriver,
  DEFAULT_DATABASE_URL,
  liveFunctions,
  liveSchema,
  POOL_SIZE,
  SERVER_SCHEMA,
  type LiveMode,
  type ServerCommand,
  type ServerReply,
} from "./liveApp.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const USERS = 100;
const mode: LiveMode = process.argv[2] === "naive" || process.argv[2] === "poll" ? process.argv[2] : "engine";

function send(reply: ServerReply): void {
  if (!process.send) throw new Error("bench/liveServer.ts runs as a child of bench/live.bench.ts (IPC channel)");
  process.send(reply);
}

const message = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

const base = createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: POOL_SIZE });
const { driver, count } = countingDriver(base);
await base.exec(`DROP SCHEMA IF EXISTS "${SERVER_SCHEMA}" CASCADE`);
await syncSchema(base, liveSchema, { schemaName: SERVER_SCHEMA });
const runtime = new ConvoyRuntime({ schema: liveSchema, functions: liveFunctions, driver, schemaName: SERVER_SCHEMA });
const users: string[] = [];
for (let i = 0; i < USERS; i++)
  users.push(await runtime.store.mutation((db) => db.insert("users", { name: `user ${i}`, createdAt: i })));

// `poll`: the engine does not see its server's mutations (they log quietly, as servers of
// an earlier version did, and are not applied) and its safety poll never fires in the
// bench's time (1e8 ms; the feed's prune timer uses 10x that, which must stay below
// setInterval's 2^31 - 1 ms), so only the 1 s re-run delivers.
// `naive`: every mutation re-runs every watch.
function engineOf(serving: ConvoyRuntime): LiveQueryEngine {
  const observe: ConvoyRuntime["observeMutations"] = (observer) =>
    serving.observeMutations(
      mode === "poll"
        ? { changeLogMode: () => "on", committed: () => {} }
        : mode === "naive"
          ? { changeLogMode: () => observer.changeLogMode(), committed: () => engine.rerunAll() }
          : observer,
    );
  const engineRuntime = Object.create(serving, { observeMutations: { value: observe } }) as ConvoyRuntime;
  const engine: LiveQueryEngine = new LiveQueryEngine({
    runtime: engineRuntime,
    pollIntervalMs: mode === "poll" ? 100_000_000 : 2000,
    onError: (error) => console.error("feed:", message(error)),
  });
  return engine;
}

const convoy = await createConvoyServer({
  driver,
  schema: liveSchema,
  functions: liveFunctions,
  schemaName: SERVER_SCHEMA,
  closeDatabase: false,
  liveEngine: engineOf,
  onError: (error) => console.error(error),
  // Every simulated subscriber connects from 127.0.0.1: one client as the limit sees it.
  maxStreamsPerClient: 1_000_000,
});
const live = convoy.live;
const timers: NodeJS.Timeout[] = [];
if (mode === "poll") timers.push(setInterval(() => live.rerunAll(), 1000));

const { server } = await convoy.listen({ port: 0 });
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.maxConnections = 100_000;

let stopping: Promise<void> | undefined;
const stop = () =>
  (stopping ??= (async () => {
    for (const timer of timers) clearInterval(timer);
    await convoy.close({ timeoutMs: 1000 });
    await base.exec(`DROP SCHEMA IF EXISTS "${SERVER_SCHEMA}" CASCADE`).catch(() => {});
    await base.close();
  })());
process.on("disconnect", () => void stop().finally(() => process.exit(0)));

process.on("message", (raw: unknown) => {
  const command = raw as ServerCommand;
  if (command.type === "stop") {
    void stop().finally(() => process.exit(0));
    return;
  }
  try {
    if (command.type === "memory") {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      const memory = process.memoryUsage();
      send({
        type: "memory",
        id: command.id,
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
        streams: convoy.streams,
      });
    } else {
      send({ type: "stats", id: command.id, ...live.stats(), statements: count(), streams: convoy.streams });
    }
  } catch (error) {
    send({ type: "failed", id: command.id, message: message(error) });
  }
});
send({ type: "ready", port: Number(new URL(convoy.url!).port), users });
