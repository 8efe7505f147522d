// A 100,000-document table promoted to relational columns while Convoy mutations (from a
// server on the old layout and one on the new), a raw SQL writer and live watchers run
// throughout; `convoy migrate` is SIGKILLed before (or during) each of its steps and
// resumed. Afterwards the data equals the reference kept by the writers, nothing is lost
// or doubled, and every watch holds what a fresh query returns. Then the table is rolled
// back to JSONB the same way.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { STEPS } from "../../generator/migrate/migrationPlan.js";
import { migrationStatus } from "../../generator/migrate/migrate.js";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";
import type { Driver } from "../../runtime/drivers/driver.js";
import { defineRef, functionBuilders, type Id, type SchemaDefinition } from "../../runtime/index.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { repoRoot } from "../support/cliProject.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { jsonbSchema, projectInput, promotedSchema } from "./migrationSchema.js";

const databaseUrl = inject("postgresUrl");
const DOCUMENTS = 100_000;
const USERS = 200;

const { query, mutation } = functionBuilders<typeof jsonbSchema>();
const functions = {
  projects: {
    add: mutation({
      args: { userId: defineRef("users"), n: z.number() },
      handler: (ctx, args) => ctx.db.insert("projects", projectInput(args.userId, args.n)),
    }),
    rename: mutation({
      args: { id: defineRef("projects"), name: z.string() },
      handler: (ctx, args) => ctx.db.patch(args.id, { name: args.name }),
    }),
    remove: mutation({
      args: { id: defineRef("projects") },
      handler: (ctx, args) => ctx.db.delete(args.id),
    }),
    byUser: query({
      args: { userId: defineRef("users") },
      handler: async (ctx, args) =>
        (
          await ctx.db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", args.userId))
            .order("desc")
            .take(500)
        ).map((doc) => [doc._id, doc.name]),
    }),
    recentOpen: query({
      args: {},
      handler: async (ctx) =>
        (
          await ctx.db
            .query("projects")
            .withIndex("by_status_created", (q) => q.eq("status", "open").gte("createdAt", 1490))
            .collect()
        ).map((doc) => doc._id),
    }),
  },
};

interface Server {
  driver: Driver;
  runtime: ConvoyRuntime;
  engine: LiveQueryEngine;
}

