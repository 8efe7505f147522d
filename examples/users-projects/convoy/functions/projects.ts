// convoy/functions/projects.ts
import { defineRef } from "convoy";
import { mutation, query } from "../_generated/server";
import { z } from "zod";

export const createProject = mutation({
  args: { userId: defineRef("users"), name: z.string() },
  handler: async (ctx, args) => {
    return ctx.db.insert("projects", {
      userId: args.userId,
      name: args.name,
      createdAt: Date.now(),
    });
  },
});

export const listProjects = query({
  args: { userId: defineRef("users") },
  handler: async (ctx, args) => {
    return ctx.db
      .query("projects")
      .withIndex("by_userId", (q) => q.eq("userId", args.userId))
      .order("desc", "createdAt")
      .collect();
  },
});
