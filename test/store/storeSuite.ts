import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { ConvoyError, type ExpressionOrValue, type FilterBuilder, type Id } from "../../runtime/index.js";
import type { DocumentStore } from "../../runtime/store/documentStore.js";
import { createDocumentStore } from "../../runtime/server/createDocumentStore.js";
import type { DataModelFromSchema } from "../../runtime/schema/dataModel.js";
import type { Read } from "../../runtime/store/readSet.js";
import { Database } from "../../runtime/store/database.js";
import type { QueryImpl } from "../../runtime/store/query.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import { schemaForLayout, testSchema as jsonbTestSchema } from "../support/testSchema.js";
import type { LayoutKind } from "../../runtime/index.js";

type Store = DocumentStore<DataModelFromSchema<typeof jsonbTestSchema>>;
type ProjectDoc = DataModelFromSchema<typeof jsonbTestSchema>["projects"]["document"];

async function expectConvoyError(promise: Promise<unknown>, code: string, message: RegExp): Promise<ConvoyError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a ConvoyError, but the call succeeded");
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConvoyError);
  expect((error as ConvoyError).code).toBe(code);
  expect((error as ConvoyError).message).toMatch(message);
  return error as ConvoyError;
}

/** The store's whole contract, run on one driver and one storage layout. */
export function describeStoreSuite(factory: TestDriverFactory, layout: LayoutKind = "jsonb"): void {
  const testSchema = schemaForLayout(jsonbTestSchema, layout);
  describe.skipIf(factory.unavailable !== null)(`document store on ${factory.name}, ${layout} tables`, () => {
    let database: TestDatabase;
    let store: Store;

    beforeAll(async () => {
      database = await factory.open();
      await syncSchema(database.driver, testSchema, { schemaName: database.schemaName });
      store = createDocumentStore({ schema: testSchema, driver: database.driver, schemaName: database.schemaName });
    });
    afterAll(async () => {
      await database?.dispose();
    });
    beforeEach(async () => {
      // One statement: relational tables reference each other.
      const tables = Object.keys(testSchema.tables).map((table) => `"${database.schemaName}"."${table}"`);
      await database.driver.exec(`TRUNCATE ${tables.join(", ")}`);
    });

    const addUser = (name: string, createdAt = 1) => store.mutation((db) => db.insert("users", { name, createdAt }));
    const count = async (table: "users" | "projects" | "counters") =>
      (await store.query((db) => db.query(table).fullTableScan().collect())).length;

    describe("insert and get", () => {
      it("returns a typed id and reads the document back with system fields", async () => {
        const before = Date.now();
        const id = await addUser("Ada", 10);
        expect(id).toMatch(/^users_[0-9a-z]{26}$/);
        const user = await store.query((db) => db.get(id));
        expect(user).toEqual({ _id: id, _creationTime: expect.any(Number), name: "Ada", createdAt: 10 });
        expect(user!._creationTime).toBeGreaterThanOrEqual(before);
        expect(await store.query((db) => db.get("users", id))).toEqual(user);
      });

      it(`applies zod defaults and stores plain ${layout === "jsonb" ? "JSONB" : "typed columns"} readable with SQL`, async () => {
        const userId = await addUser("Ada");
        const projectId = await store.mutation((db) => db.insert("projects", { name: "P", userId, createdAt: 5 }));
        expect((await store.query((db) => db.get(projectId)))!.tags).toEqual([]);
        const columns =
          layout === "jsonb"
            ? `doc->>'name' AS name, doc->>'userId' AS user_id, doc->'tags' AS tags`
            : `name, user_id, tags`;
        const rows = await database.driver.query<{ name: string; user_id: string }>(
          `SELECT ${columns} FROM "${database.schemaName}".projects WHERE _id = $1`,
          [projectId],
        );
        expect(rows).toEqual([{ name: "P", user_id: userId, tags: [] }]);
      });

      it("get of a deleted document is null; ids of other tables and garbage are rejected", async () => {
        const id = await addUser("Ada");
        await store.mutation((db) => db.delete(id));
        expect(await store.query((db) => db.get(id))).toBeNull();
        await expectConvoyError(
          store.query((db) => db.get("projects", id as unknown as Id<"projects">)),
          "BAD_REQUEST",
          /belongs to table "users", not "projects"/,
        );
        await expectConvoyError(
          store.query((db) => db.get("not-an-id" as Id<"users">)),
          "BAD_REQUEST",
          /is not a Convoy document id/,
        );
        await expectConvoyError(
          store.query((db) => db.get(JSON.parse('{"toString":1}') as Id<"users">)),
          "BAD_REQUEST",
          /get: \{"toString":1\} is not a Convoy document id/,
        );
        await expectConvoyError(
          store.query((db) => db.get("nope" as "users", id)),
          "BAD_REQUEST",
          /No table "nope"/,
        );
      });

      it("normalizeId accepts only ids of the named table", async () => {
        const id = await addUser("Ada");
        await store.query(async (db) => {
          expect(db.normalizeId("users", id)).toBe(id);
          expect(db.normalizeId("projects", id)).toBeNull();
          expect(db.normalizeId("users", "users_x")).toBeNull();
        });
      });
    });

    describe("validation", () => {
      it("rejects wrong types, unknown fields and refs to another table, writing nothing", async () => {
        const userId = await addUser("Ada");
        const wrongType = await expectConvoyError(
          store.mutation((db) => db.insert("users", { name: 42 as unknown as string, createdAt: 1 })),
          "BAD_REQUEST",
          /Invalid document for table "users": name: .*expected string/,
        );
        expect(wrongType.data).toEqual({
          issues: [{ path: ["name"], message: expect.stringMatching(/expected string/) }],
        });
        await expectConvoyError(
          store.mutation((db) => db.insert("users", { name: "x", createdAt: 1, admin: true } as never)),
          "BAD_REQUEST",
          /Unrecognized key: "admin"/,
        );
        const projectId = await store.mutation((db) => db.insert("projects", { name: "P", userId, createdAt: 1 }));
        await expectConvoyError(
          store.mutation((db) =>
            db.insert("projects", { name: "Q", userId: projectId as unknown as Id<"users">, createdAt: 1 }),
          ),
          "BAD_REQUEST",
          /userId: Expected an id of table "users", got an id of table "projects"/,
        );
        await expectConvoyError(
          store.mutation((db) => db.insert("users", { name: "x", createdAt: Number.NaN })),
          "BAD_REQUEST",
          /createdAt/,
        );
        expect(await count("users")).toBe(1);
        expect(await count("projects")).toBe(1);
      });

      it("rejects setting system fields and writes that are not objects", async () => {
        await expectConvoyError(
          store.mutation((db) => db.insert("users", { _id: "users_x", name: "x", createdAt: 1 } as never)),
          "BAD_REQUEST",
          /_id is a system field/,
        );
        await expectConvoyError(
          store.mutation((db) => db.insert("users", null as never)),
          "BAD_REQUEST",
          /pass an object of fields, got null/,
        );
      });
    });

    describe("patch, replace, delete", () => {
      it("patch merges shallowly and undefined removes an optional field", async () => {
        const id = await store.mutation((db) => db.insert("users", { name: "Ada", createdAt: 1, email: "a@x" }));
        await store.mutation((db) => db.patch(id, { name: "Ada L." }));
        expect(await store.query((db) => db.get(id))).toMatchObject({ name: "Ada L.", email: "a@x", createdAt: 1 });
        await store.mutation((db) => db.patch("users", id, { email: undefined }));
        const user = await store.query((db) => db.get(id));
        expect(user).not.toHaveProperty("email");
        await expectConvoyError(
          store.mutation((db) => db.patch(id, { name: undefined })),
          "BAD_REQUEST",
          /name: .*expected string/,
        );
        expect(await store.query((db) => db.get(id))).toEqual(user);
      });

      it("a document read can be written back whole; changing _id is refused", async () => {
        const id = await addUser("Ada");
        await store.mutation(async (db) => {
          const user = (await db.get(id))!;
          await db.replace(id, { ...user, name: "Grace" });
        });
        expect((await store.query((db) => db.get(id)))!.name).toBe("Grace");
        const other = await addUser("Other");
        await expectConvoyError(
          store.mutation((db) => db.patch(id, { _id: other } as never)),
          "BAD_REQUEST",
          /_id is a system field/,
        );
      });

      it("replace drops fields not given; delete removes", async () => {
        const id = await store.mutation((db) => db.insert("users", { name: "Ada", createdAt: 1, email: "a@x" }));
        await store.mutation((db) => db.replace(id, { name: "Bea", createdAt: 2 }));
        const user = await store.query((db) => db.get(id));
        expect(user).toEqual({ _id: id, _creationTime: user!._creationTime, name: "Bea", createdAt: 2 });
        await store.mutation((db) => db.delete("users", id));
        expect(await store.query((db) => db.get(id))).toBeNull();
      });

      it("writes to a missing document are NOT_FOUND", async () => {
        const id = await addUser("Ada");
        await store.mutation((db) => db.delete(id));
        await expectConvoyError(
          store.mutation((db) => db.patch(id, { name: "x" })),
          "NOT_FOUND",
          /no document/,
        );
        await expectConvoyError(
          store.mutation((db) => db.replace(id, { name: "x", createdAt: 1 })),
          "NOT_FOUND",
          /no document/,
        );
        await expectConvoyError(
          store.mutation((db) => db.delete(id)),
          "NOT_FOUND",
          /no document/,
        );
      });
    });

    describe("queries", () => {
      async function seedProjects(): Promise<{ ada: Id<"users">; bob: Id<"users"> }> {
        const ada = await addUser("Ada");
        const bob = await addUser("Bob");
        await store.mutation(async (db) => {
          for (let i = 0; i < 10; i++) {
            await db.insert("projects", {
              name: `ada-${i}`,
              userId: ada,
              createdAt: 100 + ((i * 7) % 10),
              priority: i % 3,
              ...(i % 2 === 0 ? { meta: { color: i < 5 ? "red" : "blue" } } : {}),
            });
          }
          for (let i = 0; i < 3; i++) {
            await db.insert("projects", { name: `bob-${i}`, userId: bob, createdAt: 200 + i });
          }
        });
        return { ada, bob };
      }

      it("withIndex eq returns the range in index order, asc and desc", async () => {
        const { ada, bob } = await seedProjects();
        const adas = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", ada))
            .collect(),
        );
        expect(adas.map((p) => p.name)).toEqual(Array.from({ length: 10 }, (_, i) => `ada-${i}`));
        const bobsDesc = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", bob))
            .order("desc")
            .collect(),
        );
        expect(bobsDesc.map((p) => p.name)).toEqual(["bob-2", "bob-1", "bob-0"]);
      });

      it("the spec's order('desc', 'createdAt') sorts the index range by a field", async () => {
        const { ada } = await seedProjects();
        const projects = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", ada))
            .order("desc", "createdAt")
            .collect(),
        );
        expect(projects.map((p) => p.createdAt)).toEqual([109, 108, 107, 106, 105, 104, 103, 102, 101, 100]);
      });

      it("ranges: eq prefix then gt/gte/lt/lte on the next field", async () => {
        const { ada } = await seedProjects();
        const inRange = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_user_created", (q) => q.eq("userId", ada).gt("createdAt", 102).lte("createdAt", 105))
            .collect(),
        );
        expect(inRange.map((p) => p.createdAt)).toEqual([103, 104, 105]);
        const upperOnly = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_user_created", (q) => q.eq("userId", ada).lt("createdAt", 102))
            .order("desc")
            .collect(),
        );
        expect(upperOnly.map((p) => p.createdAt)).toEqual([101, 100]);
        const lowerOnly = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_user_created", (q) => q.eq("userId", ada).gte("createdAt", 108))
            .collect(),
        );
        expect(lowerOnly.map((p) => p.createdAt)).toEqual([108, 109]);
      });

      it("indexes on nested fields; a missing field indexes as null", async () => {
        await seedProjects();
        const red = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_color", (q) => q.eq("meta.color", "red"))
            .collect(),
        );
        expect(red.map((p) => p.name)).toEqual(["ada-0", "ada-2", "ada-4"]);
        const missing = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_color", (q) => q.eq("meta.color", undefined))
            .collect(),
        );
        expect(missing).toHaveLength(8);
      });

      it("built-in indexes by_creation_time and by_id", async () => {
        const first = await addUser("A");
        const second = await addUser("B");
        const byTime = await store.query((db) =>
          db.query("users").withIndex("by_creation_time").order("desc").collect(),
        );
        expect(byTime.map((u) => u._id)).toEqual([second, first]);
        const byId = await store.query((db) =>
          db
            .query("users")
            .withIndex("by_id", (q) => q.eq("_id", first))
            .unique(),
        );
        expect(byId?._id).toBe(first);
      });

      it("range rules are enforced with errors that say which rule", async () => {
        await expectConvoyError(
          store.query((db) =>
            db
              .query("projects")
              .withIndex("by_user_created", (q) => (q as any).eq("createdAt", 1))
              .collect(),
          ),
          "BAD_REQUEST",
          /must name "userId": ranges go through the index fields in order/,
        );
        await expectConvoyError(
          store.query((db) =>
            db
              .query("projects")
              .withIndex("by_user_created", (q) => (q as any).gt("userId", "a").eq("createdAt", 1))
              .collect(),
          ),
          "BAD_REQUEST",
          /cannot follow a gt\/gte\/lt\/lte bound/,
        );
        await expectConvoyError(
          store.query((db) =>
            db
              .query("projects")
              .withIndex("by_nothing" as "by_userId")
              .collect(),
          ),
          "BAD_REQUEST",
          /has no index "by_nothing".*by_userId/,
        );
        await expectConvoyError(
          store.query((db) => db.query("nope" as "users").collect()),
          "BAD_REQUEST",
          /No table "nope" in the schema. Tables: users, projects, counters/,
        );
        await expectConvoyError(
          store.query((db) =>
            db
              .query("projects")
              .order("asc", "nope" as "name")
              .collect(),
          ),
          "BAD_REQUEST",
          /not a field of this table/,
        );
      });

      it("filter compiles to SQL: comparisons, logic, arithmetic, missing fields", async () => {
        const { ada } = await seedProjects();
        const names = async (predicate: (q: FilterBuilder<ProjectDoc>) => ExpressionOrValue<boolean>) =>
          (await store.query((db) => db.query("projects").filter(predicate).collect())).map((p) => p.name).sort();
        expect(await names((q) => q.eq(q.field("priority"), 2))).toEqual(["ada-2", "ada-5", "ada-8"]);
        expect(await names((q) => q.and(q.eq(q.field("userId"), ada), q.gte(q.field("createdAt"), 108)))).toEqual([
          "ada-4",
          "ada-7",
        ]);
        expect(await names((q) => q.or(q.eq(q.field("name"), "bob-0"), q.eq(q.field("name"), "bob-1")))).toEqual([
          "bob-0",
          "bob-1",
        ]);
        expect(await names((q) => q.not(q.neq(q.field("meta.color"), "blue")))).toEqual(["ada-6", "ada-8"]);
        expect(await names((q) => q.eq(q.mod(q.field("createdAt"), 100), 9))).toEqual(["ada-7"]);
        expect(await names((q) => q.eq(q.sub(q.mul(q.field("createdAt"), 2), 1), 201))).toEqual(["ada-3"]);
        expect(await names((q) => q.lt(q.neg(q.field("createdAt")), -201))).toEqual(["bob-2"]);
        expect(await names((q) => q.eq(q.div(q.field("createdAt"), 4), 25))).toEqual(["ada-0"]);
        // Missing fields are undefined: equal to undefined, and less than any value.
        expect(await names((q) => q.eq(q.field("priority"), undefined))).toEqual(["bob-0", "bob-1", "bob-2"]);
        expect(await names((q) => q.lt(q.field("priority"), 0))).toEqual(["bob-0", "bob-1", "bob-2"]);
        expect((await names((q) => q.gte(q.field("priority"), 0))).length).toBe(10);
        // Values are parameters: SQL in a value is just a string that matches nothing.
        expect(await names((q) => q.eq(q.field("name"), "x' OR '1'='1"))).toEqual([]);
      });

      it("filter after withIndex and order; a JS boolean is refused", async () => {
        const { ada } = await seedProjects();
        const result = await store.query((db) =>
          db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", ada))
            .order("desc")
            .filter((q) => q.eq(q.field("priority"), 0))
            .collect(),
        );
        expect(result.map((p) => p.name)).toEqual(["ada-9", "ada-6", "ada-3", "ada-0"]);
        await expectConvoyError(
          store.query((db) =>
            db
              .query("projects")
              .filter((() => "yes") as never)
              .collect(),
          ),
          "BAD_REQUEST",
          /must return an expression built with q/,
        );
      });

      it("first, take, unique", async () => {
        const { bob } = await seedProjects();
        await store.query(async (db) => {
          const byBob = () => db.query("projects").withIndex("by_userId", (q) => q.eq("userId", bob));
          expect((await byBob().first())?.name).toBe("bob-0");
          expect((await byBob().take(2)).map((p) => p.name)).toEqual(["bob-0", "bob-1"]);
          expect(await byBob().take(0)).toEqual([]);
          await expectConvoyError(byBob().unique(), "BAD_REQUEST", /unique\(\) found more than one document/);
          await expectConvoyError(byBob().take(-1), "BAD_REQUEST", /take\(-1\)/);
          // Request values whose toString is not a function: still a clear BAD_REQUEST, not a 500.
          const hostile = JSON.parse('[{"toString":""}]') as number;
          await expectConvoyError(byBob().take(hostile), "BAD_REQUEST", /take\(\[\{"toString":""\}\]\)/);
          await expectConvoyError(
            byBob().paginate({ numItems: hostile, cursor: null }),
            "BAD_REQUEST",
            /numItems must be a whole number >= 1, got \[\{"toString":""\}\]/,
          );
          const one = await db
            .query("users")
            .withIndex("by_name", (q) => q.eq("name", "Bob"))
            .unique();
          expect(one?._id).toBe(bob);
          expect(
            await db
              .query("users")
              .withIndex("by_name", (q) => q.eq("name", "Nobody"))
              .unique(),
          ).toBeNull();
        });
      });

      it("for await iterates a query in order", async () => {
        await store.mutation(async (db) => {
          for (let i = 0; i < 600; i++)
            await db.insert("counters", { name: `c${String(i).padStart(4, "0")}`, value: i });
        });
        const seen: number[] = [];
        await store.query(async (db) => {
          for await (const counter of db.query("counters").withIndex("by_name")) seen.push(counter.value);
        });
        expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => i));
      });
    });

    describe("pagination", () => {
      it("pages cover every document exactly once, with inserts and deletes in between", async () => {
        const userId = await addUser("Ada");
        const insert = (name: string, createdAt: number) =>
          store.mutation((db) => db.insert("projects", { name, userId, createdAt }));
        const initial: Id<"projects">[] = [];
        for (let i = 0; i < 25; i++) initial.push(await insert(`p${i}`, i));

        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        let deleted: Id<"projects"> | undefined;
        for (;;) {
          const page = await store.query((db) =>
            db
              .query("projects")
              .withIndex("by_user_created", (q) => q.eq("userId", userId))
              .paginate({ numItems: 7, cursor }),
          );
          pages++;
          seen.push(...page.page.map((p) => p._id));
          if (page.isDone) break;
          cursor = page.continueCursor;
          // Writes between pages: one before the cursor, one after, one deleted ahead.
          await insert(`early-${pages}`, -pages);
          await insert(`late-${pages}`, 1000 + pages);
          if (deleted === undefined) {
            deleted = initial[20]!;
            await store.mutation((db) => db.delete(deleted!));
          }
        }
        expect(new Set(seen).size).toBe(seen.length);
        for (const id of initial) expect(seen.includes(id)).toBe(id !== deleted);
        const names = (await store.query((db) => db.query("projects").collect())).filter((p) => seen.includes(p._id));
        expect(names.some((p) => p.name.startsWith("early-"))).toBe(false);
        expect(names.filter((p) => p.name.startsWith("late-")).length).toBe(pages - 1);
        expect(pages).toBeGreaterThanOrEqual(4);
      });

      it("descending pages by a non-index field, ends with isDone and an empty next page", async () => {
        const userId = await addUser("Ada");
        await store.mutation(async (db) => {
          for (let i = 0; i < 5; i++) await db.insert("projects", { name: `p${i}`, userId, createdAt: i % 2 });
        });
        const query = (cursor: string | null) =>
          store.query((db) =>
            db
              .query("projects")
              .withIndex("by_userId", (q) => q.eq("userId", userId))
              .order("desc", "createdAt")
              .paginate({ numItems: 2, cursor }),
          );
        const pages = [];
        let cursor: string | null = null;
        for (let guard = 0; guard < 10; guard++) {
          const page = await query(cursor);
          pages.push(page.page.map((p) => p.createdAt));
          cursor = page.continueCursor;
          if (page.isDone) break;
        }
        expect(pages.flat()).toEqual([1, 1, 0, 0, 0]);
        const after = await query(cursor);
        expect(after).toMatchObject({ page: [], isDone: true });
      });

      it("endCursor pins a page's span: inserts inside it grow that page, not the next", async () => {
        const userId = await addUser("Ada");
        await store.mutation(async (db) => {
          for (let i = 0; i < 6; i++) await db.insert("projects", { name: `p${i}`, userId, createdAt: i * 10 });
        });
        const page = (cursor: string | null, endCursor?: string) =>
          store.query((db) =>
            db
              .query("projects")
              .withIndex("by_user_created", (q) => q.eq("userId", userId))
              .paginate({ numItems: 3, cursor, ...(endCursor ? { endCursor } : {}) }),
          );
        const first = await page(null);
        expect(first.page.map((p) => p.createdAt)).toEqual([0, 10, 20]);
        await store.mutation((db) => db.insert("projects", { name: "inside", userId, createdAt: 15 }));
        await store.mutation((db) => db.insert("projects", { name: "after", userId, createdAt: 25 }));
        const pinned = await page(null, first.continueCursor);
        expect(pinned.page.map((p) => p.createdAt)).toEqual([0, 10, 15, 20]);
        expect(pinned).toMatchObject({ isDone: false, continueCursor: first.continueCursor });
        const second = await page(first.continueCursor);
        expect(second.page.map((p) => p.createdAt)).toEqual([25, 30, 40]);
        const last = await page(second.continueCursor, second.continueCursor);
        expect(last).toMatchObject({ page: [], isDone: false });
        const tail = await page(second.continueCursor);
        expect(tail.page.map((p) => p.createdAt)).toEqual([50]);
        expect((await page(tail.continueCursor, tail.continueCursor)).isDone).toBe(true);
      });

      it("a cursor of another query or garbage is refused with what to do", async () => {
        await addUser("Ada");
        const { continueCursor } = await store.query((db) => db.query("users").paginate({ numItems: 1, cursor: null }));
        await expectConvoyError(
          store.query((db) => db.query("users").order("desc").paginate({ numItems: 1, cursor: continueCursor })),
          "BAD_REQUEST",
          /belongs to a different query.*cursor: null/,
        );
        await expectConvoyError(
          store.query((db) => db.query("users").paginate({ numItems: 1, cursor: "garbage" })),
          "BAD_REQUEST",
          /invalid cursor/,
        );
        await expectConvoyError(
          store.query((db) => db.query("users").paginate({ numItems: 0, cursor: null })),
          "BAD_REQUEST",
          /numItems must be a whole number >= 1/,
        );
      });
    });

    describe("transactions", () => {
      it("a thrown error rolls back every write of the mutation", async () => {
        await expect(
          store.mutation(async (db) => {
            await db.insert("users", { name: "A", createdAt: 1 });
            await db.insert("users", { name: "B", createdAt: 1 });
            throw new Error("boom");
          }),
        ).rejects.toThrow("boom");
        expect(await count("users")).toBe(0);
        // A validation error half way through rolls back the writes before it too.
        await expect(
          store.mutation(async (db) => {
            await db.insert("users", { name: "A", createdAt: 1 });
            await db.insert("users", { name: 1 as never, createdAt: 1 });
          }),
        ).rejects.toThrow(/Invalid document/);
        expect(await count("users")).toBe(0);
      });

      it("a database error the handler swallowed still fails the mutation", async () => {
        await expect(
          store.mutation(async (db) => {
            await db.insert("users", { name: "A", createdAt: 1 });
            const inner = (db as unknown as { ctx: { sql: { query(text: string): Promise<unknown> } } }).ctx.sql;
            await inner.query("SELECT 1/0").catch(() => {});
            return "looks fine";
          }),
        ).rejects.toThrow(/division by zero/);
        expect(await count("users")).toBe(0);
      });

      it("a mutation reads its own writes, which are sent with its next read", async () => {
        const seen = await store.mutation(async (db) => {
          const a = await db.insert("users", { name: "A", createdAt: 1 });
          const b = await db.insert("users", { name: "B", createdAt: 2 });
          await db.patch(a, { name: "A2" });
          const afterPatch = (await db.get(a))!.name;
          await db.replace(b, { name: "B2", createdAt: 3 });
          const names = (await db.query("users").collect()).map((user) => user.name);
          await db.delete(a);
          await db.insert("users", { name: "C", createdAt: 4 });
          return { afterPatch, names, left: (await db.query("users").collect()).map((user) => user.name) };
        });
        expect(seen).toEqual({ afterPatch: "A2", names: ["A2", "B2"], left: ["B2", "C"] });
        expect(await count("users")).toBe(2);
      });

      it("ctx.db used after the function returned fails loudly", async () => {
        let leaked: { get(id: Id<"users">): Promise<unknown> } | undefined;
        const id = await addUser("A");
        await store.query(async (db) => {
          leaked = db;
        });
        await expect(leaked!.get(id)).rejects.toThrow(/used after its function returned/);
        // Writes too, though they are only queued.
        let writer: { insert(table: "users", value: unknown): Promise<unknown> } | undefined;
        await store.mutation(async (db) => {
          writer = db;
        });
        await expect(writer!.insert("users", { name: "late", createdAt: 1 })).rejects.toThrow(
          /used after its function returned/,
        );
        expect(await count("users")).toBe(1);
      });

      it("a query reads one snapshot while a mutation commits", async () => {
        await addUser("A");
        let writer: Promise<unknown> | undefined;
        const counts = await store.query(async (db) => {
          const before = (await db.query("users").collect()).length;
          writer = store.mutation((w) => w.insert("users", { name: "B", createdAt: 1 }));
          await new Promise((resolve) => setTimeout(resolve, 100));
          const after = (await db.query("users").collect()).length;
          return [before, after];
        });
        await writer;
        expect(counts).toEqual([1, 1]);
        expect(await count("users")).toBe(2);
      });

      it("100 concurrent read-modify-write mutations on one counter lose no update", async () => {
        const id = await store.mutation((db) => db.insert("counters", { name: "hits", value: 0 }));
        const increment = () =>
          store.mutation(async (db) => {
            const counter = (await db.get(id))!;
            await db.patch(id, { value: counter.value + 1 });
          });
        await Promise.all(Array.from({ length: 100 }, increment));
        expect((await store.query((db) => db.get(id)))!.value).toBe(100);
      });
    });

    describe("read sets and plans", () => {
      it("records what each read touched", async () => {
        const id = await addUser("Ada");
        const reads: Read[] = [];
        await store.query(
          async (db) => {
            await db.get(id);
            await db
              .query("projects")
              .withIndex("by_user_created", (q) => q.eq("userId", id).gte("createdAt", 5))
              .collect();
            await db.query("users").fullTableScan().collect();
          },
          { onRead: (read) => reads.push(read) },
        );
        expect(reads).toEqual([
          { kind: "ids", table: "users", ids: [id] },
          {
            kind: "indexRange",
            table: "projects",
            index: "by_user_created",
            fields: ["userId", "createdAt", "_creationTime"],
            eq: [id],
            lower: { value: 5, inclusive: true },
          },
          { kind: "indexRange", table: "users", index: "by_creation_time", fields: ["_creationTime"], eq: [] },
        ]);
      });

      it("indexed reads run on the btree index with no sort step (EXPLAIN on 3,000 documents)", async () => {
        const users = await store.mutation(async (db) => {
          const ids: Id<"users">[] = [];
          for (let u = 0; u < 30; u++) ids.push(await db.insert("users", { name: `user-${u}`, createdAt: u }));
          for (let i = 0; i < 3000; i++) {
            await db.insert("projects", {
              name: `p${i}`,
              userId: ids[i % 30]!,
              createdAt: i,
              meta: { color: `c${i % 50}` },
            });
          }
          return ids;
        });
        await database.driver.exec(`ANALYZE "${database.schemaName}".projects; ANALYZE "${database.schemaName}".users`);
        const userId = users[7]!;
        const plans: string[] = [];
        await database.driver.transaction("", async (tx) => {
          const db = new Database({
            sql: tx,
            layouts: store.layouts,
            onRead: undefined,
            onWrite: undefined,
          });
          const queries: [QueryImpl, string][] = [
            [db.query("projects").withIndex("by_userId", (q) => q.eq("userId", userId)), "by_userId"],
            [
              db
                .query("projects")
                .withIndex("by_user_created", (q) => q.eq("userId", userId).gt("createdAt", 300).lt("createdAt", 900))
                .order("desc"),
              "by_user_created",
            ],
            [db.query("projects").withIndex("by_color", (q) => q.eq("meta.color", "c7")), "by_color"],
            [db.query("projects").withIndex("by_creation_time").order("desc"), "by_creation_time"],
          ];
          for (const [query, index] of queries) {
            const { text, params } = query.toSql(10);
            const rows = await tx.query<{ "QUERY PLAN": string }>(`EXPLAIN ${text}`, params);
            const plan = rows.map((row) => row["QUERY PLAN"]).join("\n");
            plans.push(plan);
            expect(plan, plan).toContain(`__${index}`);
            expect(plan, plan).not.toMatch(/Seq Scan|Sort/);
          }
          // A page after a cursor seeks the index too.
          const paged = db.query("projects").withIndex("by_userId", (q) => q.eq("userId", userId));
          const { continueCursor } = await paged.paginate({ numItems: 5, cursor: null });
          expect(continueCursor).toBeTruthy();
        });
        expect(plans).toHaveLength(4);
      });
    });
  });
}
