import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { defineSchema, defineTable, functionBuilders } from "../../runtime/index.js";
import { LiveQueryEngine, type WatchUpdate } from "../../runtime/live/liveQueryEngine.js";
import { tableOfId } from "../../runtime/schema/ids.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";

const schema = defineSchema({
  notes: defineTable({ title: z.string() }),
  tasks: defineTable({ title: z.string(), done: z.boolean() }).relational(),
});

const { query } = functionBuilders();
const functions = {
  docs: {
    get: query({
      args: { table: z.enum(["notes", "tasks"]), id: z.string() },
      handler: (ctx, args) => {
        const id = ctx.db.normalizeId(args.table, args.id);
        return id === null ? "not an id" : ctx.db.get(id);
      },
    }),
    list: query({
      args: { table: z.enum(["notes", "tasks"]) },
      handler: (ctx, args) => ctx.db.query(args.table).collect(),
    }),
  },
};

/** Rows written with plain SQL (psql): `_id` and `_creation_time` come from the tables' defaults. */
export function describeSqlWritersSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`INSERT from SQL on ${factory.name}`, () => {
    let database: TestDatabase;
    let table: (name: string) => string;
    beforeEach(async () => {
      database = await factory.open();
      table = (name) => `"${database.schemaName}"."${name}"`;
    });
    afterEach(async () => {
      await database.dispose();
    });

    const sync = () => syncSchema(database.driver, schema, { schemaName: database.schemaName });
    const insertBoth = async () => {
      const [note] = await database.driver.query<{ _id: string; _creation_time: number }>(
        `INSERT INTO ${table("notes")} (doc) VALUES ('{"title": "from psql"}') RETURNING _id, _creation_time`,
      );
      const [task] = await database.driver.query<{ _id: string; _creation_time: number }>(
        `INSERT INTO ${table("tasks")} (title, done) VALUES ('from psql', false) RETURNING _id, _creation_time`,
      );
      return { note: note!, task: task! };
    };

    it("gives _id a Convoy id of the table and _creation_time now in ms; ctx.db.get reads the row", async () => {
      await sync();
      const before = Date.now();
      const { note, task } = await insertBoth();
      for (const [name, row] of [
        ["notes", note],
        ["tasks", task],
      ] as const) {
        expect(tableOfId(row._id)).toBe(name);
        expect(row._id).toMatch(new RegExp(`^${name}_[0-9a-hjkmnp-tv-z]{26}$`));
        expect(Number(row._creation_time)).toBeGreaterThanOrEqual(before - 5_000);
        expect(Number(row._creation_time)).toBeLessThanOrEqual(Date.now() + 5_000);
      }
      // Ids of one table sort by time, as the runtime's do; each is new.
      const [second] = await database.driver.query<{ _id: string }>(
        `INSERT INTO ${table("notes")} (doc) VALUES ('{"title": "later"}') RETURNING _id`,
      );
      expect(second!._id > note._id).toBe(true);

      const runtime = new ConvoyRuntime({
        schema,
        functions,
        driver: database.driver,
        schemaName: database.schemaName,
      });
      expect(await runtime.call("docs.get", { table: "notes", id: note._id })).toEqual({
        _id: note._id,
        _creationTime: Number(note._creation_time),
        title: "from psql",
      });
      expect(await runtime.call("docs.get", { table: "tasks", id: task._id })).toMatchObject({
        _id: task._id,
        title: "from psql",
        done: false,
      });
    });

    it("tables made before the defaults existed get them on sync", async () => {
      await sync();
      for (const name of ["notes", "tasks"]) {
        await database.driver.exec(
          `ALTER TABLE ${table(name)} ALTER COLUMN _id DROP DEFAULT, ALTER COLUMN _creation_time DROP DEFAULT`,
        );
      }
      await expect(insertBoth()).rejects.toThrow(/null value in column "_id"/);
      const messages: string[] = [];
      await syncSchema(database.driver, schema, {
        schemaName: database.schemaName,
        onProgress: (message) => messages.push(message),
      });
      expect(messages.filter((message) => message.includes("defaults for _id"))).toHaveLength(2);
      const { note, task } = await insertBoth();
      expect(tableOfId(note._id)).toBe("notes");
      expect(tableOfId(task._id)).toBe("tasks");
      // Nothing left to alter: a second sync takes no lock for it.
      messages.length = 0;
      await syncSchema(database.driver, schema, {
        schemaName: database.schemaName,
        onProgress: (message) => messages.push(message),
      });
      expect(messages.filter((message) => message.includes("defaults for _id"))).toEqual([]);
    });

    it("a row written with SQL appears in live queries", async () => {
      await sync();
      const runtime = new ConvoyRuntime({
        schema,
        functions,
        driver: database.driver,
        schemaName: database.schemaName,
      });
      const engine = new LiveQueryEngine({ runtime, pollIntervalMs: 100 });
      await engine.start();
      try {
        const latest = new Map<string, WatchUpdate>();
        const stops = ["notes", "tasks"].map((name) =>
          engine.watch("docs.list", { table: name }, null, (update) => latest.set(name, update)),
        );
        await expect.poll(() => latest.get("notes")).toEqual({ value: [] });
        await expect.poll(() => latest.get("tasks")).toEqual({ value: [] });
        const { note, task } = await insertBoth();
        await expect
          .poll(() => latest.get("notes"), { timeout: 10_000 })
          .toEqual({ value: [expect.objectContaining({ _id: note._id, title: "from psql" })] });
        await expect
          .poll(() => latest.get("tasks"), { timeout: 10_000 })
          .toEqual({ value: [expect.objectContaining({ _id: task._id, title: "from psql", done: false })] });
        stops.forEach((stop) => stop());
      } finally {
        await engine.stop();
      }
    });
  });
}
