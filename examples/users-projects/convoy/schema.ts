// src/convoy/schema.ts
import { defineSchema, defineTable, defineRef } from "convoy";
import { z } from "zod";

export const schema = defineSchema({
  users: defineTable({
    name: z.string(),
    createdAt: z.number(),
  }),
  // Typed columns (projects.name, projects.user_id, ...) instead of one JSONB column:
  // functions and types are the same either way (docs/storage.md, docs/migrations.md).
  projects: defineTable({
    name: z.string(),
    userId: defineRef("users"),
    createdAt: z.number(),
  })
    .index("by_userId", ["userId"])
    .relational(),
});
