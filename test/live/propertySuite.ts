import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineRef, functionBuilders, type Id } from "../../runtime/index.js";
import { FEED_LOCKS, schemaLockKey } from "../../runtime/live/changeLogDdl.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { generateId } from "../../runtime/schema/ids.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { startLive, type LiveHarness } from "../support/liveHarness.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";

const { query } = functionBuilders<typeof testSchema>();
const names = (docs: { name: string }[]) => docs.map((doc) => doc.name);

/** Watched queries of every shape the read set records: eq, range, get, filter, order + take. */
const functions = {
  watched: {
    byUser: query({
      args: { userId: defineRef("users") },
      handler: async (ctx, args) =>
        names(
          await ctx.db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", args.userId))
            .collect(),
        ),
    }),
    recentOfUser: query({
      args: { userId: defineRef("users"), since: z.number() },
      handler: async (ctx, args) =>
        names(
          await ctx.db
            .query("projects")
            .withIndex("by_user_created", (q) => q.eq("userId", args.userId).gte("createdAt", args.since))
            .order("desc")
            .collect(),
        ),
    }),
    byColor: query({
      args: { color: z.string() },
      handler: async (ctx, args) =>
        names(
          await ctx.db
            .query("projects")
            .withIndex("by_color", (q) => q.eq("meta.color", args.color))
            .collect(),
        ),
    }),
    urgent: query({
      handler: async (ctx) =>
        names(
          await ctx.db
            .query("projects")
            .filter((q) => q.gte(q.field("priority"), 2))
            .collect(),
        ).sort(),
    }),
    newestThree: query({
      handler: async (ctx) => names(await ctx.db.query("projects").order("desc").take(3)),
    }),
    user: query({
      args: { id: defineRef("users") },
      handler: async (ctx, args) => (await ctx.db.get(args.id))?.name ?? null,
    }),
  },
};

/** `via`: 0 = the watched server's runtime, 1 = a second server's. */
type Operation =
  | { kind: "insert"; via: number; user: number; createdAt: number; priority: number; color: number }
  | { kind: "patch"; via: number; target: number; createdAt: number; color: number }
  | { kind: "delete"; via: number; target: number }
  | { kind: "sqlUpdate"; target: number; priority: number }
  | { kind: "sqlInsert"; user: number; createdAt: number }
  | { kind: "sqlDelete"; target: number }
  | { kind: "renameUser"; via: number; user: number };

const COLORS = ["red", "blue", "green"];
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    kind: fc.constant("insert" as const),
    via: fc.nat(1),
    user: fc.nat(2),
    createdAt: fc.nat(20),
    priority: fc.nat(3),
    color: fc.nat(2),
  }),
  fc.record({
    kind: fc.constant("patch" as const),
    via: fc.nat(1),
    target: fc.nat(50),
    createdAt: fc.nat(20),
    color: fc.nat(2),
  }),
  fc.record({ kind: fc.constant("delete" as const), via: fc.nat(1), target: fc.nat(50) }),
  fc.record({ kind: fc.constant("sqlUpdate" as const), target: fc.nat(50), priority: fc.nat(3) }),
  fc.record({ kind: fc.constant("sqlInsert" as const), user: fc.nat(2), createdAt: fc.nat(20) }),
  fc.record({ kind: fc.constant("sqlDelete" as const), target: fc.nat(50) }),
  fc.record({ kind: fc.constant("renameUser" as const), via: fc.nat(1), user: fc.nat(2) }),
);

/**
 * The never-stale property: whatever mix of concurrent Convoy mutations (through the
 * watched server and a second one, whose live engine joins and leaves mid-run) and
 * plain-SQL writes runs, once writes stop every watcher holds what a fresh run of its
 * query returns. `killConnections` (Postgres): some runs terminate the listener or the
 * lock sessions mid-run.
 */
