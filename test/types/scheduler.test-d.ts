import { describe, expectTypeOf, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import type { ScheduledFunctionDoc, ScheduledFunctionId } from "../../runtime/index.js";
import { cronJobs } from "../../runtime/scheduler/cronJobs.js";
import { api, internal } from "../support/schedulerApp.js";

describe("actions and the scheduler", () => {
  it("types actions like mutations on the client, and keeps internal ones off api", async () => {
    const client = createConvoyClient();
    const result = await client.action(api.jobs.greet, { name: "x" });
    expectTypeOf(result.greeting).toEqualTypeOf<string>();
    // @ts-expect-error an action's args are checked
    await client.action(api.jobs.greet, { name: 1 });
    // @ts-expect-error a mutation is not an action
    await client.action(api.jobs.scheduleBump, { name: "x" });
    // @ts-expect-error internal actions are not in api
    expectTypeOf(api.jobs.slowBump).toBeObject();
    expectTypeOf(internal.jobs.slowBump.kind).toEqualTypeOf<"action">();
  });

  it("checks the references and arguments given to cron jobs", () => {
    const crons = cronJobs();
    crons.interval("a", { minutes: 1 }, internal.jobs.bump, { name: "x" });
    // @ts-expect-error bump needs a name
    crons.daily("b", { hourUTC: 1, minuteUTC: 0 }, internal.jobs.bump, {});
    // @ts-expect-error a query cannot be scheduled
    crons.hourly("c", { minuteUTC: 0 }, api.jobs.counter, { name: "x" });
    crons.cron("d", { cron: "0 * * * *", timeZone: "Europe/Paris" }, internal.jobs.explode);
  });

  it("types system documents and job ids", () => {
    expectTypeOf<ScheduledFunctionDoc["state"]["kind"]>().toEqualTypeOf<
      "pending" | "inProgress" | "success" | "failed" | "canceled"
    >();
    expectTypeOf<ScheduledFunctionId>().toExtend<string>();
  });
});
