import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { z } from "zod";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import type { Driver, DriverSession } from "../../runtime/drivers/driver.js";
import { defineRef, functionBuilders, type Id } from "../../runtime/index.js";
import { changeChannel, FEED_LOCKS, schemaLockKey } from "../../runtime/live/changeLogDdl.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { testDriverFactories, type TestDatabase } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";

const { mutation } = functionBuilders<typeof testSchema>();
const functions = {
  ...liveTestFunctions,
  slow: {
    /** Writes, then holds its transaction open a while: a mutation still in flight when a server joins. */
    add: mutation({
      args: { userId: defineRef("users"), name: z.string() },
      handler: async (ctx, args) => {
        const id = await ctx.db.insert("projects", { ...args, createdAt: 1 });
        await ctx.db.get(id); // sends the insert: the change-log trigger has run
        await sleep(150);
        return id;
      },
    }),
  },
};

/** One Convoy server's parts: a runtime and its live engine. */
interface Server {
  runtime: ConvoyRuntime;
  engine: LiveQueryEngine;
}

async function startServer(database: TestDatabase, driver: Driver, pollIntervalMs: number): Promise<Server> {
  const runtime = new ConvoyRuntime({ schema: testSchema, functions, driver, schemaName: database.schemaName });
  const engine = new LiveQueryEngine({ runtime, pollIntervalMs });
  await engine.start();
  return { runtime, engine };
}

