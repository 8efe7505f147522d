// Not in the spec's quickstart: renaming and deleting projects, for the example app.
import { ConvoyError, defineRef } from "convoy";
import { z } from "zod";
import { mutation } from "../_generated/server";

export const renameProject = mutation({
  args: { projectId: defineRef("projects"), name: z.string().trim().min(1, "A project needs a name") },
  handler: async (ctx, args) => {
    const project = await ctx.db.get(args.projectId);
    if (project === null) throw new ConvoyError({ code: "NOT_FOUND", message: "This project was deleted" });
    await ctx.db.patch(args.projectId, { name: args.name });
  },
});

export const deleteProject = mutation({
  args: { projectId: defineRef("projects") },
  handler: async (ctx, args) => {
    if ((await ctx.db.get(args.projectId)) === null) return;
    await ctx.db.delete(args.projectId);
  },
});
