// Graceful shutdown of the installed CLI: SIGTERM / SIGINT let requests in flight finish,
// refuse new ones, end SSE streams, and exit 0; a second signal or the deadline cut it short.
import { request } from "node:http";
import { rmSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCli } from "../support/cliProject.js";
import { faultApp } from "../support/faultApp.js";
import { callFunction, createServedProject, startServe, type ServeProcess } from "../support/servedProject.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { blockWatchEvents } from "../support/transitionEvents.js";

const databaseUrl = inject("postgresUrl");

/** A raw SSE GET: the results its transitions carried and when its stream ended. */
function openStream(url: string): { results: unknown[]; ended: Promise<number> } {
  const results: unknown[] = [];
  const ended = new Promise<number>((resolve, reject) => {
    const req = request(`${url}/api/subscribe?path=items.batches`, { agent: false }, (response) => {
      let buffer = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const event of blockWatchEvents(block)) if (event.type === "result") results.push(event.data.value);
        }
      });
      response.on("end", () => resolve(Date.now()));
      response.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
  return { results, ended };
}

/** A request on a new connection: its status, or the network error's code. */
function freshRequest(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/api/query`,
      { method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(JSON.stringify({ path: "items.batches", args: {} }));
  });
}

function exited(server: ServeProcess): Promise<{ code: number | null; at: number }> {
  if (server.child.exitCode !== null) return Promise.resolve({ code: server.child.exitCode, at: Date.now() });
  return new Promise((resolve) => server.child.once("exit", (code) => resolve({ code, at: Date.now() })));
}

describe.skipIf(databaseUrl === null)("graceful shutdown of convoy serve and convoy dev", () => {
  const schemaName = uniqueSchemaName();
  let root: string;
  let admin: pg.Client;

  /** Transactions of this app's functions that are open in Postgres right now. */
  async function openTransactions(): Promise<number> {
    const { rows } = await admin.query<{ count: string }>(
      `SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE $1`,
      [`%"${schemaName}"."items"%`],
    );
    return Number(rows[0]!.count);
  }

  async function itemsOf(batch: string): Promise<number[]> {
    const { rows } = await admin.query<{ seq: number }>(
      `SELECT (doc->>'seq')::int AS seq FROM "${schemaName}"."items" WHERE doc->>'batch' = $1 ORDER BY 1`,
      [batch],
    );
    return rows.map((row) => row.seq);
  }

  const serve = () => startServe(root, { databaseUrl: databaseUrl!, schemaName });

  beforeAll(async () => {
    root = await createServedProject(faultApp);
    admin = new pg.Client({ connectionString: databaseUrl! });
    await admin.connect();
  }, 300_000);

  afterAll(async () => {
    await admin?.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await admin?.end();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("SIGTERM: mutations and queries in flight finish and commit, new requests are refused, SSE streams end, exit 0", async () => {
    const server = await serve();
    const stream = openStream(server.url);
    await expect.poll(() => stream.results, { timeout: 10_000 }).toEqual([0]);

    const batches = ["a", "b", "c", "d"];
    const mutations = batches.map((batch) =>
      callFunction(server.url, "mutation", "items.slowWrite", { batch, ms: 2500 }).then((answer) => ({
        answer,
        at: Date.now(),
      })),
    );
    const query = callFunction(server.url, "query", "items.slowCount", { batch: "a", ms: 2500 });
    await expect.poll(openTransactions, { timeout: 10_000, interval: 50 }).toBe(5);

    const exit = exited(server);
    server.child.kill("SIGTERM");
    await server.waitFor(/SIGTERM: shutting down/);
    expect(await freshRequest(server.url)).toBe("ECONNREFUSED");

    const answers = await Promise.all(mutations);
    for (const [i, { answer }] of answers.entries())
      // It committed: its answer carries the commit's position (protocol 2).
      expect(answer).toEqual({ status: 200, body: { value: batches[i], position: expect.stringMatching(/^\d+$/) } });
    // The query read one snapshot: it does not see the mutations that committed meanwhile.
    expect(await query).toEqual({ status: 200, body: { value: 0 } });
    for (const batch of batches) expect(await itemsOf(batch)).toEqual([0, 1]);

    // The stream ended at once, so its client could reconnect elsewhere while requests drained.
    const streamEnded = await stream.ended;
    expect(streamEnded).toBeLessThan(Math.min(...answers.map(({ at }) => at)));
    const { code } = await exit;
    expect(code).toBe(0);
    expect(server.output()).toContain("Shut down: 5 request(s) in flight finished, 1 stream(s) closed");
  });

  it("a second signal exits at once; the mutation it cut off is rolled back", async () => {
    const server = await serve();
    const mutation = callFunction(server.url, "mutation", "items.slowWrite", { batch: "second", ms: 30_000 }).catch(
      (error: Error) => error,
    );
    await expect.poll(openTransactions, { timeout: 10_000, interval: 50 }).toBe(1);
    const exit = exited(server);
    server.child.kill("SIGTERM");
    await server.waitFor(/SIGTERM: shutting down/);
    const again = Date.now();
    server.child.kill("SIGTERM");
    const { code, at } = await exit;
    expect(code).toBe(1);
    expect(at - again).toBeLessThan(2000);
    expect(server.output()).toContain("SIGTERM again: exiting now without waiting");
    expect(await mutation).toBeInstanceOf(Error);
    await expect.poll(openTransactions, { timeout: 10_000 }).toBe(0);
    expect(await itemsOf("second")).toEqual([]);
  });

  it("past CONVOY_SHUTDOWN_TIMEOUT it exits anyway and says so; the unfinished mutation is rolled back", async () => {
    const server = await startServe(root, {
      databaseUrl: databaseUrl!,
      schemaName,
      env: { CONVOY_SHUTDOWN_TIMEOUT: "1" },
    });
    const mutation = callFunction(server.url, "mutation", "items.slowWrite", { batch: "late", ms: 30_000 }).catch(
      (error: Error) => error,
    );
    await expect.poll(openTransactions, { timeout: 10_000, interval: 50 }).toBe(1);
    const exit = exited(server);
    const sent = Date.now();
    server.child.kill("SIGTERM");
    const { code, at } = await exit;
    expect(code).toBe(1);
    expect(at - sent).toBeGreaterThanOrEqual(1000);
    expect(at - sent).toBeLessThan(6000);
    expect(server.output()).toContain("Shut down after 1 s with 1 request(s) still running: they were cut off");
    expect(await mutation).toBeInstanceOf(Error);
    await expect.poll(openTransactions, { timeout: 10_000 }).toBe(0);
    expect(await itemsOf("late")).toEqual([]);
  });

  it("convoy dev drains on SIGINT too", async () => {
    const dev = startCli(root, ["dev", "--port", "0", "--no-typecheck", "--schema-name", schemaName], {
      DATABASE_URL: databaseUrl!,
    });
    const url = (await dev.waitFor(/Convoy dev server on (http:\/\/\S+) /, 90_000))[1]!;
    const mutation = callFunction(url, "mutation", "items.slowWrite", { batch: "dev", ms: 1500 });
    await expect.poll(openTransactions, { timeout: 10_000, interval: 50 }).toBe(1);
    const exit = new Promise<number | null>((resolve) => dev.child.once("exit", resolve));
    dev.child.kill("SIGINT");
    expect(await mutation).toEqual({ status: 200, body: { value: "dev", position: expect.stringMatching(/^\d+$/) } });
    expect(await exit).toBe(0);
    expect(dev.output()).toContain("SIGINT: shutting down");
    expect(dev.output()).toContain("Shut down: 1 request(s) in flight finished, 0 stream(s) closed");
    expect(await itemsOf("dev")).toEqual([0, 1]);
  });
});
