// Two `convoy serve` processes whose pools go through a real PgBouncer in transaction
// pooling mode, with their live-query listeners connected to PostgreSQL directly
// (--listen-url / CONVOY_LISTEN_URL); and the startup error when the listener would go
// through PgBouncer too.
import { rmSync } from "node:fs";
import { EventSource } from "eventsource";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import type { FunctionReference } from "../../runtime/functions/functionReference.js";
import { startCli } from "../support/cliProject.js";
import { faultApp } from "../support/faultApp.js";
import {
  callFunction,
  createServedProject,
  freePort,
  startServe,
  stopProcess,
  type ServeProcess,
} from "../support/servedProject.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { pgbouncerUnavailable, startPgBouncer, type PgBouncerProcess } from "./pgbouncerProcess.js";

const databaseUrl = inject("postgresUrl");
const unavailable = databaseUrl === null ? "Postgres is not reachable" : pgbouncerUnavailable();

const ref = (path: string) => ({ path, kind: "query" }) as FunctionReference<"query", any, any>;

interface XactStats {
  database: string;
  total_xact_count: string;
}

describe.skipIf(unavailable !== null)("behind PgBouncer in transaction pooling mode", () => {
  const schemaName = uniqueSchemaName();
  let root: string;
  let bouncer: PgBouncerProcess;
  const servers: ServeProcess[] = [];
  const clients: ConvoyClient[] = [];

  beforeAll(async () => {
    root = await createServedProject(faultApp);
    bouncer = await startPgBouncer(databaseUrl!, await freePort());
    // The listener URL once as an option, once from the environment.
    servers.push(
      await startServe(root, {
        databaseUrl: bouncer.url,
        schemaName,
        args: ["--listen-url", databaseUrl!],
      }),
    );
    servers.push(
      await startServe(root, { databaseUrl: bouncer.url, schemaName, env: { CONVOY_LISTEN_URL: databaseUrl! } }),
    );
  }, 300_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    for (const server of servers) await stopProcess(server);
    await bouncer?.stop();
    const admin = new pg.Client({ connectionString: databaseUrl! });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await admin.end();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("pools through PgBouncer, listens directly, and delivers changes across processes", async () => {
    const [one, two] = servers as [ServeProcess, ServeProcess];
    const bouncerUrl = bouncer.url.replace(/\/$/, "");
    for (const server of servers) {
      expect(server.output()).toContain(`Database: Postgres at ${bouncerUrl} (listener at ${databaseUrl})`);
    }
    const before = (await bouncer.admin<XactStats>("SHOW STATS")).find((row) => row.database === "test");

    const watcher = createConvoyClient({ url: one.url, EventSource });
    clients.push(watcher);
    let notes: unknown;
    let batches: unknown;
    watcher.watch(ref("notes.list"), { topic: "pooled" }, (value) => (notes = value));
    watcher.watch(ref("items.batches"), {}, (value) => (batches = value));
    await expect.poll(() => [notes, batches], { timeout: 15_000 }).toEqual([[], 0]);

    // A change made through the other process reaches this one's watchers.
    expect(await callFunction(two.url, "mutation", "notes.add", { topic: "pooled", text: "from two" })).toMatchObject({
      status: 200,
    });
    await expect.poll(() => notes, { timeout: 10_000 }).toEqual(["from two"]);

    // Many concurrent read-modify-write transactions over both pools, which together hold
    // more connections than PgBouncer gives the database: none is lost.
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        callFunction(servers[i % 2]!.url, "mutation", "items.writeBatch", { batch: `b${i}`, size: 5 }),
      ),
    );
    for (const [i, answer] of answers.entries())
      expect(answer).toEqual({ status: 200, body: { value: `b${i}`, position: expect.stringMatching(/^\d+$/) } });
    await expect.poll(() => batches, { timeout: 15_000 }).toBe(40);
    expect(await callFunction(two.url, "query", "items.byBatch", { batch: "b7" })).toEqual({
      status: 200,
      body: { value: [0, 1, 2, 3, 4] },
    });

    const after = (await bouncer.admin<XactStats>("SHOW STATS")).find((row) => row.database === "test");
    expect(Number(after?.total_xact_count) - Number(before?.total_xact_count ?? 0)).toBeGreaterThanOrEqual(40);
  });

  it("refuses to start when the listener would go through PgBouncer in transaction mode, and says what to do", async () => {
    const cli = startCli(root, ["serve", "--port", "0", "--schema-name", schemaName], { DATABASE_URL: bouncer.url });
    const code = await new Promise<number | null>((resolve) => cli.child.once("exit", resolve));
    expect(code).toBe(1);
    expect(cli.output()).toContain("ran LISTEN but received no notification");
    expect(cli.output()).toContain("PgBouncer in transaction or statement pooling mode");
    expect(cli.output()).toContain("CONVOY_LISTEN_URL (or --listen-url)");
  });
});
