import { z } from "zod";
import {
  defineRef,
  defineSchema,
  defineTable,
  type LayoutKind,
  type SchemaDefinition,
  type TableDefinitions,
} from "../../runtime/index.js";

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

/**
 * The same schema with every table stored relational (`.relational()`): the suites run
 * on both layouts and must see the same behaviour.
 */
export function relationalVariant<TTables extends TableDefinitions>(
  schema: SchemaDefinition<TTables>,
): SchemaDefinition<TTables> {
  const tables = Object.fromEntries(Object.entries(schema.tables).map(([name, table]) => [name, table.relational()]));
  return defineSchema(tables as TTables);
}

/** The schema a layout's suite runs on. */
export function schemaForLayout<TTables extends TableDefinitions>(
  schema: SchemaDefinition<TTables>,
  layout: LayoutKind,
): SchemaDefinition<TTables> {
  return layout === "relational" ? relationalVariant(schema) : schema;
}
