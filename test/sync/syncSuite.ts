import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { ConvoyError, defineSchema, defineTable } from "../../runtime/index.js";
import { createDocumentStore } from "../../runtime/server/createDocumentStore.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";

const v1 = defineSchema({
  notes: defineTable({ title: z.string(), body: z.string() }).index("by_title", ["title"]),
});

/** Schema sync on one driver: create, evolve, refuse, report. */
export function describeSyncSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`schema sync on ${factory.name}`, () => {
    let database: TestDatabase;
    beforeEach(async () => {
      database = await factory.open();
    });
    afterEach(async () => {
      await database.dispose();
    });

    const managedIndexes = async () =>
      (
        await database.driver.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind = 'i' AND obj_description(c.oid, 'pg_class') LIKE '{"convoy":1%'
            ORDER BY 1`,
          [database.schemaName],
        )
      ).map((row) => row.name);

    const sync = (schema: Parameters<typeof syncSchema>[1]) =>
      syncSchema(database.driver, schema, { schemaName: database.schemaName });

    it("creates tables, indexes and the metadata record, and is idempotent", async () => {
      const first = await sync(v1);
      expect(first).toMatchObject({ createdTables: ["notes"], droppedIndexes: [], orphanedTables: [] });
      expect(first.createdIndexes.sort()).toEqual(["notes__by_creation_time", "notes__by_title"]);
      expect(await managedIndexes()).toEqual(["notes__by_creation_time", "notes__by_title"]);
      const [meta] = await database.driver.query<{ tables: Record<string, unknown> }>(
        `SELECT tables FROM "${database.schemaName}"."_schema"`,
      );
      expect(meta!.tables).toHaveProperty("notes.indexes", [["by_title", "title"]]);

      const second = await sync(v1);
      expect(second).toEqual({
        createdTables: [],
        createdIndexes: [],
        droppedIndexes: [],
        orphanedTables: [],
        checkedDocuments: 0,
        alteredColumns: [],
        pendingLayouts: [],
      });
    });

    it("makes the change log unlogged with only its xid index, upgrading a log an earlier version made", async () => {
      const log = `"${database.schemaName}"."_changes"`;
      const shape = async () => {
        const [table] = await database.driver.query<{ persistence: string }>(
          `SELECT c.relpersistence AS persistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = '_changes'`,
          [database.schemaName],
        );
        const indexes = await database.driver.query<{ name: string }>(
          `SELECT indexname AS name FROM pg_indexes WHERE schemaname = $1 AND tablename = '_changes' ORDER BY 1`,
          [database.schemaName],
        );
        return { persistence: table?.persistence, indexes: indexes.map((index) => index.name) };
      };
      await sync(v1);
      expect(await shape()).toEqual({ persistence: "u", indexes: ["_changes_xid"] });

      // The log as session 2's version made it, holding a row.
      await database.driver.exec(
        `DROP TABLE ${log}; CREATE TABLE ${log} (id bigserial PRIMARY KEY, xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
          tbl text NOT NULL, doc_id text, old_creation_time double precision, old_doc jsonb,
          new_creation_time double precision, new_doc jsonb, at timestamptz NOT NULL DEFAULT now());
         CREATE INDEX "_changes_xid" ON ${log} (xid); CREATE INDEX "_changes_at" ON ${log} (at);
         INSERT INTO ${log} (tbl, doc_id) VALUES ('notes', 'kept')`,
      );
      expect(await shape()).toEqual({ persistence: "p", indexes: ["_changes_at", "_changes_pkey", "_changes_xid"] });
      await sync(v1);
      expect(await shape()).toEqual({ persistence: "u", indexes: ["_changes_xid"] });
      expect(await database.driver.query(`SELECT tbl, doc_id FROM ${log}`)).toEqual([{ tbl: "notes", doc_id: "kept" }]);
    });

    it("a schema with refs, defaults and nested objects re-syncs without re-checking documents", async () => {
      await sync(testSchema);
      const store = createDocumentStore({
        schema: testSchema,
        driver: database.driver,
        schemaName: database.schemaName,
      });
      await store.mutation(async (db) => {
        const userId = await db.insert("users", { name: "a", createdAt: 1 });
        await db.insert("projects", { name: "p", userId, createdAt: 1, meta: { color: "red" } });
      });
      const again = await sync(testSchema);
      expect(again.checkedDocuments).toBe(0);
      expect(again.createdIndexes).toEqual([]);
    });

    it("drops indexes that left the schema and rebuilds changed ones; user indexes are left alone", async () => {
      await sync(v1);
      await database.driver.exec(`CREATE INDEX my_own_index ON "${database.schemaName}".notes ((doc->>'body'))`);
      const v2 = defineSchema({
        notes: defineTable({ title: z.string(), body: z.string() }).index("by_body", ["body"]),
      });
      const report = await sync(v2);
      expect(report.droppedIndexes).toEqual(["notes__by_title"]);
      expect(report.createdIndexes).toEqual(["notes__by_body"]);
      const v3 = defineSchema({
        notes: defineTable({ title: z.string(), body: z.string() }).index("by_body", ["body", "title"]),
      });
      expect((await sync(v3)).createdIndexes).toEqual(["notes__by_body"]);
      expect(await managedIndexes()).toEqual(["notes__by_body", "notes__by_creation_time"]);
      const own = await database.driver.query(
        `SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'my_own_index'`,
        [database.schemaName],
      );
      expect(own).toHaveLength(1);
    });

    it("refuses a change existing documents violate, lists them, and changes nothing", async () => {
      await sync(v1);
      const store = createDocumentStore({ schema: v1, driver: database.driver, schemaName: database.schemaName });
      const ids = await store.mutation(async (db) => [
        await db.insert("notes", { title: "a", body: "x" }),
        await db.insert("notes", { title: "b", body: "y" }),
      ]);
      const strict = defineSchema({
        notes: defineTable({ title: z.string(), body: z.string(), author: z.string() }).index("by_author", ["author"]),
      });
      const error = await sync(strict).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConvoyError);
      expect((error as ConvoyError).code).toBe("PRECONDITION_FAILED");
      expect((error as ConvoyError).message).toMatch(/2 existing document\(s\) do not match/);
      for (const id of ids) expect((error as ConvoyError).message).toContain(`notes ${id}: author:`);
      expect((error as ConvoyError).data).toMatchObject({ total: 2 });
      expect(await managedIndexes()).toEqual(["notes__by_creation_time", "notes__by_title"]);

      // Optional fields (or defaults) are compatible: the sync goes through.
      const relaxed = defineSchema({
        notes: defineTable({ title: z.string(), body: z.string(), author: z.string().optional() }),
      });
      const report = await sync(relaxed);
      expect(report.checkedDocuments).toBe(2);
      expect(report.droppedIndexes).toEqual(["notes__by_title"]);
    });

    it("keeps the data of a table that left the schema and reports it", async () => {
      await sync(v1);
      const store = createDocumentStore({ schema: v1, driver: database.driver, schemaName: database.schemaName });
      await store.mutation((db) => db.insert("notes", { title: "kept", body: "" }));
      const other = defineSchema({ tasks: defineTable({ text: z.string() }) });
      const report = await sync(other);
      expect(report.orphanedTables).toEqual(["notes"]);
      const rows = await database.driver.query(`SELECT doc->>'title' AS title FROM "${database.schemaName}".notes`);
      expect(rows).toEqual([{ title: "kept" }]);
    });
  });
}
