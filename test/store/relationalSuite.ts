import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { ConvoyError, defineRef, defineSchema, defineTable, type SchemaDefinition } from "../../runtime/index.js";
import { createDocumentStore } from "../../runtime/server/createDocumentStore.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";

async function rejection(promise: Promise<unknown>): Promise<ConvoyError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a ConvoyError, but it succeeded");
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConvoyError);
  return error as ConvoyError;
}

const users = defineTable({ name: z.string() }).relational();
const tasks = <TShape extends z.ZodRawShape = Record<never, never>>(shape: TShape = {} as TShape) =>
  defineTable({ title: z.string(), ownerId: defineRef("users"), ...shape }).relational();

/** What only relational tables do: references checked at commit, columns psql writes, column DDL on schema changes. */
export function describeRelationalSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`relational tables on ${factory.name}`, () => {
    let database: TestDatabase;
    beforeEach(async () => {
      database = await factory.open();
    });
    afterEach(async () => {
      await database.dispose();
    });
    const sync = (schema: SchemaDefinition) => syncSchema(database.driver, schema, { schemaName: database.schemaName });
    const storeOf = (schema: SchemaDefinition) =>
      createDocumentStore({ schema, driver: database.driver, schemaName: database.schemaName }) as never as {
        mutation<T>(fn: (db: any) => Promise<T>): Promise<T>;
        query<T>(fn: (db: any) => Promise<T>): Promise<T>;
      };
    const sql = (text: string, params: unknown[] = []) => database.driver.query<Record<string, unknown>>(text, params);
    const t = (name: string) => `"${database.schemaName}"."${name}"`;
    const column = async (table: string, name: string) =>
      (
        await sql(
          `SELECT data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3`,
          [database.schemaName, table, name],
        )
      )[0];

    it("checks references at commit: in any order within a mutation, refused when left dangling", async () => {
      const schema = defineSchema({ users, tasks: tasks() });
      await sync(schema);
      const store = storeOf(schema);
      // A task before its owner, in one mutation.
      const { ownerId } = await store.mutation(async (db) => {
        const owner = await db.insert("users", { name: "Ada" });
        await db.insert("tasks", { title: "first", ownerId: owner });
        return { ownerId: owner as string };
      });
      // Deleting the owner, then its tasks, in one mutation.
      await store.mutation(async (db) => {
        const owned = await db.query("tasks").fullTableScan().collect();
        await db.delete(ownerId);
        for (const task of owned) await db.delete(task._id);
      });
      expect(await sql(`SELECT count(*)::int AS n FROM ${t("tasks")}`)).toEqual([{ n: 0 }]);

      const owner = await store.mutation((db) => db.insert("users", { name: "Bo" }));
      await store.mutation((db) => db.insert("tasks", { title: "kept", ownerId: owner }));
      const dangling = await rejection(
        store.mutation(async (db) => {
          await db.insert("tasks", { title: "orphan", ownerId: "users_00000000000000000000000dad" });
          await db.insert("users", { name: "not kept either" });
        }),
      );
      expect(dangling.code).toBe("BAD_REQUEST");
      expect(dangling.message).toMatch(
        /A reference points at no document \(Key \(owner_id\)=\(users_00000000000000000000000dad\) is not present in table "users"\.\): insert the referenced document first/,
      );
      const stillReferenced = await rejection(store.mutation((db) => db.delete(owner)));
      expect(stillReferenced.code).toBe("PRECONDITION_FAILED");
      expect(stillReferenced.message).toMatch(/is still referenced from table "tasks"/);
      expect(await sql(`SELECT name FROM ${t("users")} ORDER BY name`)).toEqual([{ name: "Bo" }]);
    });

    it("with foreignKeys: false a reference is a plain text column, and turning the key on checks the rows", async () => {
      const loose = defineSchema({
        users,
        tasks: defineTable({ title: z.string(), ownerId: defineRef("users") }).relational({ foreignKeys: false }),
      });
      await sync(loose);
      const store = storeOf(loose);
      const dangling = await store.mutation<string>((db) =>
        db.insert("tasks", { title: "orphan", ownerId: "users_00000000000000000000000dad" }),
      );
      const keys = () =>
        sql(`SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'f'`, [t("tasks")]);
      expect(await keys()).toEqual([]);
      // Asking for the key: refused while a row points nowhere, added once none does.
      const strict = defineSchema({ users, tasks: tasks() });
      const refused = await rejection(sync(strict));
      expect(refused.code).toBe("PRECONDITION_FAILED");
      expect(refused.message).toContain(`tasks ${dangling}: ownerId users_00000000000000000000000dad`);
      expect(await keys()).toEqual([]);
      await store.mutation((db) => db.delete(dangling));
      expect((await sync(strict)).alteredColumns).toEqual([]);
      expect(await keys()).toEqual([{ conname: "tasks__owner_id__fkey" }]);
    });

    it("is plain columns to psql: reserved words, checks, and the change log's document JSON", async () => {
      const schema = defineSchema({
        users,
        tasks: tasks({
          order: z.number(),
          select: z.enum(["a", "b"]),
          doc: z.string().optional(),
          when: z.number().nullable(),
        }).index("by_order", ["order"]),
      });
      await sync(schema);
      const store = storeOf(schema);
      const ownerId = await store.mutation((db) => db.insert("users", { name: "Ada" }));
      const id = await store.mutation((db) =>
        db.insert("tasks", { title: "t", ownerId, order: 2, select: "a", doc: "x", when: null }),
      );
      expect(await sql(`SELECT title, owner_id, "order", "select", doc_, "when" FROM ${t("tasks")}`)).toEqual([
        { title: "t", owner_id: ownerId, order: 2, select: "a", doc_: "x", when: null },
      ]);
      expect(
        await store.query((db) =>
          db
            .query("tasks")
            .withIndex("by_order", (q: any) => q.eq("order", 2))
            .collect(),
        ),
      ).toEqual([
        {
          _id: id,
          _creationTime: expect.any(Number),
          doc: "x",
          order: 2,
          title: "t",
          when: null,
          select: "a",
          ownerId,
        },
      ]);
      // A write by psql: its change-log row carries the same document the store reads.
      await sql(`UPDATE ${t("tasks")} SET "order" = 3, doc_ = NULL WHERE _id = $1`, [id]);
      const [change] = await sql(
        `SELECT new_doc FROM "${database.schemaName}"."_changes" WHERE doc_id = $1 AND old_doc IS NOT NULL`,
        [id],
      );
      const { _id, _creationTime, ...fields } = await store.query<Record<string, unknown>>((db) => db.get(id));
      expect(change?.new_doc).toEqual(fields);
      expect(fields).toEqual({ title: "t", ownerId, order: 3, select: "a", when: null });
      // Constraints hold for psql too.
      const badEnum = await sql(`UPDATE ${t("tasks")} SET "select" = 'c' WHERE _id = $1`, [id]).catch(
        (e: unknown) => e,
      );
      expect((badEnum as { code?: string }).code).toBe("23514");
      const notFinite = await sql(`UPDATE ${t("tasks")} SET "order" = 'NaN' WHERE _id = $1`, [id]).catch(
        (e: unknown) => e,
      );
      expect((notFinite as { code?: string }).code).toBe("23514");
    });

    it("syncs schema changes as column DDL, refusing with a report what existing rows violate", async () => {
      const v1 = defineSchema({ users, tasks: tasks({ done: z.boolean() }) });
      await sync(v1);
      const store = storeOf(v1);
      const ownerId = await store.mutation<string>((db) => db.insert("users", { name: "Ada" }));
      const id = await store.mutation<string>((db) => db.insert("tasks", { title: "one", ownerId, done: false }));

      // Adding a field: optional is a new nullable column; required is refused while rows lack it.
      const optional = await sync(
        defineSchema({ users, tasks: tasks({ done: z.boolean(), note: z.string().optional() }) }),
      );
      expect(optional.alteredColumns).toEqual(["tasks.note: added (text)"]);
      expect(await column("tasks", "note")).toEqual({ data_type: "text", is_nullable: "YES" });
      const required = await rejection(
        sync(defineSchema({ users, tasks: tasks({ done: z.boolean(), due: z.number() }) })),
      );
      expect(required.code).toBe("PRECONDITION_FAILED");
      expect(required.message).toContain(`tasks ${id}: due:`);
      expect(await column("tasks", "due")).toBeUndefined();

      // Making a field optional, then required again (no row lacks it).
      const relaxed = defineSchema({
        users,
        tasks: tasks({ done: z.boolean().optional(), note: z.string().optional() }),
      });
      expect((await sync(relaxed)).alteredColumns).toEqual(["tasks.done: NULL allowed"]);
      expect(await column("tasks", "done")).toEqual({ data_type: "boolean", is_nullable: "YES" });
      const relaxedStore = storeOf(relaxed);
      const open = await relaxedStore.mutation<string>((db) => db.insert("tasks", { title: "open", ownerId }));
      const strict = defineSchema({ users, tasks: tasks({ done: z.boolean(), note: z.string().optional() }) });
      const refused = await rejection(sync(strict));
      expect(refused.message).toContain(`tasks ${open}: done:`);
      await relaxedStore.mutation((db) => db.patch(open, { done: true }));
      expect((await sync(strict)).alteredColumns).toEqual(["tasks.done: NOT NULL"]);

      // Removing a field: refused while a row has a value; the column goes once none has.
      const withoutNote = defineSchema({ users, tasks: tasks({ done: z.boolean() }) });
      await storeOf(strict).mutation((db) => db.patch(id, { note: "keep me" }));
      const lost = await rejection(sync(withoutNote));
      expect(lost.message).toMatch(/Unrecognized key.*note|note/);
      expect(await column("tasks", "note")).toBeDefined();
      await storeOf(strict).mutation((db) => db.patch(id, { note: undefined }));
      expect((await sync(withoutNote)).alteredColumns).toEqual([
        "tasks.note: dropped (field note left the schema; no document had it)",
      ]);

      // Changing a type: an empty column takes the new type; one with values that do not convert is refused.
      const withScore = defineSchema({ users, tasks: tasks({ done: z.boolean(), score: z.number().optional() }) });
      await sync(withScore);
      expect(
        (await sync(defineSchema({ users, tasks: tasks({ done: z.boolean(), score: z.string().optional() }) })))
          .alteredColumns,
      ).toEqual(["tasks.score: double precision -> text"]);
      const scored = defineSchema({ users, tasks: tasks({ done: z.boolean(), score: z.string().optional() }) });
      await storeOf(scored).mutation((db) => db.patch(id, { score: "high" }));
      const toNumber = await rejection(
        sync(defineSchema({ users, tasks: tasks({ done: z.boolean(), score: z.number().optional() }) })),
      );
      expect(toNumber.message).toContain(`tasks ${id}: score:`);
      // Widening to a union keeps every value: converted in place.
      const widened = defineSchema({
        users,
        tasks: tasks({ done: z.boolean(), score: z.union([z.string(), z.number()]).optional() }),
      });
      expect((await sync(widened)).alteredColumns).toEqual([
        "tasks.score: text -> jsonb (1 value(s) converted; the table is rewritten)",
      ]);
      expect(await storeOf(widened).query((db) => db.get(id))).toMatchObject({ score: "high" });
      await storeOf(widened).mutation((db) => db.patch(id, { score: undefined }));

      // An enum that gains a value, and an index added then dropped.
      const status = (values: [string, ...string[]]) =>
        defineSchema({ users, tasks: tasks({ done: z.boolean(), state: z.enum(values).optional() }) });
      await sync(status(["new", "old"]));
      await sync(status(["new", "old", "gone"]));
      await storeOf(status(["new", "old", "gone"])).mutation((db) => db.patch(id, { state: "gone" }));
      const indexed = defineSchema({
        users,
        tasks: tasks({ done: z.boolean(), state: z.enum(["new", "old", "gone"]).optional() }).index("by_state", [
          "state",
        ]),
      });
      expect((await sync(indexed)).createdIndexes).toEqual(["tasks__by_state"]);
      const found: { _id: string }[] = await storeOf(indexed).query((db) =>
        db
          .query("tasks")
          .withIndex("by_state", (q: any) => q.eq("state", "gone"))
          .collect(),
      );
      expect(found.map((task) => task._id)).toEqual([id]);
      expect((await sync(status(["new", "old", "gone"]))).droppedIndexes).toEqual(["tasks__by_state"]);
    });
  });
}