export function describeLivePropertySuite(
  factory: TestDriverFactory,
  options: { killConnections?: boolean } = {},
): void {
  describe.skipIf(factory.unavailable !== null)(`live queries never go stale on ${factory.name}`, () => {
    let database: TestDatabase;
    let runtime: ConvoyRuntime;
    let engine: LiveQueryEngine;
    let users: Id<"users">[];
    /** A second server on the same database: its runtime always, its engine part of the time. */
    let peerRuntime: ConvoyRuntime;
    let peerEngine: LiveQueryEngine | null = null;

    let live: LiveHarness;
    beforeAll(async () => {
      live = await startLive(factory, functions, 300);
      ({ database, runtime, engine } = live);
      users = await runtime.store.mutation(async (db) => [
        await db.insert("users", { name: "u0", createdAt: 0 }),
        await db.insert("users", { name: "u1", createdAt: 0 }),
        await db.insert("users", { name: "u2", createdAt: 0 }),
      ]);
      peerRuntime = new ConvoyRuntime({
        schema: testSchema,
        functions,
        driver: database.driver,
        schemaName: database.schemaName,
      });
    });
    afterAll(async () => {
      await peerEngine?.stop();
      await live?.dispose();
    });

    const table = () => `"${database.schemaName}".projects`;

    async function apply(op: Operation, counter: { n: number }): Promise<void> {
      const pick = async (target: number) => {
        const rows = await database.driver.query<{ _id: string }>(`SELECT _id FROM ${table()} ORDER BY _id`);
        return rows.length === 0 ? undefined : rows[target % rows.length]!._id;
      };
      const writer = "via" in op && op.via === 1 ? peerRuntime : runtime;
      switch (op.kind) {
        case "insert":
          await writer.store.mutation((db) =>
            db.insert("projects", {
              name: `p${counter.n++}`,
              userId: users[op.user]!,
              createdAt: op.createdAt,
              priority: op.priority,
              meta: { color: COLORS[op.color]! },
            }),
          );
          return;
        case "patch": {
          const id = await pick(op.target);
          if (id === undefined) return;
          await writer.store
            .mutation((db) =>
              db.patch(id as Id<"projects">, { createdAt: op.createdAt, meta: { color: COLORS[op.color]! } }),
            )
            .catch((error: { code?: string }) => {
              if (error.code !== "NOT_FOUND") throw error;
            });
          return;
        }
        case "delete": {
          const id = await pick(op.target);
          if (id === undefined) return;
          await writer.store
            .mutation((db) => db.delete(id as Id<"projects">))
            .catch((error: { code?: string }) => {
              if (error.code !== "NOT_FOUND") throw error;
            });
          return;
        }
        case "sqlUpdate": {
          const id = await pick(op.target);
          if (id !== undefined) {
            await database.driver.query(
              `UPDATE ${table()} SET doc = jsonb_set(doc, '{priority}', to_jsonb($2::int)) WHERE _id = $1`,
              [id, op.priority],
            );
          }
          return;
        }
        case "sqlInsert":
          await database.driver.query(`INSERT INTO ${table()} (_id, _creation_time, doc) VALUES ($1, $2, $3::jsonb)`, [
            generateId("projects"),
            Date.now(),
            JSON.stringify({ name: `s${counter.n++}`, userId: users[op.user], createdAt: op.createdAt, tags: [] }),
          ]);
          return;
        case "sqlDelete": {
          const id = await pick(op.target);
          if (id !== undefined) await database.driver.query(`DELETE FROM ${table()} WHERE _id = $1`, [id]);
          return;
        }
        case "renameUser":
          await writer.store.mutation((db) => db.patch(users[op.user]!, { name: `u${op.user}-${counter.n++}` }));
          return;
      }
    }

    it("after random concurrent writes, every watcher equals a fresh run", async () => {
      const watched: [string, unknown][] = [
        ...users.map((userId) => ["watched.byUser", { userId }] as [string, unknown]),
        ["watched.recentOfUser", { userId: users[0], since: 10 }],
        ["watched.recentOfUser", { userId: users[1], since: 5 }],
        ...COLORS.map((color) => ["watched.byColor", { color }] as [string, unknown]),
        ["watched.urgent", {}],
        ["watched.newestThree", {}],
        ...users.map((id) => ["watched.user", { id }] as [string, unknown]),
      ];
      const counter = { n: 0 };
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(operation, { minLength: 1, maxLength: 6 }), { minLength: 3, maxLength: 8 }),
          async (batches) => {
            run++;
            const latest = new Map<number, unknown>();
            const stops = watched.map(([path, args], i) =>
              engine.watch(path, args, null, (update) => latest.set(i, "value" in update ? update.value : update)),
            );
            const peerLatest = new Map<number, unknown>();
            const peerStops: (() => void)[] = [];
            // The second server's engine joins (or leaves) while the first batch is written.
            const togglePeer = async () => {
              if (peerEngine === null) {
                const joining = new LiveQueryEngine({ runtime: peerRuntime, pollIntervalMs: 300 });
                await joining.start();
                peerEngine = joining;
                for (const [i, [path, args]] of watched.entries()) {
                  peerStops.push(
                    joining.watch(path, args, null, (update) =>
                      peerLatest.set(i, "value" in update ? update.value : update),
                    ),
                  );
                }
              } else {
                const leaving = peerEngine;
                peerEngine = null;
                await leaving.stop();
              }
            };
            try {
              for (const [b, batch] of batches.entries()) {
                await Promise.all([...batch.map((op) => apply(op, counter)), ...(b === 0 ? [togglePeer()] : [])]);
                if (options.killConnections && b === 1 && run % 4 === 1) {
                  await database.driver.query(
                    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`,
                    [`LISTEN "convoy_changes_${database.schemaName}"`],
                  );
                }
                if (options.killConnections && b === 1 && run % 4 === 3) {
                  await database.driver.query(
                    `SELECT pg_terminate_backend(pid) FROM pg_locks
                      WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid`,
                    [FEED_LOCKS.presence, schemaLockKey(database.schemaName)],
                  );
                }
              }
              const fresh = async () =>
                Promise.all(watched.map(([path, args]) => runtime.call(path, args, { kind: "query" })));
              const expected = await fresh();
              await expect
                .poll(() => watched.map((_, i) => latest.get(i)), { timeout: 15_000, interval: 50 })
                .toEqual(expected);
              if (peerEngine !== null) {
                await expect
                  .poll(() => watched.map((_, i) => peerLatest.get(i)), { timeout: 15_000, interval: 50 })
                  .toEqual(expected);
              }
            } finally {
              for (const stop of [...stops, ...peerStops]) stop();
            }
          },
        ),
        { numRuns: 6, seed: Number(process.env.CONVOY_PROPERTY_SEED ?? Date.now() % 1_000_000) },
      );
    });
  });
}
