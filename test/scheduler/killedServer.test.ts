import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import type { Driver } from "../../runtime/drivers/driver.js";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";
import { ScheduledFunctionRunner } from "../../runtime/scheduler/scheduledFunctionRunner.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { repoRoot } from "../support/cliProject.js";
import { schedulerFunctions } from "../support/schedulerApp.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";
import { eventually } from "./schedulerSuite.js";

const databaseUrl = inject("postgresUrl");

/** test/support/schedulerServerProcess.ts in a process of its own, slow jobs on; resolves once its runner started. */
function startServer(schemaName: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/support/schedulerServerProcess.ts", databaseUrl!, schemaName],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, CONVOY_SLOW_JOBS: "1" } },
  );
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe.skipIf(databaseUrl === null)("scheduled functions across server processes (Postgres, SIGKILL)", () => {
  const schemaName = uniqueSchemaName();
  const children: ChildProcess[] = [];
  const runners: ScheduledFunctionRunner[] = [];
  let driver: Driver;
  let runtime: ConvoyRuntime;
  const logs: string[] = [];

  const table = () => `"${schemaName}"."_scheduled_functions"`;
  const counter = async (name: string) =>
    (await runtime.call("jobs.counter", { name }, { kind: "query" })) as number | null;
  const stateOf = async (id: string) =>
    (
      await driver.query<{ state: string; error: string | null }>(
        `SELECT state, error FROM ${table()} WHERE _id = $1`,
        [id],
      )
    )[0];
  const server = async () => {
    const child = await startServer(schemaName);
    children.push(child);
    return child;
  };
  /** A runner in this process that sweeps often. */
  const localRunner = async () => {
    const runner = new ScheduledFunctionRunner({
      runtime,
      sweepIntervalMs: 200,
      pollIntervalMs: 200,
      log: (message) => logs.push(message),
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };

  beforeAll(async () => {
    driver = createPostgresDriver({ connectionString: databaseUrl!, maxConnections: 10 });
    await syncSchema(driver, testSchema, { schemaName });
    runtime = new ConvoyRuntime({ schema: testSchema, functions: schedulerFunctions, driver, schemaName });
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop({ timeoutMs: 1000 });
    for (const child of children.splice(0)) await kill(child);
  });

  afterAll(async () => {
    await driver.exec(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await driver.close();
  });

  it("an action whose server is killed mid-run is marked failed, never run again", async () => {
    const doomed = await server();
    const id = (await runtime.call(
      "jobs.scheduleSlowBump",
      { name: "act", sleepMs: 60_000 },
      { kind: "mutation" },
    )) as string;
    await eventually(async () => ((await counter("act:started")) === 1 ? true : undefined), 10_000);
    expect(await stateOf(id)).toMatchObject({ state: "inProgress" });
    await kill(doomed);
    await localRunner();
    const final = await eventually(async () => {
      const row = await stateOf(id);
      return row?.state === "inProgress" ? undefined : row;
    }, 10_000);
    expect(final).toMatchObject({ state: "failed" });
    expect(final.error).toContain("at most once");
    expect(await counter("act:started")).toBe(1);
    expect(await counter("act")).toBe(null);
  });

  it("a mutation whose server is killed mid-transaction runs again elsewhere, exactly once", async () => {
    const doomed = await server();
    const id = (await runtime.call(
      "jobs.scheduleSlowMutation",
      { name: "mut", sleepMs: 60_000 },
      { kind: "mutation" },
    )) as string;
    await eventually(async () => ((await stateOf(id))?.state === "inProgress" ? true : undefined), 10_000);
    await kill(doomed);
    expect(await counter("mut")).toBe(null); // its transaction never committed
    await localRunner(); // CONVOY_SLOW_JOBS is not set here: it runs at once
    await eventually(async () => ((await stateOf(id))?.state === "success" ? true : undefined), 10_000);
    expect(await counter("mut")).toBe(1);
    expect(logs.join("\n")).toContain("runs again");
  });

  it("two servers run 400 jobs exactly once each, one of them killed half-way", async () => {
    const first = await server();
    await server();
    await runtime.call("jobs.scheduleMany", { prefix: "many", count: 400 }, { kind: "mutation" });
    const done = async () =>
      Number(
        (
          await driver.query<{ n: string }>(
            `SELECT count(*) AS n FROM ${table()} WHERE name = 'jobs.bump' AND state = 'success'`,
          )
        )[0]!.n,
      );
    await eventually(async () => ((await done()) >= 100 ? true : undefined), 20_000);
    await kill(first);
    await localRunner();
    await eventually(async () => ((await done()) === 400 ? true : undefined), 30_000);
    let total = 0;
    for (let i = 0; i < 10; i++) total += (await counter(`many${i}`)) ?? 0;
    expect(total).toBe(400);
    const runners = await driver.query<{ claimed_by: string }>(
      `SELECT DISTINCT claimed_by FROM ${table()} WHERE name = 'jobs.bump' AND state = 'success'`,
    );
    expect(runners.length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
