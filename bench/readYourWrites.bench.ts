/**
 * Read-your-writes on Postgres: how long `await client.mutation()` takes when the
 * client watches what the mutation changes (it resolves only once the watch shows it),
 * beside the same mutation from a client with no watches (it resolves with the HTTP
 * answer: the plain round trip). Issue 14's target: the difference under 2 ms at p50 on
 * one server.
 *
 *   npm run bench:read-your-writes   (node --import tsx bench/readYourWrites.bench.ts)
 *
 * The server (`createConvoyServer`, pool of 10) runs in this process, as do the two
 * `convoy/client`s; the mutations alternate between them, one at a time. Env:
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_MUTATIONS
 * (per client, default 1000), BENCH_OTHER_WATCHES (more watches on the watching client's
 * stream that the mutation does not touch, default 9: a page with ten live queries).
 * Creates the schema bench_ryw and drops it at the end.
 */
import { syncSchema } from "../generator/sync/syncSchema.js";
import { createConvoyClient } from "../runtime/client/convoyClient.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { z } from "zod";
import { defineSchema, defineTable, functionBuilders } from "../runtime/index.js";
import { createConvoyServer } from "../runtime/server/convoyServer.js";
import type { FunctionReference } from "../runtime/functions/functionReference.js";
import { DEFAULT_DATABASE_URL } from "./liveApp.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const MUTATIONS = Number(process.env.BENCH_MUTATIONS ?? 1000);
const OTHER_WATCHES = Number(process.env.BENCH_OTHER_WATCHES ?? 9);
const SCHEMA = "bench_ryw";

const schema = defineSchema({
  counters: defineTable({ owner: z.string(), n: z.number() }).index("by_owner", ["owner"]),
});
const { query, mutation } = functionBuilders<typeof schema>();
const functions = {
  counters: {
    bump: mutation({
      args: { owner: z.string() },
      handler: async (ctx, { owner }) => {
        const row = await ctx.db
          .query("counters")
          .withIndex("by_owner", (q) => q.eq("owner", owner))
          .first();
        if (row === null) return ctx.db.insert("counters", { owner, n: 1 }).then(() => 1);
        await ctx.db.patch(row._id, { n: row.n + 1 });
        return row.n + 1;
      },
    }),
    get: query({
      args: { owner: z.string() },
      handler: async (ctx, { owner }) =>
        (
          await ctx.db
            .query("counters")
            .withIndex("by_owner", (q) => q.eq("owner", owner))
            .first()
        )?.n ?? 0,
    }),
  },
};
const bump = { kind: "mutation", path: "counters.bump" } as FunctionReference<"mutation", { owner: string }, number>;
const get = { kind: "query", path: "counters.get" } as FunctionReference<"query", { owner: string }, number>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function describe(samples: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((sum, value) => sum + value, 0) / samples.length,
  };
}

const driver = createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: 10 });
await driver.exec(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
await syncSchema(driver, schema, { schemaName: SCHEMA });
const server = await createConvoyServer({ schema, functions, driver, schemaName: SCHEMA, closeDatabase: false });
const { url } = await server.listen({ port: 0, host: "127.0.0.1" });

const plain = createConvoyClient({ url });
const watching = createConvoyClient({ url });
let shown = 0;
watching.watch(get, { owner: "watched" }, (n) => (shown = n));
for (let i = 0; i < OTHER_WATCHES; i++) watching.watch(get, { owner: `other ${i}` }, () => {});
await plain.mutation(bump, { owner: "plain" });
await watching.mutation(bump, { owner: "watched" });

const plainMs: number[] = [];
const ownMs: number[] = [];
let stale = 0;
// Warm-up, then measured runs, alternating so both see the same machine.
for (let i = -100; i < MUTATIONS; i++) {
  let started = performance.now();
  await plain.mutation(bump, { owner: "plain" });
  if (i >= 0) plainMs.push(performance.now() - started);
  started = performance.now();
  const n = await watching.mutation(bump, { owner: "watched" });
  if (i >= 0) ownMs.push(performance.now() - started);
  if (shown !== n) stale++;
}

const plainStats = describe(plainMs);
const ownStats = describe(ownMs);
const fixed = (value: number) => value.toFixed(2);
console.log(`Read-your-writes, ${MUTATIONS} mutations per client, ${OTHER_WATCHES} other watches, Postgres`);
console.log(`plain round trip (no watches):       p50 ${fixed(plainStats.p50)} ms  p99 ${fixed(plainStats.p99)} ms`);
console.log(`until own watch shows it (resolved): p50 ${fixed(ownStats.p50)} ms  p99 ${fixed(ownStats.p99)} ms`);
console.log(`difference at p50: ${fixed(ownStats.p50 - plainStats.p50)} ms; stale reads after await: ${stale}`);
console.log(`engine: ${JSON.stringify(server.live.stats())}`);

plain.close();
watching.close();
await server.close();
await driver.exec(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
await driver.close();
