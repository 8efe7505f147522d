import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { z } from "zod";
import { applyMigration } from "../../generator/migrate/applyMigration.js";
import { planMigration } from "../../generator/migrate/migrationPlan.js";
import { planHash, renderPlan } from "../../generator/migrate/planFile.js";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { defineSchema, defineTable } from "../../runtime/index.js";
import { createDocumentStore } from "../../runtime/server/createDocumentStore.js";
import { postgresFactory, type TestDatabase } from "../support/testDatabases.js";

const projects = defineTable({ name: z.string() }).index("by_name", ["name"]);
const jsonbSchema = defineSchema({ projects });
const relationalSchema = defineSchema({ projects: projects.relational() });

// An app transaction that read the table and then writes it (a patch: a read, then an
// UPDATE) must not deadlock with the contract step. A step that first took a weaker lock
// (re-creating the change-log triggers) and then asked for ACCESS EXCLUSIVE made the
// reader's UPDATE wait for the step, and the step for the reader, until the lock timeout
// undid the step and it started over, every time a reader came in between. Taking ACCESS
// EXCLUSIVE first, the step waits for the reader, which finishes.
// Postgres only: PGlite runs one transaction at a time.
describe.skipIf(postgresFactory.unavailable !== null)("the contract step", () => {
  let database: TestDatabase;
  let reader: pg.Client;

  beforeAll(async () => {
    database = await postgresFactory.open();
    reader = new pg.Client({ connectionString: inject("postgresUrl")! });
    await reader.connect();
  });
  afterAll(async () => {
    await reader?.end().catch(() => {});
    await database?.dispose();
  });

  it("waits for a transaction that read the table and then writes it, without a lock timeout", async () => {
    const { driver, schemaName } = database;
    const table = `"${schemaName}".projects`;
    await syncSchema(driver, jsonbSchema, { schemaName });
    const store = createDocumentStore({ schema: jsonbSchema, driver, schemaName });
    const id = await store.mutation((db) => db.insert("projects", { name: "a" }));
    await syncSchema(driver, relationalSchema, { schemaName });
    const plan = planMigration({
      name: "0001_projects_to_relational",
      schemaName,
      table: "projects",
      definition: relationalSchema.tables.projects,
      from: "jsonb",
      to: "relational",
      rowsEstimate: 1,
    });
    const hash = planHash(renderPlan(plan, new Date()));
    // Every step but the last; given the whole plan, applyMigration then resumes at the contract.
    await applyMigration({ driver, plan: { ...plan, steps: plan.steps.slice(0, -1) }, hash });

    await reader.query("BEGIN");
    await reader.query(`SELECT name FROM ${table} WHERE _id = $1`, [id]);
    const progress: string[] = [];
    const contract = applyMigration({
      driver,
      plan,
      hash,
      lockTimeoutMs: 5000,
      onProgress: (message) => progress.push(message),
    });
    // Until the step is queued for its ACCESS EXCLUSIVE lock behind the reader.
    const queued = async () => {
      const [row] = await driver.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE relation = $1::regclass AND mode = 'AccessExclusiveLock' AND NOT granted`,
        [table],
      );
      return row!.n > 0;
    };
    for (let tries = 0; !(await queued()); tries++) {
      if (tries > 500) throw new Error("the contract step never asked for its lock");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await reader.query(`UPDATE ${table} SET name = 'b' WHERE _id = $1`, [id]);
    await reader.query("COMMIT");
    await contract;

    expect(progress.filter((message) => message.includes("waiting for a lock"))).toEqual([]);
    const reread = createDocumentStore({ schema: relationalSchema, driver, schemaName });
    expect(await reread.query((db) => db.query("projects").collect())).toMatchObject([{ _id: id, name: "b" }]);
  });
});
