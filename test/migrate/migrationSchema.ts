import { z } from "zod";
import { defineRef, defineSchema, defineTable, type Id } from "../../runtime/index.js";
import type { DocumentStore } from "../../runtime/store/documentStore.js";
import type { DataModelFromSchema } from "../../runtime/schema/dataModel.js";

const users = defineTable({ name: z.string(), createdAt: z.number(), email: z.string().optional() }).index("by_name", [
  "name",
]);

/** Every kind of field the relational layout maps, reserved words and `doc` included. */
const projects = defineTable({
  name: z.string(),
  userId: defineRef("users"),
  createdAt: z.number(),
  priority: z.number().optional(),
  status: z.enum(["open", "done"]),
  archived: z.boolean().default(false),
  note: z.string().nullable(),
  tags: z.array(z.string()).default([]),
  meta: z.object({ color: z.string() }).optional(),
  extra: z.union([z.string(), z.number()]).optional().nullable(),
  order: z.number().optional(),
  doc: z.string().optional(),
})
  .index("by_userId", ["userId"])
  .index("by_status_created", ["status", "createdAt"])
  .index("by_color", ["meta.color"])
  .index("by_order", ["order"]);

/** The schema as a JSONB app has it. */
export const jsonbSchema = defineSchema({ users, projects });
/** The same app once `projects` says `.relational()`. */
export const promotedSchema = defineSchema({ users, projects: projects.relational() });
/** Both tables relational. */
export const allRelationalSchema = defineSchema({ users: users.relational(), projects: projects.relational() });

export type MigrationStore = DocumentStore<DataModelFromSchema<typeof jsonbSchema>>;
export type ProjectInput = DataModelFromSchema<typeof jsonbSchema>["projects"]["input"];

/** The n-th project of a seed: every field kind, optional ones present or not. */
export function projectInput(userId: Id<"users">, n: number): ProjectInput {
  return {
    name: `project ${String(n).padStart(4, "0")}`,
    userId,
    createdAt: 1000 + ((n * 37) % 500) + (n % 3) * 0.25,
    ...(n % 2 === 0 ? { priority: (n % 7) - 3 } : {}),
    status: n % 3 === 0 ? "done" : "open",
    ...(n % 5 === 0 ? { archived: true } : {}),
    note: n % 4 === 0 ? null : `note ${n}`,
    ...(n % 6 === 0 ? {} : { tags: [`t${n % 4}`, "x"] }),
    ...(n % 3 === 1 ? { meta: { color: ["red", "green", "blue"][n % 3]! } } : {}),
    ...(n % 5 === 1 ? { extra: null } : n % 5 === 2 ? { extra: n } : n % 5 === 3 ? { extra: `e${n}` } : {}),
    ...(n % 4 === 1 ? { order: n % 11 } : {}),
    ...(n % 9 === 0 ? { doc: `d${n}` } : {}),
  };
}

/** Seeds users and projects through the store. */
export async function seed(store: MigrationStore, users: number, projectsPerUser: number): Promise<Id<"users">[]> {
  return store.mutation(async (db) => {
    const ids: Id<"users">[] = [];
    for (let u = 0; u < users; u++) ids.push(await db.insert("users", { name: `user ${u}`, createdAt: u }));
    for (let p = 0; p < users * projectsPerUser; p++) await db.insert("projects", projectInput(ids[p % users]!, p));
    return ids;
  });
}

/**
 * What the app sees of the data: whole documents and the queries the functions run,
 * paginated, in the order they come.
 */
export async function appView(store: MigrationStore, userId: Id<"users">): Promise<unknown> {
  return store.query(async (db) => {
    const pages: unknown[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 3; i++) {
      const page: { page: unknown[]; continueCursor: string; isDone: boolean } = await db
        .query("projects")
        .withIndex("by_status_created", (q) => q.eq("status", "open"))
        .order("desc")
        .paginate({ numItems: 7, cursor });
      pages.push(page.page);
      cursor = page.continueCursor;
    }
    return {
      all: await db.query("projects").fullTableScan().collect(),
      byUser: await db
        .query("projects")
        .withIndex("by_userId", (q) => q.eq("userId", userId))
        .collect(),
      range: await db
        .query("projects")
        .withIndex("by_status_created", (q) => q.eq("status", "done").gte("createdAt", 1100).lt("createdAt", 1400))
        .order("desc")
        .collect(),
      color: await db
        .query("projects")
        .withIndex("by_color", (q) => q.eq("meta.color", "green"))
        .collect(),
      order: await db.query("projects").withIndex("by_order").take(40),
      orderedBy: await db.query("projects").order("desc", "priority").take(25),
      filtered: await db
        .query("projects")
        .filter((q) => q.or(q.gt(q.field("priority"), 1), q.eq(q.field("extra"), null)))
        .collect(),
      pages,
    };
  });
}
