import { z } from "zod";
import { defineRef, functionBuilders, paginationOptsValidator } from "../../runtime/index.js";
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
    /** A user's projects by `createdAt`, a page at a time. */
    page: query({
      args: { userId: defineRef("users"), paginationOpts: paginationOptsValidator },
      handler: async (ctx, args) => {
        const result = await ctx.db
          .query("projects")
          .withIndex("by_user_created", (q) => q.eq("userId", args.userId))
          .paginate(args.paginationOpts);
        return {
          ...result,
          page: result.page.map((project) => ({ name: project.name, createdAt: project.createdAt })),
        };
      },
    }),
    /** Adds a project at a given position of `page`; refuses an empty name. */
    addAt: mutation({
      args: { userId: defineRef("users"), name: z.string().min(1, "A project needs a name"), createdAt: z.number() },
      handler: (ctx, args) => ctx.db.insert("projects", args),
    }),
  },
  users: {
    /** Who the caller is, as functions see it. */
    me: query({ handler: (ctx) => ctx.auth?.subject ?? null }),
    add: mutation({
      args: { name: z.string() },
      handler: (ctx, args) => ctx.db.insert("users", { ...args, createdAt: 1 }),
    }),
  },
};
