import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { postgresFactory, type TestDatabase } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";
import { describeSqlWritersSuite } from "./sqlWritersSuite.js";
import { describeSyncSuite } from "./syncSuite.js";

describeSyncSuite(postgresFactory);
describeSqlWritersSuite(postgresFactory);

describe.skipIf(postgresFactory.unavailable !== null)("sync beside writers (Postgres)", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await postgresFactory.open();
    await syncSchema(database.driver, testSchema, { schemaName: database.schemaName });
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("a sync with nothing to change takes no lock a writer holds (a restart beside serving peers cannot deadlock)", async () => {
    const schema = `"${database.schemaName}"`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // A writer mid-transaction: row locks on a document table, the change log (its
    // trigger) and the mutation results.
    const writer = database.driver.transaction("", async (tx) => {
      await tx.query(`INSERT INTO ${schema}."users" VALUES ('users_held', 1, '{"name":"held","createdAt":1}')`);
      await tx.query(`INSERT INTO ${schema}."_mutation_results" (id, fingerprint) VALUES ('held-held-held-held', 'f')`);
      holding();
      await released;
    });
    await held;
    try {
      const synced = syncSchema(database.driver, testSchema, { schemaName: database.schemaName });
      const outcome = await Promise.race([
        synced.then(() => "synced"),
        new Promise((resolve) => setTimeout(() => resolve("waited on the writer's locks"), 5000)),
      ]);
      expect(outcome).toBe("synced");
    } finally {
      release();
      await writer;
    }
  });
});
