// The user app the fault and deployment tests serve with the installed CLI: the files of
// its convoy/ folder (see createServedProject). Functions only use Convoy's public API.

const schema = `import { defineSchema, defineTable } from "convoy";
import { z } from "zod";

export const schema = defineSchema({
  items: defineTable({ batch: z.string(), seq: z.number() }).index("by_batch", ["batch"]),
  counters: defineTable({ name: z.string(), value: z.number() }).index("by_name", ["name"]),
  notes: defineTable({ topic: z.string(), text: z.string() }).index("by_topic", ["topic"]),
});
`;

const items = `import { z } from "zod";
import { mutation, query } from "../_generated/server";

/** Writes \`size\` items of one batch and counts the batch: all of it commits, or none. */
export const writeBatch = mutation({
  args: { batch: z.string(), size: z.number().int().min(1).max(1000) },
  handler: async (ctx, args) => {
    for (let seq = 0; seq < args.size; seq++) await ctx.db.insert("items", { batch: args.batch, seq });
    const counter = await ctx.db
      .query("counters")
      .withIndex("by_name", (q) => q.eq("name", "batches"))
      .unique();
    if (counter === null) await ctx.db.insert("counters", { name: "batches", value: 1 });
    else await ctx.db.patch(counter._id, { value: counter.value + 1 });
    return args.batch;
  },
});

/**
 * Writes item 0, waits \`ms\` inside the transaction, writes item 1. The read after the
 * first insert sends it (writes travel with the next read), so the transaction is open
 * in Postgres while it waits; it reads \`notes\`, which no concurrent slowWrite writes,
 * so that slowWrites running side by side do not fail serialization and retry.
 */
export const slowWrite = mutation({
  args: { batch: z.string(), ms: z.number().int().min(0).max(60000) },
  handler: async (ctx, args) => {
    await ctx.db.insert("items", { batch: args.batch, seq: 0 });
    await ctx.db.query("notes").first();
    await new Promise((resolve) => setTimeout(resolve, args.ms));
    await ctx.db.insert("items", { batch: args.batch, seq: 1 });
    return args.batch;
  },
});

/** Counts a batch's items, waits \`ms\` inside the snapshot, and counts again. */
export const slowCount = query({
  args: { batch: z.string(), ms: z.number().int().min(0).max(60000) },
  handler: async (ctx, args) => {
    const count = async () =>
      (
        await ctx.db
          .query("items")
          .withIndex("by_batch", (q) => q.eq("batch", args.batch))
          .collect()
      ).length;
    const before = await count();
    await new Promise((resolve) => setTimeout(resolve, args.ms));
    return (await count()) - before;
  },
});

/** The seq numbers of a batch's items, in order. */
export const byBatch = query({
  args: { batch: z.string() },
  handler: async (ctx, args) => {
    const found = await ctx.db
      .query("items")
      .withIndex("by_batch", (q) => q.eq("batch", args.batch))
      .collect();
    return found.map((item) => item.seq).sort((a, b) => a - b);
  },
});

/** How many batches committed. */
export const batches = query({
  handler: async (ctx) => {
    const counter = await ctx.db
      .query("counters")
      .withIndex("by_name", (q) => q.eq("name", "batches"))
      .unique();
    return counter?.value ?? 0;
  },
});
`;

const notes = `import { z } from "zod";
import { mutation, query } from "../_generated/server";

export const add = mutation({
  args: { topic: z.string(), text: z.string() },
  handler: (ctx, args) => ctx.db.insert("notes", args),
});

/** The texts of a topic's notes, oldest first. */
export const list = query({
  args: { topic: z.string() },
  handler: async (ctx, args) => {
    const found = await ctx.db
      .query("notes")
      .withIndex("by_topic", (q) => q.eq("topic", args.topic))
      .collect();
    return found.map((note) => note.text);
  },
});
`;

/** `convoy/` of the fault-test app: `items` (batches, slow writes), `notes` (a topic's texts). */
export const faultApp: Record<string, string> = {
  "schema.ts": schema,
  "functions/items.ts": items,
  "functions/notes.ts": notes,
};
