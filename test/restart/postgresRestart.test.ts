// Restarts the machine's PostgreSQL, so it runs alone, after the main suite
// (vitest.restart.config.ts). Needs root and pg_ctlcluster; CI has both.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";
import type { Driver } from "../../runtime/drivers/driver.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";

const databaseUrl = inject("postgresUrl");
const canRestart =
  process.getuid?.() === 0 &&
  existsSync("/usr/bin/pg_ctlcluster") &&
  existsSync("/etc/postgresql") &&
  databaseUrl !== null;
if (!canRestart && process.env.CI === "true") {
  throw new Error(
    "CI=true but this machine cannot restart PostgreSQL (needs root, pg_ctlcluster and a reachable server)",
  );
}
if (!canRestart)
  console.warn("[convoy tests] Postgres restart test SKIPPED: needs root, pg_ctlcluster and a reachable server");

function restartPostgres(): void {
  const version = readdirSync("/etc/postgresql")[0]!;
  execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "restart"], { stdio: "inherit" });
}

describe.skipIf(!canRestart)("PostgreSQL restarted under a running server", () => {
  const schemaName = uniqueSchemaName();
  let driver: Driver;
  let runtime: ConvoyRuntime;
  let engine: LiveQueryEngine;

  beforeAll(async () => {
    driver = createPostgresDriver({ connectionString: databaseUrl! });
    await syncSchema(driver, testSchema, { schemaName });
    runtime = new ConvoyRuntime({ schema: testSchema, functions: liveTestFunctions, driver, schemaName });
    engine = new LiveQueryEngine({ runtime, pollIntervalMs: 500 });
    await engine.start();
  });
  afterAll(async () => {
    await engine?.stop();
    await driver?.exec(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`).catch(() => {});
    await driver?.close();
  });

  it("recovers by itself: mutations work again and watchers are fresh after writes stop", async () => {
    const userId = (await runtime.call("users.add", { name: "Ada" }, { kind: "mutation" })) as string;
    let latest: unknown;
    const stop = engine.watch("projects.byUser", { userId }, null, (update) => {
      if ("value" in update) latest = update.value;
    });
    await expect.poll(() => latest, { timeout: 10_000 }).toEqual([]);

    restartPostgres();
    // The pool's connections died with the server: mutations fail until it is back, then work.
    await expect
      .poll(
        async () =>
          runtime.call("projects.add", { userId, name: "after restart" }, { kind: "mutation" }).then(
            () => "ok",
            () => "failed",
          ),
        { timeout: 30_000, interval: 500 },
      )
      .toBe("ok");
    await runtime.call("projects.add", { userId, name: "second" }, { kind: "mutation" });
    const fresh = await runtime.call("projects.byUser", { userId }, { kind: "query" });
    await expect.poll(() => latest, { timeout: 30_000 }).toEqual(fresh);
    stop();
  });
});
