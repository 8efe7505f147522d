import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  type defineRef,
  defineSchema,
  defineTable,
  type DataModelFromSchema,
  type Doc,
  type Id,
} from "../../runtime/index.js";
import type { DocumentStore } from "../../runtime/store/documentStore.js";
import { type testSchema } from "../support/testSchema.js";

declare module "../../runtime/index.js" {
  interface Register {
    schema: typeof testSchema;
  }
}

type DataModel = DataModelFromSchema<typeof testSchema>;
declare const store: DocumentStore<DataModel>;
declare const userId: Id<"users">;
declare const projectId: Id<"projects">;

describe("schema types", () => {
  it("Id is branded per table", () => {
    expectTypeOf(userId).toExtend<string>();
    expectTypeOf<Id<"users">>().not.toEqualTypeOf<Id<"projects">>();
    // @ts-expect-error an id of projects is not an id of users
    const wrong: Id<"users"> = projectId;
    void wrong;
    expectTypeOf<z.infer<ReturnType<typeof defineRef<"users">>>>().toEqualTypeOf<Id<"users">>();
  });

  it("Doc<table> is the registered schema's document: fields plus system fields", () => {
    expectTypeOf<Doc<"users">>().toEqualTypeOf<{
      _id: Id<"users">;
      _creationTime: number;
      name: string;
      createdAt: number;
      email?: string | undefined;
    }>();
    expectTypeOf<Doc<"projects">["userId"]>().toEqualTypeOf<Id<"users">>();
    expectTypeOf<Doc<"projects">["tags"]>().toEqualTypeOf<string[]>();
    expectTypeOf<Doc<"projects">["meta"]>().toEqualTypeOf<{ color: string } | undefined>();
    // @ts-expect-error no such table
    type Missing = Doc<"nope">;
  });

  it("indexes are typed and end in _creationTime", () => {
    expectTypeOf<DataModel["projects"]["indexes"]["by_user_created"]>().toEqualTypeOf<
      ["userId", "createdAt", "_creationTime"]
    >();
    expectTypeOf<keyof DataModel["projects"]["indexes"]>().toEqualTypeOf<
      "by_userId" | "by_user_created" | "by_color" | "by_id" | "by_creation_time"
    >();
    defineTable({ a: z.string(), b: z.object({ c: z.number() }) })
      .index("by_a", ["a"])
      .index("by_c", ["b.c"]);
    // @ts-expect-error "zz" is not a field
    defineTable({ a: z.string() }).index("by_zz", ["zz"]);
    // @ts-expect-error an index name is used once
    defineTable({ a: z.string() }).index("by_a", ["a"]).index("by_a", ["a"]);
  });
});

describe("ctx.db types", () => {
  it("queries get a reader: writes are a type error", async () => {
    await store.query(async (db) => {
      // @ts-expect-error a query cannot insert
      await db.insert("users", { name: "x", createdAt: 1 });
      // @ts-expect-error a query cannot patch
      await db.patch(userId, { name: "x" });
      expectTypeOf(await db.get(userId)).toEqualTypeOf<Doc<"users"> | null>();
      expectTypeOf(await db.get("projects", projectId)).toEqualTypeOf<Doc<"projects"> | null>();
      expectTypeOf(db.normalizeId("users", "x")).toEqualTypeOf<Id<"users"> | null>();
    });
  });

  it("mutations get a writer with typed inputs", async () => {
    await store.mutation(async (db) => {
      expectTypeOf(await db.insert("projects", { name: "p", userId, createdAt: 1 })).toEqualTypeOf<Id<"projects">>();
      // @ts-expect-error createdAt is required
      await db.insert("users", { name: "x" });
      // @ts-expect-error userId must be an id of users
      await db.insert("projects", { name: "p", userId: projectId, createdAt: 1 });
      // @ts-expect-error name is a string
      await db.patch(userId, { name: 1 });
      await db.patch(userId, { email: undefined });
      await db.patch("users", userId, { name: "y" });
      await db.replace(userId, { name: "z", createdAt: 2 });
      await db.delete(projectId);
    });
  });

  it("withIndex ranges follow the index fields, with typed values", async () => {
    await store.query(async (db) => {
      const projects = await db
        .query("projects")
        .withIndex("by_user_created", (q) => q.eq("userId", userId).gte("createdAt", 1).lt("createdAt", 2))
        .order("desc", "createdAt")
        .collect();
      expectTypeOf(projects).toEqualTypeOf<Doc<"projects">[]>();
      // @ts-expect-error ranges start at the first index field
      db.query("projects").withIndex("by_user_created", (q) => q.eq("createdAt", 1));
      // @ts-expect-error the value must be an id of users
      db.query("projects").withIndex("by_userId", (q) => q.eq("userId", "plain string"));
      // @ts-expect-error no such index
      db.query("projects").withIndex("by_nothing");
      // @ts-expect-error no such table
      db.query("nope");
      // @ts-expect-error ordering by a field the table lacks
      db.query("projects").order("asc", "nope");
      const page = await db.query("users").paginate({ numItems: 10, cursor: null });
      expectTypeOf(page.page).toEqualTypeOf<Doc<"users">[]>();
      expectTypeOf(page.continueCursor).toEqualTypeOf<string>();
      expectTypeOf(await db.query("users").first()).toEqualTypeOf<Doc<"users"> | null>();
    });
  });

  it("filter field paths and values are typed", async () => {
    await store.query(async (db) => {
      await db
        .query("projects")
        .filter((q) => q.and(q.eq(q.field("meta.color"), "red"), q.gt(q.field("createdAt"), 3)))
        .collect();
      // @ts-expect-error no such field
      db.query("projects").filter((q) => q.eq(q.field("nope"), 1));
      // @ts-expect-error createdAt is a number
      db.query("projects").filter((q) => q.eq(q.field("createdAt"), "x"));
    });
  });

  it("defineSchema keeps each table's exact definition", () => {
    const schema = defineSchema({ a: defineTable({ x: z.number() }) });
    expectTypeOf<DataModelFromSchema<typeof schema>["a"]["document"]>().toEqualTypeOf<{
      _id: Id<"a">;
      _creationTime: number;
      x: number;
    }>();
  });
});
