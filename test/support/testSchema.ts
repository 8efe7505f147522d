import { z } from "zod";
import { defineRef, defineSchema, defineTable } from "../../runtime/index.js";

/** The schema the shared store suites run on: the spec's users/projects and more. */
export const testSchema = defineSchema({
  users: defineTable({
    name: z.string(),
    createdAt: z.number(),
    email: z.string().optional(),
  }).index("by_name", ["name"]),
  projects: defineTable({
    name: z.string(),
    userId: defineRef("users"),
    createdAt: z.number(),
    priority: z.number().optional(),
    tags: z.array(z.string()).default([]),
    meta: z.object({ color: z.string() }).optional(),
  })
    .index("by_userId", ["userId"])
    .index("by_user_created", ["userId", "createdAt"])
    .index("by_color", ["meta.color"]),
  counters: defineTable({ name: z.string(), value: z.number() }).index("by_name", ["name"]),
});
