// src/convoy/schema.ts
import { defineSchema, defineTable, defineRef } from "convoy";
import { z } from "zod";

export const schema = defineSchema({
  users: defineTable({
    name: z.string(),
    createdAt: z.number(),
  }),
  projects: defineTable({
    name: z.string(),
    userId: defineRef("users"),
    createdAt: z.number(),
  }).index("by_userId", ["userId"]),
});
