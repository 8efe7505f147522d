import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { ManualClock } from "../../runtime/scheduler/clock.js";
import { cronJobs } from "../../runtime/scheduler/cronJobs.js";
import { ScheduledFunctionRunner } from "../../runtime/scheduler/scheduledFunctionRunner.js";
import { convoyRejection } from "../support/convoyRejection.js";
import { internal, schedulerFunctions } from "../support/schedulerApp.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import { openTestRuntime } from "../support/testRuntime.js";
import { testSchema } from "../support/testSchema.js";

interface JobRow {
  _id: string;
  name: string;
  state: string;
  kind: string;
  error: string | null;
  cron: string | null;
  missed_runs: number;
  scheduled_time: number;
}

/** Polls `check` until it returns something other than undefined (at most `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function describeSchedulerSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`scheduler on ${factory.name}`, () => {
    let database: TestDatabase;
    let runtime: ConvoyRuntime;
    let clock: ManualClock;
    const runners: ScheduledFunctionRunner[] = [];
    const logs: string[] = [];

    const jobs = () =>
      runtime.driver.query<JobRow>(
        `SELECT _id, name, state, kind, error, cron, missed_runs, scheduled_time FROM "${database.schemaName}"."_scheduled_functions" ORDER BY _creation_time, _id`,
      );
    const counter = (name: string) => runtime.call("jobs.counter", { name }, { kind: "query" });
    const runner = (options: Partial<ConstructorParameters<typeof ScheduledFunctionRunner>[0]> = {}) => {
      const created = new ScheduledFunctionRunner({ runtime, log: (message) => logs.push(message), ...options });
      runners.push(created);
      return created;
    };

    beforeEach(async () => {
      clock = new ManualClock(Date.parse("2030-01-01T00:00:00Z"));
      const opened = await openTestRuntime(factory, schedulerFunctions);
      database = opened.database;
      runtime = new ConvoyRuntime({
        schema: testSchema,
        functions: schedulerFunctions,
        driver: database.driver,
        schemaName: database.schemaName,
        clock,
      });
      logs.length = 0;
    });

    afterEach(async () => {
      for (const started of runners.splice(0)) await started.stop({ timeoutMs: 2000 });
      await database.dispose();
    });

    it("runs a job a mutation scheduled, once, when it is due", async () => {
      const id = await runtime.call("jobs.scheduleBump", { name: "a", delayMs: 5000 }, { kind: "mutation" });
      expect(id).toMatch(/^_scheduled_functions_/);
      const scheduler = runner();
      expect(await scheduler.runDue()).toEqual({ ran: 0, succeeded: 0, failed: 0 });
      expect(await scheduler.nextDueTime()).toBe(clock.now() + 5000);
      clock.advance(5000);
      expect(await scheduler.runDue()).toEqual({ ran: 1, succeeded: 1, failed: 0 });
      expect(await counter("a")).toBe(1);
      expect(await scheduler.runDue()).toEqual({ ran: 0, succeeded: 0, failed: 0 });
      const [row] = await jobs();
      expect(row).toMatchObject({ _id: id, name: "jobs.bump", state: "success", kind: "mutation", error: null });
      const system = (await runtime.call("jobs.jobs", {}, { kind: "query" })) as Record<string, unknown>[];
      expect(system).toEqual([
        expect.objectContaining({
          _id: id,
          name: "jobs.bump",
          args: { name: "a" },
          scheduledTime: clock.now(),
          completedTime: clock.now(),
          state: { kind: "success" },
        }),
      ]);
    });

    it("a job scheduled by a mutation that rolls back never exists", async () => {
      const error = await convoyRejection(
        runtime.call("jobs.scheduleBump", { name: "b", fail: true }, { kind: "mutation" }),
      );
      expect(error.message).toBe("rolled back on purpose");
      expect(await jobs()).toEqual([]);
      expect(await runner().runDue(clock.now() + 60_000)).toMatchObject({ ran: 0 });
      expect(await counter("b")).toBe(null);
    });

    it("cancel: a canceled job never runs; cancel after it ran changes nothing", async () => {
      const id = await runtime.call("jobs.scheduleBump", { name: "c", delayMs: 60_000 }, { kind: "mutation" });
      await runtime.call("jobs.cancel", { id }, { kind: "mutation" });
      const sameTransaction = await runtime.call("jobs.scheduleAndCancel", { name: "c" }, { kind: "mutation" });
      clock.advance(120_000);
      expect(await runner().runDue()).toMatchObject({ ran: 0 });
      expect(await counter("c")).toBe(null);
      const rows = await jobs();
      expect(new Map(rows.map((row) => [row._id, row.state]))).toEqual(
        new Map([
          [id, "canceled"],
          [sameTransaction, "canceled"],
        ]),
      );
      const done = await runtime.call("jobs.scheduleBump", { name: "c" }, { kind: "mutation" });
      await runner().runDue();
      await runtime.call("jobs.cancel", { id: done }, { kind: "mutation" });
      expect((await jobs()).find((row) => row._id === done)?.state).toBe("success");
      const bad = await convoyRejection(runtime.call("jobs.cancel", { id: "nope" }, { kind: "mutation" }));
      expect(bad.message).toContain("is not a scheduled function id");
    });

    it("a failing scheduled mutation is recorded as failed, with its error", async () => {
      await runtime.call("jobs.scheduleExplode", {}, { kind: "mutation" });
      expect(await runner().runDue()).toEqual({ ran: 1, succeeded: 0, failed: 1 });
      const [row] = await jobs();
      expect(row).toMatchObject({ state: "failed", error: "boom" });
      expect(logs.join("\n")).toContain("jobs.explode");
    });

    it("actions: ctx.runQuery, ctx.scheduler and ctx.auth; internal functions stay internal", async () => {
      const result = (await runtime.call(
        "jobs.greet",
        { name: "d" },
        { kind: "action", auth: { subject: "ada" } },
      )) as { greeting: string; scheduled: string; caller: string };
      expect(result).toMatchObject({ greeting: "hello d", counter: null, caller: "ada" });
      expect(await runner().runDue()).toMatchObject({ ran: 1, succeeded: 1 });
      expect(await counter("d")).toBe(1);
      const internalCall = await convoyRejection(runtime.call("jobs.slowBump", { name: "x" }, { kind: "action" }));
      expect(internalCall.code).toBe("NOT_FOUND");
      const asMutation = await convoyRejection(runtime.call("jobs.greet", { name: "x" }, { kind: "mutation" }));
      expect(asMutation.message).toContain("is an action; call it as an action, not a mutation");
    });

    it("a scheduled action runs at most once and its outcome is recorded", async () => {
      await runtime.call("jobs.scheduleSlowBump", { name: "e", sleepMs: 0 }, { kind: "mutation" });
      expect(await runner().runDue()).toMatchObject({ ran: 1, succeeded: 1 });
      expect(await counter("e")).toBe(1);
      expect(await counter("e:started")).toBe(1);
      expect((await jobs())[0]).toMatchObject({ kind: "action", state: "success" });
    });

    it("bad schedule calls get clear errors", async () => {
      const notAFunction = await convoyRejection(
        runtime.call("jobs.scheduleBump", { name: "f", delayMs: Number.NaN }, { kind: "mutation" }),
      );
      expect(notAFunction.code).toBe("BAD_REQUEST");
    });

    it("a watched query sees a job's state change live", async () => {
      const engine = new LiveQueryEngine({ runtime, pollIntervalMs: 200 });
      await engine.start();
      try {
        const id = await runtime.call("jobs.scheduleBump", { name: "g", delayMs: 1000 }, { kind: "mutation" });
        const states: unknown[] = [];
        const stop = engine.watch("jobs.jobState", { id }, null, (update) => {
          if ("value" in update) states.push(update.value);
        });
        await eventually(async () => (states.includes("pending") ? true : undefined));
        clock.advance(1000);
        await runner().runDue();
        await eventually(async () => (states.includes("success") ? true : undefined));
        stop();
      } finally {
        await engine.stop();
      }
    });

    it("a started runner runs a job soon after the mutation that scheduled it commits", async () => {
      const realRuntime = new ConvoyRuntime({
        schema: testSchema,
        functions: schedulerFunctions,
        driver: database.driver,
        schemaName: database.schemaName,
      });
      const started = new ScheduledFunctionRunner({ runtime: realRuntime, pollIntervalMs: 60_000 });
      runners.push(started);
      await started.start();
      const begin = Date.now();
      await realRuntime.call("jobs.scheduleBump", { name: "h" }, { kind: "mutation" });
      await eventually(async () => ((await counter("h")) === 1 ? true : undefined));
      // Woken by the commit, not by the (one minute) poll.
      expect(Date.now() - begin).toBeLessThan(3000);
      await realRuntime.call("jobs.scheduleBump", { name: "h", delayMs: 300 }, { kind: "mutation" });
      await eventually(async () => ((await counter("h")) === 2 ? true : undefined));
    });

    it("at start, jobs a dead server had claimed are taken back: mutations run, actions are marked failed", async () => {
      // On the system clock: the runner below runs what is due now.
      const realRuntime = new ConvoyRuntime({
        schema: testSchema,
        functions: schedulerFunctions,
        driver: database.driver,
        schemaName: database.schemaName,
      });
      const mutationJob = await realRuntime.call("jobs.scheduleBump", { name: "dead" }, { kind: "mutation" });
      const actionJob = await realRuntime.call(
        "jobs.scheduleSlowBump",
        { name: "dead", sleepMs: 0 },
        { kind: "mutation" },
      );
      // As a server that claimed them and was then killed leaves them.
      const deadClaim = factory.name === "pglite" ? "local:999999:dead" : "pg:999999:dead";
      await runtime.driver.query(
        `UPDATE "${database.schemaName}"."_scheduled_functions" SET state = 'inProgress', claimed_by = $1, started_time = $2`,
        [deadClaim, Date.now()],
      );
      const started = new ScheduledFunctionRunner({ runtime: realRuntime, log: (message) => logs.push(message) });
      runners.push(started);
      await started.start();
      const rows = await eventually(async () => {
        const byId = new Map((await jobs()).map((row) => [row._id, row]));
        return byId.get(mutationJob as string)?.state === "success" ? byId : undefined;
      });
      expect(await counter("dead")).toBe(1);
      expect(rows.get(mutationJob as string)?.state).toBe("success");
      expect(rows.get(actionJob as string)).toMatchObject({ state: "failed" });
      expect(rows.get(actionJob as string)?.error).toContain("at most once");
      expect(await counter("dead:started")).toBe(null); // the action did not run again
    });

    it("crons run on schedule, one run at a time, and report runs missed across a restart", async () => {
      const crons = cronJobs();
      crons.interval("bump every minute", { minutes: 1 }, internal.jobs.bump, { name: "cron" });
      crons.cron("hourly in Paris", { cron: "0 * * * *", timeZone: "Europe/Paris" }, internal.jobs.bump, {
        name: "paris",
      });
      const first = runner({ crons });
      expect(await first.runDue()).toMatchObject({ ran: 0 });
      const pending = (await jobs()).filter((row) => row.state === "pending");
      expect(pending.map((row) => row.cron).sort()).toEqual(["bump every minute", "hourly in Paris"]);
      clock.advance(60_000);
      expect(await first.runDue()).toMatchObject({ ran: 1, succeeded: 1 });
      expect(await counter("cron")).toBe(1);
      // The next run is the only outstanding one.
      expect((await jobs()).filter((row) => row.cron === "bump every minute" && row.state === "pending")).toHaveLength(
        1,
      );

      // "Every server down" for five minutes, then a new runner starts.
      clock.advance(5 * 60_000);
      const second = runner({ crons });
      expect(await second.runDue()).toMatchObject({ ran: 1, succeeded: 1 });
      expect(await counter("cron")).toBe(2); // caught up once, not stampeded
      const late = (await jobs()).filter((row) => row.cron === "bump every minute" && row.state === "success");
      expect(late.at(-1)?.missed_runs).toBe(3); // 00:03, 00:04, 00:05; the 00:02 run ran late (at 00:06)
      expect(logs.join("\n")).toContain('Cron job "bump every minute" missed 3 run(s)');

      // Removing a cron job cancels its next run.
      const fewer = cronJobs();
      fewer.interval("bump every minute", { minutes: 1 }, internal.jobs.bump, { name: "cron" });
      await runner({ crons: fewer }).runDue();
      expect((await jobs()).find((row) => row.cron === "hourly in Paris")?.state).toBe("canceled");
    });
  });
}
