// Restarts the machine's PostgreSQL, so it runs alone, after the main suite
// (vitest.restart.config.ts). Needs root and pg_ctlcluster; CI has both.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";
import type { Driver } from "../../runtime/drivers/driver.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { repoRoot } from "../support/cliProject.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";
import { transitionResults } from "../support/transitionEvents.js";

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

/** Restarts PostgreSQL without blocking this process: writers and watchers keep running through it. */
async function restartPostgresAsync(): Promise<void> {
  const version = readdirSync("/etc/postgresql")[0]!;
  // stdio inherited, not piped: a restarted server must not hold a pipe this waits on.
  const child = spawn("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "restart"], { stdio: "inherit" });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`pg_ctlcluster restart exited with ${code}`);
}

/** test/support/liveServerProcess.ts in a process of its own; resolves with its URL. */
function startServerProcess(schemaName: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/support/liveServerProcess.ts", databaseUrl!, schemaName],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      const match = /listening (\S+)/.exec(chunk.toString());
      if (match) resolve({ child, url: match[1]! });
    });
    child.once("exit", (code) => reject(new Error(`server process exited with ${code}`)));
  });
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

  it("restarted while mutations flow: no acknowledged write is lost and no watcher, here or in another process, stays stale", async () => {
    const users: string[] = [];
    for (let i = 0; i < 5; i++)
      users.push((await runtime.call("users.add", { name: `writer ${i}` }, { kind: "mutation" })) as string);
    // Watchers in this process...
    const latest = new Map<string, unknown>();
    const stops = users.map((userId) =>
      engine.watch("projects.byUser", { userId }, null, (update) => {
        if ("value" in update) latest.set(userId, update.value);
      }),
    );
    // ...and SSE subscribers of a server in another process.
    const server = await startServerProcess(schemaName);
    const streamed = new Map<string, unknown>();
    const sources = users.map((userId) => {
      const source = new EventSource(
        `${server.url}/api/subscribe?path=projects.byUser&args=${encodeURIComponent(JSON.stringify({ userId }))}`,
      );
      source.addEventListener("transition", (event) => {
        for (const { type, data } of transitionResults(JSON.parse((event as MessageEvent<string>).data)))
          if (type === "result") streamed.set(userId, data.value);
      });
      return source;
    });
    try {
      await expect.poll(() => latest.size + streamed.size, { timeout: 15_000 }).toBe(2 * users.length);

      // Four writers, each retrying through the outage.
      let writing = true;
      let sent = 0;
      const acknowledged: string[] = [];
      let failures = 0;
      const writers = Array.from({ length: 4 }, async () => {
        while (writing) {
          const name = `p${sent++}`;
          const userId = users[sent % users.length]!;
          try {
            await runtime.call("projects.add", { userId, name }, { kind: "mutation" });
            acknowledged.push(name);
          } catch {
            failures++;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      });
      await expect.poll(() => acknowledged.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(20);
      await restartPostgresAsync();
      const afterRestart = acknowledged.length;
      await expect
        .poll(() => acknowledged.length - afterRestart, { timeout: 30_000, interval: 100 })
        .toBeGreaterThanOrEqual(20);
      writing = false;
      await Promise.all(writers);
      expect(failures).toBeGreaterThan(0); // the restart really hit the writers

      const fresh = new Map<string, string[]>();
      for (const userId of users)
        fresh.set(userId, (await runtime.call("projects.byUser", { userId }, { kind: "query" })) as string[]);
      const stored = new Set([...fresh.values()].flat());
      for (const name of acknowledged) expect(stored.has(name), `acknowledged ${name}`).toBe(true);
      for (const userId of users) {
        await expect.poll(() => latest.get(userId), { timeout: 30_000 }).toEqual(fresh.get(userId));
        await expect.poll(() => streamed.get(userId), { timeout: 30_000 }).toEqual(fresh.get(userId));
      }
    } finally {
      for (const stop of stops) stop();
      for (const source of sources) source.close();
      server.child.kill("SIGTERM");
      await new Promise((resolve) => server.child.once("exit", resolve));
    }
  });
});
