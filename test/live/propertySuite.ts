import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineRef, functionBuilders, type Id } from "../../runtime/index.js";
import type { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { generateId } from "../../runtime/schema/ids.js";
import type { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { startLive, type LiveHarness } from "../support/liveHarness.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import type { testSchema } from "../support/testSchema.js";

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

type Operation =
  | { kind: "insert"; user: number; createdAt: number; priority: number; color: number }
  | { kind: "patch"; target: number; createdAt: number; color: number }
  | { kind: "delete"; target: number }
  | { kind: "sqlUpdate"; target: number; priority: number }
  | { kind: "sqlInsert"; user: number; createdAt: number }
  | { kind: "sqlDelete"; target: number }
  | { kind: "renameUser"; user: number };

const COLORS = ["red", "blue", "green"];
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    kind: fc.constant("insert" as const),
    user: fc.nat(2),
    createdAt: fc.nat(20),
    priority: fc.nat(3),
    color: fc.nat(2),
  }),
  fc.record({ kind: fc.constant("patch" as const), target: fc.nat(50), createdAt: fc.nat(20), color: fc.nat(2) }),
  fc.record({ kind: fc.constant("delete" as const), target: fc.nat(50) }),
  fc.record({ kind: fc.constant("sqlUpdate" as const), target: fc.nat(50), priority: fc.nat(3) }),
  fc.record({ kind: fc.constant("sqlInsert" as const), user: fc.nat(2), createdAt: fc.nat(20) }),
  fc.record({ kind: fc.constant("sqlDelete" as const), target: fc.nat(50) }),
  fc.record({ kind: fc.constant("renameUser" as const), user: fc.nat(2) }),
);

/**
 * The never-stale property: whatever mix of concurrent Convoy mutations and plain-SQL
 * writes runs, once writes stop every watcher holds what a fresh run of its query
 * returns.
 */
export function describeLivePropertySuite(factory: TestDriverFactory, options: { killListener?: boolean } = {}): void {
  describe.skipIf(factory.unavailable !== null)(`live queries never go stale on ${factory.name}`, () => {
    let database: TestDatabase;
    let runtime: ConvoyRuntime;
    let engine: LiveQueryEngine;
    let users: Id<"users">[];

    let live: LiveHarness;
    beforeAll(async () => {
      live = await startLive(factory, functions, 300);
      ({ database, runtime, engine } = live);
      users = await runtime.store.mutation(async (db) => [
        await db.insert("users", { name: "u0", createdAt: 0 }),
        await db.insert("users", { name: "u1", createdAt: 0 }),
        await db.insert("users", { name: "u2", createdAt: 0 }),
      ]);
    });
    afterAll(async () => {
      await live?.dispose();
    });

    const table = () => `"${database.schemaName}".projects`;

    async function apply(op: Operation, counter: { n: number }): Promise<void> {
      const pick = async (target: number) => {
        const rows = await database.driver.query<{ _id: string }>(`SELECT _id FROM ${table()} ORDER BY _id`);
        return rows.length === 0 ? undefined : rows[target % rows.length]!._id;
      };
      switch (op.kind) {
        case "insert":
          await runtime.store.mutation((db) =>
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
          await runtime.store
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
          await runtime.store
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
          await runtime.store.mutation((db) => db.patch(users[op.user]!, { name: `u${op.user}-${counter.n++}` }));
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
            try {
              for (const [b, batch] of batches.entries()) {
                await Promise.all(batch.map((op) => apply(op, counter)));
                if (options.killListener && b === 1 && run % 2 === 1) {
                  await database.driver.query(
                    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`,
                    [`LISTEN "convoy_changes_${database.schemaName}"`],
                  );
                }
              }
              const fresh = async () =>
                Promise.all(watched.map(([path, args]) => runtime.call(path, args, { kind: "query" })));
              const expected = await fresh();
              await expect
                .poll(() => watched.map((_, i) => latest.get(i)), { timeout: 15_000, interval: 50 })
                .toEqual(expected);
            } finally {
              for (const stop of stops) stop();
            }
          },
        ),
        { numRuns: 6, seed: Number(process.env.CONVOY_PROPERTY_SEED ?? Date.now() % 1_000_000) },
      );
    });
  });
}