/** The latest value a watch pushed. */
function watchLatest(server: Server, path: string, args: unknown): { latest: () => unknown; stop: () => void } {
  let latest: unknown;
  const stop = server.engine.watch(path, args, null, (update) => {
    latest = "value" in update ? update.value : update;
  });
  return { latest: () => latest, stop };
}

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`several live engines on one ${factory.name} database`, () => {
    let database: TestDatabase;
    const servers: Server[] = [];
    const start = async (driver = database.driver, pollIntervalMs = 100) => {
      const server = await startServer(database, driver, pollIntervalMs);
      servers.push(server);
      return server;
    };
    const stop = async (server: Server) => {
      servers.splice(servers.indexOf(server), 1);
      await server.engine.stop();
    };
    const logged = async (id: string) =>
      (
        await database.driver.query<{ n: number; origin: string | null }>(
          `SELECT count(*)::int AS n FROM "${database.schemaName}"."_changes" WHERE doc_id = $1`,
          [id],
        )
      )[0]!.n;

    beforeAll(async () => {
      database = await factory.open();
      await syncSchema(database.driver, testSchema, { schemaName: database.schemaName });
    });
    afterEach(async () => {
      for (const server of [...servers]) await stop(server);
    });
    afterAll(async () => {
      await database?.dispose();
    });

    /**
     * Waits until `server` skips the log (a server that just started may still see the
     * lock session of one stopped a moment ago); probes write to a user nobody watches.
     */
    const untilSolo = async (server: Server) => {
      const scratch = await addUser(server, "scratch");
      await expect
        .poll(async () => logged(await addProject(server, scratch, "probe")), { timeout: 10_000, interval: 50 })
        .toBe(0);
    };
    const addUser = (server: Server, name: string) =>
      server.runtime.call("users.add", { name }, { kind: "mutation" }) as Promise<Id<"users">>;
    const addProject = (server: Server, userId: string, name: string) =>
      server.runtime.call("projects.add", { userId, name }, { kind: "mutation" }) as Promise<string>;

    it("each server's mutations reach the other's watchers, and its own", async () => {
      const one = await start();
      const two = await start();
      const userId = await addUser(one, "Ada");
      const onOne = watchLatest(one, "projects.byUser", { userId });
      const onTwo = watchLatest(two, "projects.byUser", { userId });
      await expect.poll(onTwo.latest).toEqual([]);
      await addProject(one, userId, "from one");
      await expect.poll(onTwo.latest, { timeout: 5000 }).toEqual(["from one"]);
      await expect.poll(onOne.latest, { timeout: 5000 }).toEqual(["from one"]);
      await addProject(two, userId, "from two");
      await expect.poll(onOne.latest, { timeout: 5000 }).toEqual(["from one", "from two"]);
      await expect.poll(onTwo.latest, { timeout: 5000 }).toEqual(["from one", "from two"]);
      onOne.stop();
      onTwo.stop();
    });

    it("a runtime with no live engine (a script) reaches watchers without waiting for the safety poll", async () => {
      const server = await start(database.driver, 100_000_000);
      const script = new ConvoyRuntime({
        schema: testSchema,
        functions,
        driver: database.driver,
        schemaName: database.schemaName,
      });
      const userId = await script.store.mutation((db) => db.insert("users", { name: "Eve", createdAt: 1 }));
      const watch = watchLatest(server, "projects.byUser", { userId });
      await expect.poll(watch.latest).toEqual([]);
      await script.call("projects.add", { userId, name: "scripted" }, { kind: "mutation" });
      await expect.poll(watch.latest, { timeout: 3000 }).toEqual(["scripted"]);
      watch.stop();
    });

    if (factory.name !== "postgres") return;

    it("a lone server's mutations skip the log; a second server makes them logged until it leaves", async () => {
      const one = await start();
      await untilSolo(one);
      const userId = await addUser(one, "Bea");
      const watch = watchLatest(one, "projects.byUser", { userId });
      await expect.poll(watch.latest).toEqual([]);
      const alone = await addProject(one, userId, "alone");
      await expect.poll(watch.latest).toEqual(["alone"]);
      expect(await logged(alone)).toBe(0);

      // Another writer (psql, a script) is always logged, and reaches the watch.
      await database.driver.query(
        `INSERT INTO "${database.schemaName}".projects (_id, _creation_time, doc) VALUES ('projects_0000000000000000sqlwrite', $1, $2::jsonb)`,
        [Date.now() + 1, JSON.stringify({ name: "by sql", userId, createdAt: 1 })],
      );
      expect(await logged("projects_0000000000000000sqlwrite")).toBe(1);
      await expect.poll(watch.latest, { timeout: 5000 }).toEqual(["alone", "by sql"]);

      // From the moment a second server has started, every mutation is logged.
      const two = await start();
      const onTwo = watchLatest(two, "projects.byUser", { userId });
      const shared = await addProject(one, userId, "shared");
      expect(await logged(shared)).toBe(1);
      await expect.poll(onTwo.latest, { timeout: 5000 }).toEqual(["alone", "by sql", "shared"]);
      onTwo.stop();

      // Left alone again, the first server goes back to skipping the log.
      await stop(two);
      await untilSolo(one);
      expect(await logged(await addProject(one, userId, "solo again"))).toBe(0);
      await expect.poll(() => (watch.latest() as string[]).at(-1)).toBe("solo again");
      watch.stop();
    });

    it("servers waiting for the guard hold no snapshot for long: CREATE INDEX CONCURRENTLY and VACUUM go on", async () => {
      await start();
      await start();
      await start();
      // Two of them queue for the guard the third holds; each request waits at most a second.
      await sleep(1500);
      const started = Date.now();
      await database.driver.query(
        `CREATE INDEX CONCURRENTLY "projects_peers_probe" ON "${database.schemaName}".projects (_creation_time)`,
      );
      expect(Date.now() - started).toBeLessThan(8000);
      await database.driver.query(`DROP INDEX "${database.schemaName}"."projects_peers_probe"`);
      const [oldest] = await database.driver.query<{ age: number | null }>(
        `SELECT max(extract(epoch FROM now() - xact_start))::float8 AS age FROM pg_stat_activity
          WHERE datname = current_database() AND backend_xmin IS NOT NULL AND query LIKE '%pg_advisory_lock(%'`,
      );
      expect(oldest?.age ?? 0).toBeLessThan(3);
    });

    it("a server joining while another's mutations are in flight misses none of them", async () => {
      const one = await start();
      const userId = await addUser(one, "Cy");
      for (let round = 0; round < 4; round++) {
        // The first server is alone again (solo) before the next one joins.
        await untilSolo(one);
        let writing = true;
        const writers = Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; writing; i++)
            await one.runtime.call("slow.add", { userId, name: `r${round}w${w}i${i}` }, { kind: "mutation" });
        });
        await sleep(40);
        // Each writer is now inside a mutation that has written and holds its transaction open.
        writing = false;
        const driver = (await factory.open()).driver; // a second server has a pool of its own
        try {
          const two = await start(driver);
          const watch = watchLatest(two, "projects.byUser", { userId });
          await Promise.all(writers);
          const fresh = await two.runtime.call("projects.byUser", { userId }, { kind: "query" });
          await expect.poll(watch.latest, { timeout: 5000 }).toEqual(fresh);
          watch.stop();
          await stop(two);
        } finally {
          await driver.close();
        }
      }
    });

    it("a server whose lock session is killed reconnects and re-runs its watches", async () => {
      const one = await start();
      const two = await start();
      const userId = await addUser(one, "Di");
      const watch = watchLatest(one, "projects.byUser", { userId });
      await expect.poll(watch.latest).toEqual([]);
      const presence = () =>
        database.driver.query<{ pid: number }>(
          `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid AND granted`,
          [FEED_LOCKS.presence, schemaLockKey(database.schemaName)],
        );
      // Lock sessions of servers stopped by earlier tests may take a moment to end.
      await expect.poll(async () => (await presence()).length, { timeout: 5000 }).toBe(2);
      const sessions = await presence();
      await database.driver.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [
        sessions.map((session) => session.pid),
      ]);
      for (let i = 0; i < 3; i++) await addProject(two, userId, `p${i}`);
      await expect.poll(watch.latest, { timeout: 10_000 }).toEqual(["p0", "p1", "p2"]);
      await expect.poll(async () => (await presence()).length, { timeout: 10_000 }).toBe(2);
      await addProject(two, userId, "after");
      await expect.poll(watch.latest, { timeout: 5000 }).toEqual(["p0", "p1", "p2", "after"]);
      watch.stop();
    });

    describe("the change-log trigger", () => {
      let session: DriverSession;
      beforeAll(async () => {
        session = await database.driver.openSession!(() => {});
        await session.query("SELECT pg_advisory_lock($1::int, $2::int)", [FEED_LOCKS.session, session.processId]);
      });
      afterAll(async () => {
        await session?.close();
      });

      /** Inserts a project in a transaction with `convoy.mutation` = `mode`; returns its log rows' origins and whether it notified. */
      async function insertWith(mode: string | null) {
        const listener = new pg.Client({ connectionString: inject("postgresUrl")! });
        await listener.connect();
        const notices: string[] = [];
        listener.on("notification", (message) => notices.push(message.payload ?? ""));
        await listener.query(`LISTEN "${changeChannel(database.schemaName)}"`);
        const id = `projects_${randomBytes(13).toString("hex")}`;
        await database.driver.transaction(mode === null ? "" : `SET LOCAL convoy.mutation = '${mode}'`, async (tx) => {
          await tx.query(
            `INSERT INTO "${database.schemaName}".projects (_id, _creation_time, doc) VALUES ($1, 3, '{"name":"t","userId":"u","createdAt":1}')`,
            [id],
          );
        });
        const { rows } = await listener.query<{ origin: string | null }>(
          `SELECT origin FROM "${database.schemaName}"."_changes" WHERE doc_id = $1`,
          [id],
        );
        await sleep(100); // a notice sent at commit has arrived by now
        await listener.end();
        return { origins: rows.map((row) => row.origin), notified: notices.length > 0 };
      }

      it("skips a solo mutation while its server's session lives and no feed holds the guard", async () => {
        expect(await insertWith(`solo:me:${session.processId}`)).toEqual({ origins: [], notified: false });
      });

      it("logs and notifies a solo mutation whose server's session is gone", async () => {
        const gone = await database.driver.openSession!(() => {});
        const pid = gone.processId;
        await gone.close();
        expect(await insertWith(`solo:me:${pid}`)).toEqual({ origins: ["me"], notified: true });
      });

      it("logs and notifies a solo mutation while another feed holds the guard", async () => {
        const peer = await database.driver.openSession!(() => {});
        await peer.query("SELECT pg_advisory_lock($1::int, $2::int)", [
          FEED_LOCKS.guard,
          schemaLockKey(database.schemaName),
        ]);
        try {
          expect(await insertWith(`solo:me:${session.processId}`)).toEqual({ origins: ["me"], notified: true });
        } finally {
          await peer.close();
        }
      });

      it("logs a shared mutation with its origin and leaves notifying to its server", async () => {
        expect(await insertWith("log:me")).toEqual({ origins: ["me"], notified: false });
      });

      it("logs and notifies any other writer's change", async () => {
        expect(await insertWith(null)).toEqual({ origins: [null], notified: true });
      });
    });
  });
}
