import { z } from "zod";
import { defineRef, functionBuilders } from "../../runtime/index.js";
import type { testSchema } from "./testSchema.js";

const { query, mutation } = functionBuilders<typeof testSchema>();

/** A small app for live-query tests: projects by user, and writes to them. */
export const liveTestFunctions = {
  projects: {
    byUser: query({
      args: { userId: defineRef("users") },
      handler: async (ctx, args) =>
        (
          await ctx.db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", args.userId))
            .collect()
        ).map((project) => project.name),
    }),
    add: mutation({
      args: { userId: defineRef("users"), name: z.string() },
      handler: (ctx, args) => ctx.db.insert("projects", { ...args, createdAt: 1 }),
    }),
  },
  users: {
    add: mutation({
      args: { name: z.string() },
      handler: (ctx, args) => ctx.db.insert("users", { ...args, createdAt: 1 }),
    }),
  },
};
