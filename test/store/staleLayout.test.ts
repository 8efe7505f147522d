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

    // PGlite runs one transaction at a time, so two cannot both be under way on the old layout.
    it.skipIf(factory.name === "pglite")(
      "runs a mutation again when a concurrent one already found the new layout",
      async () => {
        const { driver } = database;
        const schemaName = `${database.schemaName}_concurrent`;
        const dir = mkdtempSync(join(tmpdir(), "convoy-stale-layout-"));
        try {
          await syncSchema(driver, jsonbSchema, { schemaName });
          const stale = createDocumentStore({ schema: relationalSchema, driver, schemaName });
          const userId = await stale.mutation((db) => db.insert("users", { name: "Ada" }));
          await syncSchema(driver, relationalSchema, { schemaName });
          await migrate({ driver, schema: relationalSchema, schemaName, plansDir: dir });

          // The slow mutation queues its insert on the JSONB layout, then waits while another
          // meets the dropped column and re-reads the layouts; its own commit then fails the
          // same way, and re-reading finds nothing new: it must still run again.
          let resume!: () => void;
          const paused = new Promise<void>((resolve) => (resume = resolve));
          let runs = 0;
          const slow = stale.mutation(async (db) => {
            const id = await db.insert("projects", { name: "slow", userId });
            if (++runs === 1) await paused;
            return id;
          });
          await stale.mutation((db) => db.insert("projects", { name: "fast", userId }));
          expect(stale.layouts.of("projects").kind).toBe("relational");
          resume();
          await slow;
          expect(runs).toBe(2);

          const fresh = createDocumentStore({ schema: relationalSchema, driver, schemaName });
          const names = await fresh.query(async (db) => (await db.query("projects").collect()).map((p) => p.name));
          expect(names.sort()).toEqual(["fast", "slow"]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
          await driver.exec(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
        }
      },
    );
  });
}
