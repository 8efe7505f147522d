/**
 * The Convoy server bench/soak.ts keeps under load, in a child process of its own
 * (`fork`) so the SSE clients and the server do not share an event loop:
 * createConvoyServer on Postgres (schema `bench_soak`), as `convoy serve` runs it, with the
 * users/projects app of bench/liveApp.ts. Talks to the parent over IPC; run with
 * --expose-gc so memory samples are taken after a full collection.
 */
import type { AddressInfo } from "node:net";
import { syncSchema } from "../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { createConvoyServer } from "../runtime/server/convoyServer.js";
import { DEFAULT_DATABASE_URL, liveFunctions, liveSchema, POOL_SIZE } from "./liveApp.js";

/** Postgres schema of the soak's tables (dropped and recreated on start, dropped on stop). */
export const SOAK_SCHEMA = "bench_soak";

export type SoakCommand = { type: "sample"; id: number } | { type: "stop" };

/** A memory and activity sample of the server process. */
export interface SoakSample {
  rss: number;
  heapUsed: number;
  external: number;
  streams: number;
  watches: number;
  runs: number;
  pushes: number;
  /** Unexpected errors the server logged so far. */
  errors: number;
}

export type SoakReply =
  | { type: "ready"; port: number; users: string[] }
  | ({ type: "sample"; id: number } & SoakSample)
  | { type: "failed"; message: string };

function send(reply: SoakReply): void {
  if (!process.send) throw new Error("bench/soakServer.ts runs as a child of bench/soak.ts (IPC channel)");
  process.send(reply);
}

const databaseUrl = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const userCount = Number(process.argv[2] ?? 100);

try {
  const driver = createPostgresDriver({ connectionString: databaseUrl, maxConnections: POOL_SIZE });
  await driver.exec(`DROP SCHEMA IF EXISTS "${SOAK_SCHEMA}" CASCADE`);
  await syncSchema(driver, liveSchema, { schemaName: SOAK_SCHEMA });
  let errors = 0;
  const onError = (error: unknown) => {
    errors++;
    console.error("soak server:", error instanceof Error ? error.message : error);
  };
  const convoy = await createConvoyServer({
    driver,
    schema: liveSchema,
    functions: liveFunctions,
    schemaName: SOAK_SCHEMA,
    closeDatabase: false,
    onError,
    // Every subscriber connects from 127.0.0.1: lift the per-client stream limit.
    maxStreamsPerClient: 1_000_000,
  });
  const users: string[] = [];
  for (let i = 0; i < userCount; i++)
    users.push(await convoy.runtime.store.mutation((db) => db.insert("users", { name: `user ${i}`, createdAt: i })));
  const { server } = await convoy.listen({ port: 0 });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await convoy.close({ timeoutMs: 1000 });
      await driver.exec(`DROP SCHEMA IF EXISTS "${SOAK_SCHEMA}" CASCADE`).catch(() => {});
      await driver.close();
    })());
  process.on("disconnect", () => void stop().finally(() => process.exit(0)));
  process.on("message", (raw: unknown) => {
    const command = raw as SoakCommand;
    if (command.type === "stop") {
      void stop().finally(() => process.exit(0));
      return;
    }
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const memory = process.memoryUsage();
    const stats = convoy.live.stats();
    send({
      type: "sample",
      id: command.id,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      external: memory.external,
      streams: convoy.streams,
      watches: stats.watches,
      runs: stats.runs,
      pushes: stats.pushes,
      errors,
    });
  });
  send({ type: "ready", port: (server.address() as AddressInfo).port, users });
} catch (error) {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
