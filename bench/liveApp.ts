/** The schema, functions and IPC messages bench/live.bench.ts and its server process (bench/liveServer.ts) share. */
import { z } from "zod";
import type { Driver } from "../runtime/drivers/driver.js";
import { defineRef, defineSchema, defineTable, functionBuilders } from "../runtime/index.js";

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
/** Postgres schema of the server process (SSE workloads). */
export const SERVER_SCHEMA = "bench_live";
/** Postgres schemas of the in-process workloads: Convoy's tables, and a copy without triggers. */
export const LOCAL_SCHEMA = "bench_live_local";
export const RAW_SCHEMA = "bench_live_raw";
/** Connections in each `pg` pool. */
export const POOL_SIZE = 10;

export const liveSchema = defineSchema({
  users: defineTable({ name: z.string(), createdAt: z.number() }),
  projects: defineTable({ name: z.string(), userId: defineRef("users"), createdAt: z.number() }).index("by_userId", [
    "userId",
  ]),
});

const { query, mutation } = functionBuilders<typeof liveSchema>();

export const liveFunctions = {
  projects: {
    create: mutation({
      args: { name: z.string(), userId: defineRef("users"), createdAt: z.number() },
      handler: (ctx, args) => ctx.db.insert("projects", args),
    }),
    /** The names of a user's projects (the table starts empty, so results stay small). */
    byUser: query({
      args: { userId: defineRef("users") },
      handler: async (ctx, args) =>
        (
          await ctx.db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", args.userId))
            .collect()
        ).map((project) => project.name),
    }),
  },
};

/**
 * How the server process keeps watches live:
 * - `engine`: the LiveQueryEngine as shipped (change feed + read-set matching);
 * - `naive`: additionally re-runs every watch after every committed mutation (`rerunAll`),
 *   the "re-run everything on every change" baseline;
 * - `poll`: no change feed in effect; every watch is re-run once per second (Hasura-style polling).
 */
export type LiveMode = "engine" | "naive" | "poll";

export type ServerCommand = { type: "memory"; id: number } | { type: "stats"; id: number } | { type: "stop" };

export interface ServerStats {
  watches: number;
  runs: number;
  pushes: number;
  /** Statements and transactions the server's driver sent (queries, feed reads, mutations). */
  statements: number;
  streams: number;
}

export type ServerReply =
  | { type: "ready"; port: number; users: string[] }
  | {
      type: "memory";
      id: number;
      rss: number;
      heapUsed: number;
      external: number;
      arrayBuffers: number;
      streams: number;
    }
  | ({ type: "stats"; id: number } & ServerStats)
  | { type: "failed"; id: number | null; message: string };

/** Wraps a driver to count the statements and transactions it sends. */
export function countingDriver(driver: Driver): { driver: Driver; count: () => number } {
  let statements = 0;
  const counted: Driver = {
    kind: driver.kind,
    description: driver.description,
    ...(driver.connections !== undefined ? { connections: driver.connections } : {}),
    query: <TRow>(text: string, params: readonly unknown[] = []) => {
      statements++;
      return driver.query<TRow>(text, params);
    },
    exec: (sql) => {
      statements++;
      return driver.exec(sql);
    },
    transaction: (setup, body) => {
      statements++;
      return driver.transaction(setup, body);
    },
    listen: (channel, onNotify, onLost) => driver.listen(channel, onNotify, onLost),
    ...(driver.openSession ? { openSession: driver.openSession.bind(driver) } : {}),
    close: () => driver.close(),
  };
  return { driver: counted, count: () => statements };
}
