// convoy/test: functions on the real engine over an in-memory PGlite, fresh per test.
import { afterEach, describe, expect, it, vi } from "vitest";
import { convoyTest } from "../../runtime/testing.js";
import { convoyRejection } from "../support/convoyRejection.js";
import {
  awkwardBody,
  httpTestApi as api,
  httpTestFunctions,
  httpTestInternal as internal,
  httpTestRouter,
  signWebhook,
} from "../support/httpTestApp.js";
import { api as schedulerApi, schedulerFunctions } from "../support/schedulerApp.js";
import { testSchema } from "../support/testSchema.js";

const newTest = () => convoyTest(testSchema, httpTestFunctions, { http: httpTestRouter });

describe("convoyTest", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs mutations and queries, internal ones too, and refuses bad arguments like a server", async () => {
    const t = newTest();
    const id = await t.mutation(api.users.create, { name: "Ada" });
    expect(typeof id).toBe("string");
    expect(await t.query(api.users.byName, { name: "Ada" })).toEqual(["Ada"]);
    await t.mutation(internal.payments.record, { name: "n", bytes: 3 });
    expect(await t.run(async (ctx) => (await ctx.db.query("counters").collect()).map((c) => c.value))).toEqual([3]);
    const refused = await convoyRejection(t.mutation(api.users.create, { name: "" }));
    expect(refused.code).toBe("BAD_REQUEST");
    expect(refused.message).toContain("A user needs a name");
  });

  it("rolls a failed mutation back", async () => {
    const t = newTest();
    const refused = await convoyRejection(t.mutation(api.users.createThenFail, { name: "ghost" }));
    expect(refused.code).toBe("CONFLICT");
    expect(await t.query(api.users.count, {})).toBe(0);
  });

  it("gives each test its own empty database", async () => {
    const first = newTest();
    const second = newTest();
    await first.mutation(api.users.create, { name: "Only in first" });
    expect(await first.query(api.users.count, {})).toBe(1);
    expect(await second.query(api.users.count, {})).toBe(0);
  });

  it("seeds and reads with t.run, typed by the schema", async () => {
    const t = newTest();
    const userId = await t.run((ctx) => ctx.db.insert("users", { name: "Seeded", createdAt: 5 }));
    const user = await t.run((ctx) => ctx.db.get(userId));
    expect(user).toMatchObject({ _id: userId, name: "Seeded", createdAt: 5 });
    expect(await t.query(api.users.byName, { name: "Seeded" })).toEqual(["Seeded"]);
  });

  it("calls as an identity with withIdentity, on the same database", async () => {
    const t = newTest();
    expect(await t.query(api.users.whoAmI, {})).toBeNull();
    expect((await convoyRejection(t.mutation(api.users.createMe, {}))).code).toBe("UNAUTHORIZED");
    const asAda = t.withIdentity({ subject: "ada", email: "ada@example.com" });
    expect(await asAda.query(api.users.whoAmI, {})).toBe("ada");
    await asAda.mutation(api.users.createMe, {});
    expect(await t.query(api.users.byName, { name: "ada" })).toEqual(["ada"]);
    expect(await asAda.run((ctx) => ctx.auth?.subject)).toBe("ada");
    expect(() => t.withIdentity({} as never)).toThrow("subject must be a string");
  });

  it("fetches HTTP routes: a signed webhook body intact, 404, 405, 500 with the message (tests see it)", async () => {
    const t = newTest();
    const response = await t.fetch("/webhooks/payments", {
      method: "POST",
      headers: { "x-signature": signWebhook(awkwardBody) },
      body: awkwardBody,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: awkwardBody.length });
    expect(await t.run(async (ctx) => (await ctx.db.query("counters").collect()).map((c) => c.value))).toEqual([
      awkwardBody.length,
    ]);
    expect((await t.fetch("/nope")).status).toBe(404);
    expect((await t.fetch("/webhooks/payments")).status).toBe(405);
    const boom = await t.fetch("/boom");
    expect(boom.status).toBe(500);
    expect(await boom.text()).toContain("secret database password");
    const me = await t.withIdentity({ subject: "grace" }).fetch("/me");
    expect(await me.json()).toEqual({ auth: "grace", viaQuery: "grace" });
    await expect(t.fetch("no-slash")).rejects.toThrow('starting with "/"');
  });

  it("says clearly when the app has no HTTP routes", async () => {
    const t = convoyTest(testSchema, httpTestFunctions);
    const response = await t.fetch("/anything");
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("no convoy/http.ts");
  });

  it("has a clock advanceTime moves", async () => {
    const t = newTest();
    const before = t.now();
    await t.advanceTime(60_000);
    expect(t.now() - before).toBeGreaterThanOrEqual(60_000);
    await expect(t.advanceTime(-1)).rejects.toThrow(">= 0");
  });

  it("runs scheduled functions on the real scheduler: advanceTime runs what is due, finishScheduledFunctions the rest", async () => {
    const t = convoyTest(testSchema, schedulerFunctions);
    await t.mutation(schedulerApi.jobs.scheduleBump, { name: "t", delayMs: 60_000 });
    expect(await t.query(schedulerApi.jobs.counter, { name: "t" })).toBe(null);
    await t.advanceTime(30_000);
    expect(await t.query(schedulerApi.jobs.counter, { name: "t" })).toBe(null);
    await t.advanceTime(30_000);
    expect(await t.query(schedulerApi.jobs.counter, { name: "t" })).toBe(1);
    await t.mutation(schedulerApi.jobs.scheduleBump, { name: "t", delayMs: 3_600_000 });
    await t.finishScheduledFunctions();
    expect(await t.query(schedulerApi.jobs.counter, { name: "t" })).toBe(2);
    const greeting = await t.withIdentity({ subject: "ada" }).action(schedulerApi.jobs.greet, { name: "t" });
    expect(greeting).toMatchObject({ greeting: "hello t", counter: 2, caller: "ada" });
    await t.finishScheduledFunctions(); // the bump greet scheduled
    expect(await t.query(schedulerApi.jobs.counter, { name: "t" })).toBe(3);
  });

  it("works under vi.useFakeTimers (Date faked): creation times and the clock follow the fake time", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2030-01-01T00:00:00Z"));
    const t = newTest();
    const userId = await t.mutation(api.users.create, { name: "Future" });
    const user = await t.run((ctx) => ctx.db.get(userId));
    expect(Math.floor(user!._creationTime)).toBeGreaterThanOrEqual(Date.parse("2030-01-01T00:00:00Z"));
    expect(t.now()).toBe(Date.parse("2030-01-01T00:00:00Z"));
    vi.setSystemTime(new Date("2030-01-02T00:00:00Z"));
    expect(t.now()).toBe(Date.parse("2030-01-02T00:00:00Z"));
  });

  it("starts a fresh test database in well under a second once the process's PGlite is up", async () => {
    await newTest().query(api.users.count, {});
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await newTest().query(api.users.count, {});
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(`convoyTest fresh instance (ms): ${times.map((ms) => ms.toFixed(0)).join(", ")}`);
    expect(times[2]).toBeLessThan(1000);
  });
});
