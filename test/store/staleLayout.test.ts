import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { migrate } from "../../generator/migrate/migrate.js";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { defineRef, defineSchema, defineTable } from "../../runtime/index.js";
import { createDocumentStore } from "../../runtime/server/createDocumentStore.js";
import { testDriverFactories, type TestDatabase } from "../support/testDatabases.js";

const users = defineTable({ name: z.string() });
const projects = defineTable({ name: z.string(), userId: defineRef("users") }).index("by_userId", ["userId"]);
const jsonbSchema = defineSchema({ users, projects });
const relationalSchema = defineSchema({ users, projects: projects.relational() });

// A server that read the layouts before a migration switched them keeps writing the old
// shape until the contract step drops it. A mutation that only writes sends its statements
// with COMMIT, so the "column does not exist" answer comes while committing; it did not
// commit (the statement failed before COMMIT ran), so it must run again on the new layout.
for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`a store that missed a migration, on ${factory.name}`, () => {
    let database: TestDatabase;
    let plansDir: string;

    beforeAll(async () => {
      database = await factory.open();
      plansDir = mkdtempSync(join(tmpdir(), "convoy-stale-layout-"));
    });
    afterAll(async () => {
      rmSync(plansDir, { recursive: true, force: true });
      await database?.dispose();
    });

    it("runs write-only and read-write mutations again on the migrated table", async () => {
      const { driver, schemaName } = database;
      await syncSchema(driver, jsonbSchema, { schemaName });
      const stale = createDocumentStore({ schema: relationalSchema, driver, schemaName });
      const userId = await stale.mutation((db) => db.insert("users", { name: "Ada" }));
      const kept = await stale.mutation((db) => db.insert("projects", { name: "kept", userId }));
      expect(stale.layouts.of("projects").kind).toBe("jsonb");

      await syncSchema(driver, relationalSchema, { schemaName });
      await migrate({ driver, schema: relationalSchema, schemaName, plansDir });

      // The store still holds the JSONB layout: its first write meets the dropped `doc` column.
      const added = await stale.mutation((db) => db.insert("projects", { name: "added", userId }));
      expect(stale.layouts.of("projects").kind).toBe("relational");
      await stale.mutation((db) => db.patch("projects", kept, { name: "renamed" }));

      const fresh = createDocumentStore({ schema: relationalSchema, driver, schemaName });
      const names = await fresh.query(async (db) =>
        (await db.query("projects").collect()).map((project) => [project._id, project.name]),
      );
      expect(names).toEqual([
        [kept, "renamed"],
        [added, "added"],
      ]);
    });
  });
}
