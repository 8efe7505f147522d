/**
 * The Convoy server bench/soak.ts keeps under load, in a child process of its own
 * (`fork`) so the SSE clients and the server do not share an event loop: the
 * LiveQueryEngine and createConvoyApp on Postgres (schema `bench_soak`), with the
 * users/projects app of bench/liveApp.ts. Talks to the parent over IPC; run with
 * --expose-gc so memory samples are taken after a full collection.
 */
import type { AddressInfo } from "node:net";
import { syncSchema } from "../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { createConvoyApp } from "../runtime/server/expressApp.js";
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
  const runtime = new ConvoyRuntime({ schema: liveSchema, functions: liveFunctions, driver, schemaName: SOAK_SCHEMA });
  const users: string[] = [];
  for (let i = 0; i < userCount; i++)
    users.push(await runtime.store.mutation((db) => db.insert("users", { name: `user ${i}`, createdAt: i })));
  let errors = 0;
  const onError = (error: unknown) => {
    errors++;
    console.error("soak server:", error instanceof Error ? error.message : error);
  };
  const live = new LiveQueryEngine({ runtime, onError });
  await live.start();
  const { app, streams } = createConvoyApp({
    runtime,
    functions: liveFunctions,
    live,
    onError,
    // Every subscriber connects from 127.0.0.1: lift the per-client stream limit.
    maxStreamsPerClient: 1_000_000,
  });
  const server = app.listen(0, "127.0.0.1");
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  await new Promise((resolve) => server.once("listening", resolve));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      streams?.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await live.stop();
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
    const stats = live.stats();
    send({
      type: "sample",
      id: command.id,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      external: memory.external,
      streams: streams?.size ?? 0,
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
