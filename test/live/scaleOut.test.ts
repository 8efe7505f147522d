import { spawn, type ChildProcess } from "node:child_process";
import { EventSource } from "eventsource";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";
import { repoRoot } from "../support/cliProject.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";
import { transitionResults } from "../support/transitionEvents.js";

const databaseUrl = inject("postgresUrl");

interface ServerProcess {
  child: ChildProcess;
  url: string;
}

function startServer(schemaName: string): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/support/liveServerProcess.ts", databaseUrl!, schemaName],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      const match = /listening (\S+)/.exec(chunk.toString());
      if (match) resolve({ child, url: match[1]! });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function call(url: string, kind: string, path: string, args: unknown): Promise<any> {
  const response = await fetch(`${url}/api/${kind}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path, args }),
  });
  return ((await response.json()) as { value: unknown }).value;
}

function subscribe(url: string, path: string, args: unknown): { latest: () => unknown; close: () => void } {
  let latest: unknown;
  const source = new EventSource(`${url}/api/subscribe?path=${path}&args=${encodeURIComponent(JSON.stringify(args))}`);
  source.addEventListener("transition", (event) => {
    for (const { type, data } of transitionResults(JSON.parse((event as MessageEvent<string>).data)))
      if (type === "result") latest = data.value;
  });
  return { latest: () => latest, close: () => source.close() };
}

describe.skipIf(databaseUrl === null)("several convoy servers on one Postgres", () => {
  const schemaName = uniqueSchemaName();
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    const driver = createPostgresDriver({ connectionString: databaseUrl! });
    await syncSchema(driver, testSchema, { schemaName });
    await driver.close();
    servers.push(await startServer(schemaName), await startServer(schemaName));
  }, 60_000);

  afterAll(async () => {
    for (const server of servers) {
      server.child.kill("SIGTERM");
      await new Promise((resolve) => server.child.once("exit", resolve));
    }
    const client = new pg.Client({ connectionString: databaseUrl! });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await client.end();
  });

  it("a mutation through one server updates watchers on the other", async () => {
    const [one, two] = servers as [ServerProcess, ServerProcess];
    const userId = await call(two.url, "mutation", "users.add", { name: "Ada" });
    const watcher = subscribe(one.url, "projects.byUser", { userId });
    await expect.poll(watcher.latest, { timeout: 10_000 }).toEqual([]);
    await call(two.url, "mutation", "projects.add", { userId, name: "from two" });
    await expect.poll(watcher.latest, { timeout: 10_000 }).toEqual(["from two"]);
    await call(one.url, "mutation", "projects.add", { userId, name: "from one" });
    await expect.poll(watcher.latest, { timeout: 10_000 }).toEqual(["from two", "from one"]);
    watcher.close();
  });

  it("recovers when Postgres kills the listener connections, and is fresh after writes stop", async () => {
    const [one, two] = servers as [ServerProcess, ServerProcess];
    const userId = await call(one.url, "mutation", "users.add", { name: "Bea" });
    const watcher = subscribe(one.url, "projects.byUser", { userId });
    await expect.poll(watcher.latest, { timeout: 10_000 }).toEqual([]);
    const admin = new pg.Client({ connectionString: databaseUrl! });
    await admin.connect();
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN "convoy_changes_${schemaName}"'`,
    );
    expect(killed.rowCount).toBe(2);
    // Written while the listeners are down: the reconnect re-runs every watch.
    for (let i = 0; i < 5; i++) await call(two.url, "mutation", "projects.add", { userId, name: `p${i}` });
    await admin.end();
    await expect.poll(watcher.latest, { timeout: 15_000 }).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    watcher.close();
  });
});
