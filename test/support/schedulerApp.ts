import { z } from "zod";
import { ConvoyError, functionBuilders, functionReferences, type ApiFromFunctions } from "../../runtime/index.js";
import type { testSchema } from "./testSchema.js";

const { query, mutation, action, internalMutation, internalAction } = functionBuilders<typeof testSchema>();

/** Functions that schedule, run and watch jobs, over the test schema's `counters` table. */
export const schedulerFunctions = {
  jobs: {
    /** Adds `by` to the counter `name` (creating it): a scheduled mutation's visible effect. */
    bump: internalMutation({
      args: { name: z.string(), by: z.number().default(1) },
      handler: async (ctx, { name, by }) => {
        const row = await ctx.db
          .query("counters")
          .withIndex("by_name", (q) => q.eq("name", name))
          .unique();
        if (row) await ctx.db.patch(row._id, { value: row.value + by });
        else await ctx.db.insert("counters", { name, value: by });
      },
    }),
    /** Schedules `bump` after `delayMs`; throws after scheduling when `fail` (the job must not exist). */
    scheduleBump: mutation({
      args: { name: z.string(), delayMs: z.number().default(0), fail: z.boolean().default(false) },
      handler: async (ctx, { name, delayMs, fail }): Promise<string> => {
        const id = await ctx.scheduler.runAfter(delayMs, internal.jobs.bump, { name });
        if (fail) throw new ConvoyError({ code: "BAD_REQUEST", message: "rolled back on purpose" });
        return id;
      },
    }),
    /** Schedules then cancels in the same mutation. */
    scheduleAndCancel: mutation({
      args: { name: z.string() },
      handler: async (ctx, { name }): Promise<string> => {
        const id = await ctx.scheduler.runAfter(0, internal.jobs.bump, { name });
        await ctx.scheduler.cancel(id);
        return id;
      },
    }),
    cancel: mutation({
      args: { id: z.string() },
      handler: async (ctx, { id }) => {
        await ctx.scheduler.cancel(id as never);
      },
    }),
    /** Schedules `count` bumps of counters `<prefix>0` to `<prefix>9`. */
    scheduleMany: mutation({
      args: { prefix: z.string(), count: z.number() },
      handler: async (ctx, { prefix, count }): Promise<number> => {
        for (let i = 0; i < count; i++)
          await ctx.scheduler.runAfter(0, internal.jobs.bump, { name: `${prefix}${i % 10}` });
        return count;
      },
    }),
    /** Bumps, then holds its transaction open for `sleepMs` in a process started with CONVOY_SLOW_JOBS=1. */
    slowMutation: internalMutation({
      args: { name: z.string(), sleepMs: z.number() },
      handler: async (ctx, { name, sleepMs }) => {
        const row = await ctx.db
          .query("counters")
          .withIndex("by_name", (q) => q.eq("name", name))
          .unique();
        if (row) await ctx.db.patch(row._id, { value: row.value + 1 });
        else await ctx.db.insert("counters", { name, value: 1 });
        if (process.env.CONVOY_SLOW_JOBS === "1") await new Promise((resolve) => setTimeout(resolve, sleepMs));
      },
    }),
    scheduleSlowMutation: mutation({
      args: { name: z.string(), sleepMs: z.number() },
      handler: async (ctx, args): Promise<string> => ctx.scheduler.runAfter(0, internal.jobs.slowMutation, args),
    }),
    /** A scheduled mutation that fails. */
    explode: internalMutation({
      args: {},
      handler: async () => {
        throw new ConvoyError({ code: "BAD_REQUEST", message: "boom" });
      },
    }),
    scheduleExplode: mutation({
      args: {},
      handler: async (ctx): Promise<string> => ctx.scheduler.runAfter(0, internal.jobs.explode, {}),
    }),
    /** An action: reads, writes through runMutation, and sleeps `sleepMs` (for SIGKILL tests). */
    slowBump: internalAction({
      args: { name: z.string(), sleepMs: z.number().default(0) },
      handler: async (ctx, { name, sleepMs }): Promise<string> => {
        await ctx.runMutation(internal.jobs.bump, { name: `${name}:started` });
        if (process.env.CONVOY_SLOW_JOBS === "1") await new Promise((resolve) => setTimeout(resolve, sleepMs));
        await ctx.runMutation(internal.jobs.bump, { name });
        return "done";
      },
    }),
    scheduleSlowBump: mutation({
      args: { name: z.string(), sleepMs: z.number() },
      handler: async (ctx, args): Promise<string> => ctx.scheduler.runAfter(0, internal.jobs.slowBump, args),
    }),
    /** A public action, as clients call it. */
    greet: action({
      args: { name: z.string() },
      handler: async (
        ctx,
        { name },
      ): Promise<{ greeting: string; counter: number | null; scheduled: string; caller: string | null }> => {
        const value: number | null = await ctx.runQuery(api.jobs.counter, { name });
        const id = await ctx.scheduler.runAfter(0, internal.jobs.bump, { name });
        return { greeting: `hello ${name}`, counter: value, scheduled: id, caller: ctx.auth?.subject ?? null };
      },
    }),
    counter: query({
      args: { name: z.string() },
      handler: async (ctx, { name }) => {
        const row = await ctx.db
          .query("counters")
          .withIndex("by_name", (q) => q.eq("name", name))
          .unique();
        return row?.value ?? null;
      },
    }),
    /** A job's state, as a watched query sees it. */
    jobState: query({
      args: { id: z.string() },
      handler: async (ctx, { id }) => {
        const job = await ctx.db.system.get(id);
        return job?.state.kind ?? null;
      },
    }),
    jobs: query({
      args: {},
      handler: async (ctx) => ctx.db.system.query("_scheduled_functions").collect(),
    }),
  },
};

export type SchedulerFunctions = typeof schedulerFunctions;

export const api = functionReferences<ApiFromFunctions<SchedulerFunctions>>({
  jobs: {
    scheduleBump: "mutation",
    scheduleAndCancel: "mutation",
    cancel: "mutation",
    scheduleExplode: "mutation",
    scheduleSlowBump: "mutation",
    scheduleMany: "mutation",
    scheduleSlowMutation: "mutation",
    greet: "action",
    counter: "query",
    jobState: "query",
    jobs: "query",
  },
});

export const internal = functionReferences<ApiFromFunctions<SchedulerFunctions, "internal">>({
  jobs: { bump: "mutation", explode: "mutation", slowBump: "action", slowMutation: "mutation" },
});
