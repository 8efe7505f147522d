// SIGKILL of a server in the middle of multi-document mutations: every batch is all
// there or absent, and a convoy/client watching it reconnects by itself to the restarted
// server and keeps receiving changes. convoy/client writers ride through the kill: each
// call resolves and is applied exactly once.
import { once } from "node:events";
import { rmSync } from "node:fs";
import { EventSource } from "eventsource";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import type { FunctionReference } from "../../runtime/functions/functionReference.js";
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

const databaseUrl = inject("postgresUrl");
const BATCH_SIZE = 40;
const WRITERS = 4;

const ref = (path: string) => ({ path, kind: "query" }) as FunctionReference<"query", any, any>;

describe.skipIf(databaseUrl === null)("a server killed in the middle of mutations", () => {
  /** Each test's Convoy tables, in a schema of its own. */
  const schemas: string[] = [];
  let root: string;
  let admin: pg.Client;
  const servers: ServeProcess[] = [];
  let client: ConvoyClient | undefined;

  beforeAll(async () => {
    root = await createServedProject(faultApp);
    admin = new pg.Client({ connectionString: databaseUrl! });
    await admin.connect();
  }, 300_000);

  afterAll(async () => {
    client?.close();
    for (const server of servers) await stopProcess(server);
    for (const schemaName of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await admin?.end();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const newSchema = () => {
    const schemaName = uniqueSchemaName();
    schemas.push(schemaName);
    return schemaName;
  };

  /** Transactions of the app in `schemaName` still open in Postgres. */
  async function openTransactions(schemaName: string): Promise<number> {
    const { rows } = await admin.query<{ count: string }>(
      `SELECT count(*) FROM pg_stat_activity
        WHERE state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid() AND query LIKE $1`,
      [`%"${schemaName}".%`],
    );
    return Number(rows[0]!.count);
  }

  /** The committed batches, read from Postgres directly: each batch's item seqs, in order. */
  async function committedBatches(schemaName: string): Promise<Map<string, number[]>> {
    const { rows } = await admin.query<{ batch: string; seqs: number[] }>(
      `SELECT doc->>'batch' AS batch, array_agg((doc->>'seq')::int ORDER BY (doc->>'seq')::int) AS seqs
         FROM "${schemaName}"."items" GROUP BY 1`,
    );
    return new Map(rows.map((row) => [row.batch, row.seqs]));
  }

  /** The counter every batch increments. */
  async function batchCounter(schemaName: string): Promise<number | undefined> {
    const { rows } = await admin.query<{ value: number }>(
      `SELECT (doc->>'value')::int AS value FROM "${schemaName}"."counters" WHERE doc->>'name' = 'batches'`,
    );
    return rows[0]?.value;
  }

  const seqsOf = (size: number) => Array.from({ length: size }, (_, seq) => seq);

  it("leaves no half-written batch, and its watching client resumes on the restarted server", async () => {
    const schemaName = newSchema();
    const port = await freePort();
    const first = await startServe(root, { databaseUrl: databaseUrl!, schemaName, port });
    servers.push(first);

    client = createConvoyClient({ url: first.url, EventSource });
    let afterRestart: unknown;
    let batchCount: unknown;
    client.watch(ref("items.byBatch"), { batch: "after-restart" }, (value) => (afterRestart = value));
    client.watch(ref("items.batches"), {}, (value) => (batchCount = value));
    await expect.poll(() => [afterRestart, batchCount], { timeout: 15_000 }).toEqual([[], 0]);

    // Writers send batch after batch until the server dies under them.
    const attempted = new Set<string>();
    const acknowledged = new Set<string>();
    const writers = Array.from({ length: WRITERS }, async (_, writer) => {
      for (let i = 0; ; i++) {
        const batch = `w${writer}-${i}`;
        attempted.add(batch);
        try {
          const answer = await callFunction(first.url, "mutation", "items.writeBatch", { batch, size: BATCH_SIZE });
          expect(answer).toEqual({ status: 200, body: { value: batch, position: expect.stringMatching(/^\d+$/) } });
          acknowledged.add(batch);
        } catch (error) {
          if (first.child.exitCode === null && first.child.signalCode === null && !isNetworkError(error)) throw error;
          return;
        }
      }
    });
    await expect.poll(() => acknowledged.size, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(12);
    await expect.poll(() => openTransactions(schemaName), { timeout: 10_000, interval: 5 }).toBeGreaterThan(0);
    const died = once(first.child, "exit");
    first.child.kill("SIGKILL");
    await Promise.all(writers);
    expect((await died)[1]).toBe("SIGKILL");
    const cutOff = [...attempted].filter((batch) => !acknowledged.has(batch));
    expect(cutOff.length).toBeGreaterThan(0);

    // Postgres rolls back what the dead process left open; then look at what committed.
    await expect.poll(() => openTransactions(schemaName), { timeout: 15_000 }).toBe(0);
    const present = await committedBatches(schemaName);
    for (const [batch, seqs] of present) expect(seqs, `batch ${batch}`).toEqual(seqsOf(BATCH_SIZE));
    for (const batch of acknowledged) expect(present.has(batch), `acknowledged batch ${batch}`).toBe(true);
    for (const batch of present.keys()) expect(attempted.has(batch)).toBe(true);
    expect(await batchCounter(schemaName)).toBe(present.size);

    // Restarted on the same port: the client reconnects by itself and its watches resume.
    const second = await startServe(root, { databaseUrl: databaseUrl!, schemaName, port });
    servers.push(second);
    await expect.poll(() => batchCount, { timeout: 30_000 }).toBe(present.size);
    expect(await callFunction(second.url, "mutation", "items.writeBatch", { batch: "after-restart", size: 3 })).toEqual(
      { status: 200, body: { value: "after-restart", position: expect.stringMatching(/^\d+$/) } },
    );
    await expect.poll(() => afterRestart, { timeout: 15_000 }).toEqual([0, 1, 2]);
    await expect.poll(() => batchCount, { timeout: 15_000 }).toBe(present.size + 1);
  });

  it("convoy/client writers: every call resolves, and each batch is applied exactly once, whether the kill cut it before or after commit", async () => {
    const schemaName = newSchema();
    const port = await freePort();
    const first = await startServe(root, { databaseUrl: databaseUrl!, schemaName, port });
    servers.push(first);
    const writeBatch = { path: "items.writeBatch", kind: "mutation" } as FunctionReference<"mutation", any, any>;
    const size = 10;

    let writing = true;
    const attempted: string[] = [];
    const acknowledged: string[] = [];
    const writers = Array.from({ length: WRITERS }, async (_, writer) => {
      const writerClient = createConvoyClient({ url: first.url, mutationRetryMs: 90_000 });
      for (let i = 0; writing; i++) {
        const batch = `w${writer}-${i}`;
        attempted.push(batch);
        expect(await writerClient.mutation(writeBatch, { batch, size })).toBe(batch);
        acknowledged.push(batch);
      }
    });
    await expect.poll(() => acknowledged.length, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(12);
    const died = once(first.child, "exit");
    first.child.kill("SIGKILL");
    await died;
    const cutOff = attempted.length - acknowledged.length;
    servers.push(await startServe(root, { databaseUrl: databaseUrl!, schemaName, port }));
    const afterRestart = acknowledged.length;
    await expect.poll(() => acknowledged.length - afterRestart, { timeout: 60_000 }).toBeGreaterThan(cutOff + 4);
    writing = false;
    await Promise.all(writers);

    expect(cutOff, "the kill cut calls in flight").toBeGreaterThan(0);
    expect(acknowledged.sort()).toEqual([...attempted].sort());
    const present = await committedBatches(schemaName);
    expect([...present.keys()].sort()).toEqual([...attempted].sort());
    for (const [batch, seqs] of present) expect(seqs, `batch ${batch}`).toEqual(seqsOf(size));
    expect(await batchCounter(schemaName)).toBe(attempted.length);
  });
});

function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && /fetch failed/.test(error.message);
}
