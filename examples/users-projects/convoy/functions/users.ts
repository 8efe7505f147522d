// Not in the spec's quickstart: a way to create the users that projects reference.
import { ConvoyError, defineRef } from "convoy";
import { z } from "zod";
import { internal } from "../_generated/api";
import { internalAction, internalQuery, mutation, query } from "../_generated/server";

export const createUser = mutation({
  args: { name: z.string().min(1, "A user needs a name") },
  handler: async (ctx, args) => {
    const userId = await ctx.db.insert("users", { name: args.name, createdAt: Date.now() });
    // A scheduled function: runs after this mutation commits (and never if it fails).
    await ctx.scheduler.runAfter(0, internal.users.sendWelcome, { userId });
    return userId;
  },
});

/** Where a real app would send a welcome email; here it only logs (see docs/scheduling.md). */
export const sendWelcome = internalAction({
  args: { userId: defineRef("users") },
  handler: async (ctx, args): Promise<void> => {
    const user = await ctx.runQuery(internal.users.getUser, { userId: args.userId });
    if (user) console.log(`Welcome, ${user.name}! (an app would send an email here)`);
  },
});

export const getUser = internalQuery({
  args: { userId: defineRef("users") },
  handler: async (ctx, args) => ctx.db.get(args.userId),
});

export const listUsers = query({
  handler: async (ctx) => {
    return ctx.db.query("users").order("desc").collect();
  },
});

export const renameUser = mutation({
  args: { userId: z.string(), name: z.string().min(1) },
  handler: async (ctx, args) => {
    const userId = ctx.db.normalizeId("users", args.userId);
    if (userId === null) throw new ConvoyError({ code: "NOT_FOUND", message: `No user ${args.userId}` });
    await ctx.db.patch(userId, { name: args.name });
  },
});

export const deleteUser = mutation({
  args: { userId: defineRef("users") },
  handler: async (ctx, args) => {
    const projects = await ctx.db
      .query("projects")
      .withIndex("by_userId", (q) => q.eq("userId", args.userId))
      .collect();
    for (const project of projects) await ctx.db.delete(project._id);
    if ((await ctx.db.get(args.userId)) !== null) await ctx.db.delete(args.userId);
  },
});
