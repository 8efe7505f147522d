import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ChangeFeed } from "../../runtime/live/changeFeed.js";
import { functionBuilders, type Id } from "../../runtime/index.js";
import { type LiveQueryEngine, type Transition, type WatchUpdate } from "../../runtime/live/liveQueryEngine.js";
import { parseSnapshot, snapshotCovers } from "../../runtime/protocol/snapshotVersion.js";
import type { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { defineRef } from "../../runtime/schema/defineRef.js";
import { startLive, type LiveHarness } from "../support/liveHarness.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import type { testSchema } from "../support/testSchema.js";

const { query } = functionBuilders<typeof testSchema>();
const functions = {
  projects: {
    byUser: liveTestFunctions.projects.byUser,
    /** byUser, then a pause before the result: writes land while the run is in flight. */
    byUserSlowly: query({
      args: { userId: defineRef("users") },
      handler: async (ctx, args) => {
        const projects = await ctx.db
          .query("projects")
          .withIndex("by_userId", (q) => q.eq("userId", args.userId))
          .collect();
        await new Promise((resolve) => setTimeout(resolve, 150));
        return projects.map((project) => project.name);
      },
    }),
    /** Waits `ms`, then counts the projects: holds a round open for that long. */
    countAfter: query({
      args: { ms: (await import("zod")).z.number() },
      handler: async (ctx, args) => {
        await new Promise((resolve) => setTimeout(resolve, args.ms));
        return (await ctx.db.query("projects").collect()).length;
      },
    }),
    recent: query({
      args: { since: (await import("zod")).z.number() },
      handler: async (ctx, args) =>
        (
          await ctx.db
            .query("projects")
            .withIndex("by_creation_time", (q) => q.gte("_creationTime", args.since))
            .collect()
        ).length,
    }),
  },
  users: {
    get: query({
      args: { id: defineRef("users") },
      handler: async (ctx, args) => (await ctx.db.get(args.id))?.name ?? null,
    }),
  },
};

/** The live-query engine on one driver: precise, shared, never stale. */
export function describeLiveSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`live queries on ${factory.name}`, () => {
    let database: TestDatabase;
    let runtime: ConvoyRuntime;
    let engine: LiveQueryEngine;

    let live: LiveHarness;
    beforeAll(async () => {
      live = await startLive(factory, functions);
      ({ database, runtime, engine } = live);
    });
    afterAll(async () => {
      await live?.dispose();
    });
    beforeEach(async () => {
      await engine.settled();
    });

    const addUser = (name: string): Promise<Id<"users">> =>
      runtime.store.mutation((db) => db.insert("users", { name, createdAt: 1 }));
    const addProject = (userId: Id<"users">, name: string) =>
      runtime.store.mutation((db) => db.insert("projects", { name, userId, createdAt: 1 }));

    function collect(): { updates: WatchUpdate[]; last: () => unknown } {
      const updates: WatchUpdate[] = [];
      return { updates, last: () => (updates.at(-1) as { value: unknown } | undefined)?.value };
    }

    it("pushes the first result, then each change, and only when the result changed", async () => {
      const ada = await addUser("Ada");
      const seen = collect();
      const stop = engine.watch("projects.byUser", { userId: ada }, null, (update) => seen.updates.push(update));
      await engine.settled();
      expect(seen.updates).toEqual([{ value: [] }]);
      await addProject(ada, "one");
      await engine.settled();
      expect(seen.last()).toEqual(["one"]);
      await runtime.store.mutation(async (db) => {
        await db.insert("projects", { name: "two", userId: ada, createdAt: 1 });
        await db.insert("projects", { name: "three", userId: ada, createdAt: 1 });
      });
      await engine.settled();
      expect(seen.last()).toEqual(["one", "two", "three"]);
      expect(seen.updates).toHaveLength(3);
      stop();
    });

    it("a write to another index range does not re-run the watch", async () => {
      const ada = await addUser("Ada");
      const bob = await addUser("Bob");
      const seen = collect();
      const stop = engine.watch("projects.byUser", { userId: ada }, null, (update) => seen.updates.push(update));
      await engine.settled();
      const runsBefore = engine.stats().runs;
      for (let i = 0; i < 5; i++) await addProject(bob, `bob-${i}`);
      await engine.settled();
      expect(engine.stats().runs).toBe(runsBefore);
      await addProject(ada, "ada-1");
      await engine.settled();
      expect(engine.stats().runs).toBe(runsBefore + 1);
      expect(seen.last()).toEqual(["ada-1"]);
      stop();
    });

    it("identical watches share one execution; each watcher gets the result", async () => {
      const ada = await addUser("Ada");
      const runsBefore = engine.stats().runs;
      const watchers = Array.from({ length: 100 }, () => collect());
      const stops = watchers.map((seen) =>
        engine.watch("projects.byUser", { userId: ada }, null, (update) => seen.updates.push(update)),
      );
      await engine.settled();
      await addProject(ada, "shared");
      await engine.settled();
      expect(engine.stats().runs - runsBefore).toBe(2);
      for (const seen of watchers) expect(seen.last()).toEqual(["shared"]);
      for (const stop of stops) stop();
      expect(engine.stats().watches).toBe(0);
    });

    it("a watcher joining a running watch while another watch's round is in flight gets its result", async () => {
      const ada = await addUser("Ada");
      const bob = await addUser("Bob");
      await addProject(ada, "ada-1");
      const first = collect();
      const stopFirst = engine.watch("projects.byUser", { userId: ada }, null, (update) => first.updates.push(update));
      await engine.settled();
      // A round of one slow watch; the second watcher of ada's watch joins while it runs.
      const slow = collect();
      const stopSlow = engine.watch("projects.byUserSlowly", { userId: bob }, null, (u) => slow.updates.push(u));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = collect();
      const stopSecond = engine.watch("projects.byUser", { userId: ada }, null, (u) => second.updates.push(u));
      await engine.settled();
      expect(slow.last()).toEqual([]);
      expect(second.last()).toEqual(["ada-1"]);
      for (const stop of [stopFirst, stopSlow, stopSecond]) stop();
    });

    // PGlite has one connection: a round's transaction holds it, so every read waits for the round.
    it.skipIf(factory.name === "pglite")(
      "a watch only one-query subscriptions hold runs beside a round in flight, not after it",
      async () => {
        const ada = await addUser("Ada");
        const order: string[] = [];
        const single = engine.watch("projects.byUser", { userId: ada }, null, (update) => {
          if ("value" in update && (update.value as string[]).length > 0) order.push("single");
        });
        await engine.settled();
        // A subscription of two queries, one slow: its first round stays open for 800 ms.
        const page = engine.subscribe(null, () => order.push("page"));
        page.add("a", "projects.countAfter", { ms: 800 });
        page.add("b", "users.get", { id: ada });
        await new Promise((resolve) => setTimeout(resolve, 50));
        await addProject(ada, "during the round");
        await engine.settled();
        page.close();
        single();
        // The page's first transition, then (its count read the project) the next one.
        expect(order).toEqual(["single", "page", "page"]);
      },
    );

    it("a one-query subscription awaiting this server's commit is settled by its watch's own run, with no round", async () => {
      const ada = await addUser("Ada");
      const transitions: Transition[] = [];
      const subscription = engine.subscribe(null, (transition) => transitions.push(transition));
      subscription.add("a", "projects.byUser", { userId: ada });
      await engine.settled();
      const rounds = engine.stats().rounds;
      let position: string | null = null;
      await runtime.store.mutation((db) => db.insert("projects", { name: "awaited", userId: ada, createdAt: 1 }), {
        onCommit: (committed) => (position = committed),
      });
      subscription.await(position!);
      await engine.settled();
      const last = transitions.at(-1)!;
      expect(snapshotCovers(parseSnapshot(last.version)!, position!)).toBe(true);
      expect(last.updates).toEqual([{ id: "a", update: { value: ["awaited"] } }]);
      expect(engine.stats().rounds).toBe(rounds);
      subscription.close();
    });

    it("coalesces bursts: one mutation writing 50 rows re-runs a watch once", async () => {
      const ada = await addUser("Ada");
      const seen = collect();
      const stop = engine.watch("projects.byUser", { userId: ada }, null, (update) => seen.updates.push(update));
      await engine.settled();
      const runsBefore = engine.stats().runs;
      await runtime.store.mutation(async (db) => {
        for (let i = 0; i < 50; i++) await db.insert("projects", { name: `burst-${i}`, userId: ada, createdAt: 1 });
      });
      await engine.settled();
      expect(engine.stats().runs - runsBefore).toBe(1);
      expect((seen.last() as string[]).length).toBe(50);
      // 20 mutations at once: far fewer runs than mutations, and the last result is complete.
      const before = engine.stats().runs;
      await Promise.all(Array.from({ length: 20 }, (_, i) => addProject(ada, `concurrent-${i}`)));
      await engine.settled();
      expect(engine.stats().runs - before).toBeLessThan(20);
      expect((seen.last() as string[]).length).toBe(70);
      stop();
    });

    it("sees writes made with plain SQL, outside Convoy", async () => {
      const ada = await addUser("Ada");
      const seen = collect();
      const stop = engine.watch("users.get", { id: ada }, null, (update) => seen.updates.push(update));
      await engine.settled();
      expect(seen.last()).toBe("Ada");
      await database.driver.query(
        `UPDATE "${database.schemaName}".users SET doc = jsonb_set(doc, '{name}', '"Ada L."') WHERE _id = $1`,
        [ada],
      );
      await expect.poll(() => seen.last(), { timeout: 5000 }).toBe("Ada L.");
      await database.driver.query(`DELETE FROM "${database.schemaName}".users WHERE _id = $1`, [ada]);
      await expect.poll(() => seen.last(), { timeout: 5000 }).toBeNull();
      stop();
    });

    it("prunes log rows read longer ago than the retention, and keeps later ones", async () => {
      const feed = new ChangeFeed({
        driver: database.driver,
        schemaName: database.schemaName,
        onChanges: () => {},
        onReset: () => {},
        retentionMs: 0,
        pollIntervalMs: 100_000_000,
      });
      await feed.start();
      const logged = async (id: string) =>
        (
          await database.driver.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "${database.schemaName}"."_changes" WHERE doc_id = $1`,
            [id],
          )
        )[0]!.n;
      try {
        const first = await addUser("pruned");
        feed.poke();
        await feed.settled();
        await feed.prune(); // marks what it read so far
        const second = await addUser("kept");
        feed.poke();
        await feed.settled();
        expect([await logged(first), await logged(second)]).toEqual([1, 1]);
        await feed.prune(); // deletes up to the first mark
        expect([await logged(first), await logged(second)]).toEqual([0, 1]);

        // Postgres: a transaction left open across a mark keeps its own rows and holds back no others.
        if (factory.name !== "postgres") return;
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        let wrote!: () => void;
        const written = new Promise<void>((resolve) => (wrote = resolve));
        const openTransaction = database.driver.transaction("", async (tx) => {
          await tx.query(
            `INSERT INTO "${database.schemaName}"."users" (_id, _creation_time, doc) VALUES ('users_0000000000open0000000000', 1, '{"name":"open"}')`,
          );
          wrote();
          await released;
        });
        await written;
        const third = await addUser("pruned too");
        feed.poke();
        await feed.settled();
        await feed.prune(); // the open transaction is in progress at this mark
        release();
        await openTransaction;
        feed.poke();
        await feed.settled();
        await feed.prune();
        expect([await logged(third), await logged("users_0000000000open0000000000")]).toEqual([0, 1]);
      } finally {
        await feed.stop();
      }
    });

    it("a write committed while a watch runs (first run or re-run) runs it again", async () => {
      const ada = await addUser("Ada");
      const seen = collect();
      const stop = engine.watch("projects.byUserSlowly", { userId: ada }, null, (update) => seen.updates.push(update));
      await new Promise((resolve) => setTimeout(resolve, 50)); // the first run has read, and waits
      await addProject(ada, "during the first run");
      await expect.poll(() => seen.last(), { timeout: 5000 }).toEqual(["during the first run"]);
      await engine.settled();
      await addProject(ada, "starts a re-run");
      await new Promise((resolve) => setTimeout(resolve, 50));
      await addProject(ada, "during the re-run");
      await expect
        .poll(() => seen.last(), { timeout: 5000 })
        .toEqual(["during the first run", "starts a re-run", "during the re-run"]);
      stop();
    });

    it("ranges on _creationTime are matched by bounds", async () => {
      const ada = await addUser("Ada");
      const since = Date.now() + 60_000;
      const seen = collect();
      const stop = engine.watch("projects.recent", { since }, null, (update) => seen.updates.push(update));
      await engine.settled();
      const runsBefore = engine.stats().runs;
      await addProject(ada, "older than the range");
      await engine.settled();
      expect(engine.stats().runs).toBe(runsBefore);
      expect(seen.last()).toBe(0);
      stop();
    });

    it("errors are pushed as errors and unknown functions refuse to be watched", async () => {
      const seen = collect();
      const stop = engine.watch("users.get", { id: "nope" }, null, (update) => seen.updates.push(update));
      await engine.settled();
      expect(seen.updates[0]).toMatchObject({ error: { code: "BAD_REQUEST" } });
      stop();
      expect(() => engine.watch("users.nope", {}, null, () => {})).toThrow(/No public function/);
    });
  });
}