/** A process running the migration; `kill` SIGKILLs it. */
function migrator(schemaName: string, plansDir: string, mode: "migrate" | "rollback", lastStep?: string) {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "test/support/migrateProcess.ts",
      databaseUrl!,
      schemaName,
      plansDir,
      mode,
      ...(lastStep ? [lastStep] : []),
    ],
    { cwd: repoRoot },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    output: () => output,
    exited,
    async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<void> {
      const started = Date.now();
      while (!pattern.test(output)) {
        if (child.exitCode !== null)
          throw new Error(`migrator exited (${child.exitCode}) before ${pattern}:\n${output}`);
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${pattern}:\n${output}`);
        await sleep(5);
      }
    },
    async kill(): Promise<void> {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

describe.skipIf(databaseUrl === null)("migrating a 100,000-document table under load", () => {
  const schemaName = uniqueSchemaName();
  const plansDir = mkdtempSync(join(tmpdir(), "convoy-load-plans-"));
  const servers: Server[] = [];
  let admin: Driver;
  let userIds: Id<"users">[];
  /** What each writer's documents must hold at the end: name, or null once deleted. */
  const expected = new Map<string, string | null>();
  let running = true;
  const errors: unknown[] = [];

  const startServer = async (schema: SchemaDefinition): Promise<Server> => {
    const driver = createPostgresDriver({ connectionString: databaseUrl!, maxConnections: 6 });
    const runtime = new ConvoyRuntime({ schema, functions, driver, schemaName });
    const engine = new LiveQueryEngine({ runtime, pollIntervalMs: 200 });
    await engine.start();
    const server = { driver, runtime, engine };
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    admin = createPostgresDriver({ connectionString: databaseUrl!, maxConnections: 4 });
    await syncSchema(admin, jsonbSchema, { schemaName });
    const table = `"${schemaName}"."projects"`;
    await admin.exec(`INSERT INTO "${schemaName}"."users" (_id, _creation_time, doc)
      SELECT 'users_' || lpad(to_hex(u), 26, '0'), u, jsonb_build_object('name', 'user ' || u, 'createdAt', u)
        FROM generate_series(1, ${USERS}) AS u`);
    userIds = Array.from({ length: USERS }, (_, u) => `users_${(u + 1).toString(16).padStart(26, "0")}` as Id<"users">);
    await admin.exec(`INSERT INTO ${table} (_id, _creation_time, doc)
      SELECT 'projects_' || lpad(to_hex(i), 26, '0'), 1000 + i,
             jsonb_build_object('name', 'p' || i, 'userId', 'users_' || lpad(to_hex(1 + i % ${USERS}), 26, '0'),
               'createdAt', (1000 + i % 500)::float8, 'status', CASE WHEN i % 3 = 0 THEN 'done' ELSE 'open' END,
               'archived', i % 5 = 0, 'note', CASE WHEN i % 4 = 0 THEN NULL ELSE 'n' || i END, 'tags', '[]'::jsonb)
             || CASE WHEN i % 2 = 0 THEN jsonb_build_object('priority', i % 7) ELSE '{}'::jsonb END
        FROM generate_series(1, ${DOCUMENTS}) AS i`);
    await admin.exec(`ANALYZE ${table}`);
  }, 300_000);

  afterAll(async () => {
    running = false;
    for (const server of servers) {
      await server.engine.stop();
      await server.driver.close();
    }
    await admin?.exec(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await admin?.close();
    rmSync(plansDir, { recursive: true, force: true });
  });

  /** Convoy writers: each inserts documents of its own, renames and deletes some of them. */
  const convoyWriter = async (server: Server, writer: number) => {
    const mine: string[] = [];
    for (let i = 0; running; i++) {
      try {
        if (i % 5 === 4 && mine.length > 2) {
          const id = mine.splice(Math.floor(Math.random() * mine.length), 1)[0]!;
          await server.runtime.call("projects.remove", { id }, { kind: "mutation" });
          expected.set(id, null);
        } else if (i % 3 === 2 && mine.length > 0) {
          const id = mine[Math.floor(Math.random() * mine.length)]!;
          const name = `w${writer} rename ${i}`;
          await server.runtime.call("projects.rename", { id, name }, { kind: "mutation" });
          expected.set(id, name);
        } else {
          const n = writer * 1_000_000 + i;
          const id = (await server.runtime.call(
            "projects.add",
            { userId: userIds[i % 5]!, n },
            { kind: "mutation" },
          )) as string;
          mine.push(id);
          expected.set(id, projectInput(userIds[0]!, n).name);
        }
      } catch (error) {
        errors.push(error);
      }
    }
  };

  /**
   * A service writing SQL in whichever shape the table has: the JSONB shape while `doc`
   * exists, else the columns (a statement that meets the other shape, as the table
   * changes under it, is sent again in the one it has now).
   */
  const sqlWriter = async () => {
    const table = `"${schemaName}"."projects"`;
    const inEitherShape = async (asDoc: () => Promise<unknown>, asColumns: () => Promise<unknown>) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await (attempt % 2 === 0 ? asDoc() : asColumns());
        } catch (error) {
          // 42703: that shape's column is gone or not there yet; 23514: the row's doc is not
          // filled yet (a rollback's backfill has not reached it), so write the columns.
          const code = (error as { code?: string }).code;
          if ((code !== "42703" && code !== "23514") || attempt >= 5) throw error;
        }
      }
    };
    for (let i = 0; running; i++) {
      const id = `projects_${(0xf000000 + i).toString(16).padStart(26, "0")}`;
      const doc = { ...projectInput(userIds[1]!, 7_000_000 + i), archived: false, tags: [] };
      try {
        await inEitherShape(
          () =>
            admin.query(`INSERT INTO ${table} (_id, _creation_time, doc) VALUES ($1, $2, $3::jsonb)`, [
              id,
              Date.now(),
              JSON.stringify(doc),
            ]),
          () =>
            admin.query(
              `INSERT INTO ${table} (_id, _creation_time, name, user_id, created_at, status, archived, note, tags)
               VALUES ($1, $2, $3, $4, $5, $6, false, $7, '[]')`,
              [id, Date.now(), doc.name, doc.userId, doc.createdAt, doc.status, doc.note],
            ),
        );
        expected.set(id, doc.name);
        if (i % 2 === 1) {
          const renamed = `sql rename ${i}`;
          await inEitherShape(
            () =>
              admin.query(`UPDATE ${table} SET doc = jsonb_set(doc, '{name}', to_jsonb($2::text)) WHERE _id = $1`, [
                id,
                renamed,
              ]),
            () => admin.query(`UPDATE ${table} SET name = $2 WHERE _id = $1`, [id, renamed]),
          );
          expected.set(id, renamed);
        }
      } catch (error) {
        errors.push(error);
      }
      await sleep(2);
    }
  };

  const watchAll = (server: Server) => {
    const watches = [
      ...userIds.slice(0, 5).map((userId) => ({ path: "projects.byUser", args: { userId } })),
      { path: "projects.recentOpen", args: {} },
    ];
    return watches.map(({ path, args }) => {
      let latest: unknown;
      const stop = server.engine.watch(path, args, null, (update) => {
        latest = "value" in update ? update.value : update;
      });
      return { path, args, latest: () => latest, stop };
    });
  };

  /** Everything ends as the writers left it: each document once, with its last name; the seed untouched. */
  const expectData = async (server: Server) => {
    const rows = await server.runtime.store.query<{ _id: string; name: string; userId: string }[]>((db: any) =>
      db.query("projects").fullTableScan().collect(),
    );
    const byId = new Map(rows.map((row) => [row._id, row]));
    expect(byId.size).toBe(rows.length);
    const alive = [...expected].filter(([, name]) => name !== null);
    expect(rows.length).toBe(DOCUMENTS + alive.length);
    for (const [id, name] of expected) expect(byId.get(id)?.name ?? null, id).toBe(name);
    // The seed, spot-checked across the table.
    for (let i = 1; i <= DOCUMENTS; i += 997) {
      const id = `projects_${i.toString(16).padStart(26, "0")}`;
      expect(byId.get(id)).toEqual({
        _id: id,
        _creationTime: 1000 + i,
        name: `p${i}`,
        userId: `users_${(1 + (i % USERS)).toString(16).padStart(26, "0")}`,
        createdAt: 1000 + (i % 500),
        status: i % 3 === 0 ? "done" : "open",
        archived: i % 5 === 0,
        note: i % 4 === 0 ? null : `n${i}`,
        tags: [],
        ...(i % 2 === 0 ? { priority: i % 7 } : {}),
      });
    }
  };

  it("loses and doubles nothing, keeps watchers fresh, with convoy migrate killed at every step; rollback round-trips", async () => {
    const oldServer = await startServer(jsonbSchema);
    const newServer = await startServer(promotedSchema);
    const watches = watchAll(newServer);
    const load = [convoyWriter(oldServer, 1), convoyWriter(newServer, 2), convoyWriter(newServer, 3), sqlWriter()];
    await sleep(200);

    for (const step of STEPS) {
      // It holds before the step after this one: a kill late in a short step cannot skip the next.
      const run = migrator(schemaName, plansDir, "migrate", step);
      await run.waitFor(new RegExp(`^step ${step}$`, "m"));
      if (step === "backfill") await run.waitFor(/progress projects: backfill \d+/, 60_000).catch(() => {});
      else await sleep(Math.random() * 15);
      await run.kill();
      const [status] = await migrationStatus(admin, schemaName);
      expect(status?.status, run.output()).not.toBe("cancelled");
    }
    const finish = migrator(schemaName, plansDir, "migrate");
    expect(await finish.exited, finish.output()).toBe(0);
    expect((await migrationStatus(admin, schemaName))[0]).toMatchObject({ status: "done", table: "projects" });
    await sleep(300);

    // Back to JSONB while the load goes on, killed once in its backfill.
    const back = migrator(schemaName, plansDir, "rollback");
    await back.waitFor(/^step backfill$/m);
    await sleep(50);
    await back.kill();
    const resumed = migrator(schemaName, plansDir, "rollback");
    expect(await resumed.exited, resumed.output()).toBe(0);

    running = false;
    await Promise.all(load);
    expect(errors.map((error) => String(error))).toEqual([]);
    expect(expected.size).toBeGreaterThan(50);
    await expectData(newServer);
    await expectData(oldServer);
    for (const watch of watches) {
      const fresh = await newServer.runtime.call(watch.path, watch.args, { kind: "query" });
      await expect.poll(watch.latest, { timeout: 10_000 }).toEqual(fresh);
      watch.stop();
    }
    const layouts = await admin.query<{ layout: string }>(`SELECT layout FROM "${schemaName}"."_layouts"`);
    expect(layouts.map((row) => row.layout)).toEqual(["jsonb"]);
  }, 600_000);
});
