/**
 * The HTTP servers bench/http.bench.ts measures. It runs this file in a child process
 * (`fork`, argv[2] = "postgres" | "pglite") so the servers do not share an event loop
 * with the load generator, and talks to it over the IPC channel (see httpProtocol.ts).
 *
 * - Convoy: `createConvoyServer`, as `convoy serve` runs it (native `/api/...` and tRPC at `/trpc`).
 * - postgres mode only, the baseline: a minimal express app with its own `pg.Pool`
 *   running the SQL Convoy runs, either in Convoy's transaction (`/tx/query`,
 *   `/tx/mutation`) or as one autocommit statement (`/auto/query`, `/auto/mutation`).
 */
import { rawTransaction } from "./rawPg.js";
import { bulkInsertDocuments } from "./seed.js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express } from "express";
import pg from "pg";
import { z } from "zod";
import { syncSchema } from "../generator/sync/syncSchema.js";
import type { Driver } from "../runtime/drivers/driver.js";
import { createPgliteDriver } from "../runtime/drivers/pglite/pgliteDriver.js";
import { createPostgresDriver } from "../runtime/drivers/postgres/postgresDriver.js";
import { defineRef, defineSchema, defineTable, functionBuilders } from "../runtime/index.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import { generateId } from "../runtime/schema/ids.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { createConvoyServer, type ConvoyServer } from "../runtime/server/convoyServer.js";
import { nextCreationTime } from "../runtime/store/creationTime.js";
import {
  BASELINE_SCHEMA,
  DEFAULT_DATABASE_URL,
  POOL_SIZE,
  projectArgs,
  SCHEMA,
  TAKE,
  type Command,
  type ProjectArgs,
  type Reply,
  type ServerMode,
  type TransactionSetups,
} from "./httpProtocol.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
const USERS = 100;

const schema = defineSchema({
  users: defineTable({ name: z.string(), createdAt: z.number() }),
  projects: defineTable({ name: z.string(), userId: defineRef("users"), createdAt: z.number() }).index("by_userId", [
    "userId",
  ]),
});

const { query, mutation } = functionBuilders<typeof schema>();

/** The Convoy functions under test, as `convoy/_generated/functions.ts` would export them. */
const functions = {
  projects: {
    create: mutation({
      args: { name: z.string(), userId: defineRef("users"), createdAt: z.number() },
      handler: (ctx, args) => ctx.db.insert("projects", args),
    }),
    byUser: query({
      args: { userId: defineRef("users") },
      handler: (ctx, args) =>
        ctx.db
          .query("projects")
          .withIndex("by_userId", (q) => q.eq("userId", args.userId))
          .take(TAKE),
    }),
  },
};

// The statements Convoy runs for these functions (checked in recordConvoySql), used verbatim by the baseline.
const PROJECTS = `"${SCHEMA}"."projects"`;
const USER_KEY = `COALESCE((doc -> 'userId'), 'null'::jsonb)`;
const INSERT_SQL = `INSERT INTO ${PROJECTS} (_id, _creation_time, doc) VALUES ($1::text, $2::float8, $3::jsonb)`;
const SELECT_SQL =
  `SELECT _id, _creation_time, doc FROM ${PROJECTS} WHERE ${USER_KEY} = $1::jsonb` +
  ` ORDER BY ${USER_KEY} ASC, _creation_time ASC, _id ASC LIMIT $2::int8`;

/** A statement of Convoy's as the baseline sends it: on its own tables. */
const onBaselineTables = (sql: string) => sql.replaceAll(`"${SCHEMA}".`, `"${BASELINE_SCHEMA}".`);

/** Creates the baseline's tables (see BASELINE_SCHEMA): copies of Convoy's, without triggers. */
async function createBaselineTables(driver: Driver): Promise<void> {
  if (BASELINE_SCHEMA === SCHEMA) return;
  const copy = (table: string) =>
    `CREATE TABLE "${BASELINE_SCHEMA}"."${table}" (LIKE "${SCHEMA}"."${table}" INCLUDING ALL)`;
  await driver.exec(
    `DROP SCHEMA IF EXISTS "${BASELINE_SCHEMA}" CASCADE; CREATE SCHEMA "${BASELINE_SCHEMA}"; ` +
      `${copy("projects")}; ${copy("_mutation_lock")}`,
  );
}

interface ProjectRow {
  _id: string;
  _creation_time: number;
  doc: Record<string, unknown>;
}

/**
 * Calls both functions on a recording driver and returns the setup SQL Convoy runs
 * after BEGIN (isolation level, locks), which the baseline then sends verbatim. Fails
 * unless everything else Convoy sends is exactly what the baseline sends.
 */
async function recordConvoySql(driver: Driver, users: string[]): Promise<TransactionSetups> {
  const sent: { text: string; params: readonly unknown[] }[] = [];
  const setups: string[] = [];
  const recording: Driver = {
    ...driver,
    query: <TRow>(text: string, params: readonly unknown[] = []) => {
      sent.push({ text, params });
      return driver.query<TRow>(text, params);
    },
    exec: (sql) => {
      sent.push({ text: sql, params: [] });
      return driver.exec(sql);
    },
    transaction: (setup, body) => {
      setups.push(setup);
      sent.push({ text: `BEGIN; ${setup}`, params: [] });
      return driver.transaction(setup, (tx) =>
        body({
          query: <TRow>(text: string, params: readonly unknown[] = []) => {
            sent.push({ text, params });
            return tx.query<TRow>(text, params);
          },
          queueQuery: <TRow>(text: string, params: readonly unknown[] = []) => {
            sent.push({ text, params });
            return tx.queueQuery<TRow>(text, params);
          },
          queue: (text: string, params: readonly unknown[] = []) => {
            sent.push({ text, params });
            tx.queue(text, params);
          },
        }),
      );
    },
  };
  const runtime = new ConvoyRuntime({ schema, functions, driver: recording, schemaName: SCHEMA });
  // As in `convoy serve`, a live engine follows the mutations (started before recording).
  const live = new LiveQueryEngine({ runtime });
  await live.start();
  sent.length = 0;
  setups.length = 0;
  const args = projectArgs(users, 0);
  try {
    await runtime.call("projects.create", args, { kind: "mutation" });
    await runtime.call("projects.byUser", { userId: users[0] }, { kind: "query" });
  } finally {
    await live.stop();
  }
  const all = sent.map((s) => `${s.text} ${JSON.stringify(s.params)}`).join("\n    ");
  const expected: [string, unknown][] = [
    [INSERT_SQL, sent[1]?.text],
    [JSON.stringify(args), sent[1]?.params[2]],
    [SELECT_SQL, sent[3]?.text],
    [JSON.stringify([JSON.stringify(users[0]), TAKE]), JSON.stringify(sent[3]?.params)],
  ];
  for (const [want, got] of expected) {
    if (want !== got || sent.length !== 4 || setups.length !== 2) {
      throw new Error(
        `The baseline no longer runs Convoy's SQL; update bench/httpServers.ts.\n  want: ${want}\n  got:  ${String(got)}` +
          `\n  Convoy sent (expected BEGIN+setup, INSERT, BEGIN+setup, SELECT):\n    ${all}`,
      );
    }
  }
  return { mutation: setups[0]!, query: setups[1]! };
}

/**
 * The baseline: what you would write by hand with express and `pg` for the same two
 * endpoints. Same request bodies and response bodies as Convoy's native endpoints, same
 * JSON body parser settings; no argument validation. Convoy's statements, on the
 * baseline's tables.
 */
function createBaselineApp(pool: pg.Pool, setups: TransactionSetups): Express {
  const [insertSql, selectSql, mutationSetup, querySetup] = [INSERT_SQL, SELECT_SQL, setups.mutation, setups.query].map(
    onBaselineTables,
  ) as [string, string, string, string];
  const app = express();
  app.disable("x-powered-by");
  const json = express.json({ limit: "1mb", strict: false, type: () => true });
  for (const transactional of [true, false]) {
    const run = async (setup: string, text: string, params: unknown[], kind: "read" | "write") =>
      transactional ? rawTransaction(pool, setup, text, params, kind) : (await pool.query(text, params)).rows;
    const prefix = transactional ? "/tx" : "/auto";
    app.post(`${prefix}/mutation`, json, async (request, response) => {
      const args = (request.body as { args: ProjectArgs }).args;
      const creationTime = nextCreationTime();
      const id = generateId("projects", creationTime);
      await run(mutationSetup, insertSql, [id, creationTime, JSON.stringify(args)], "write");
      response.json({ value: id });
    });
    app.post(`${prefix}/query`, json, async (request, response) => {
      const { userId } = (request.body as { args: { userId: string } }).args;
      const rows = (await run(querySetup, selectSql, [JSON.stringify(userId), TAKE], "read")) as ProjectRow[];
      response.json({ value: rows.map((row) => ({ _id: row._id, _creationTime: row._creation_time, ...row.doc })) });
    });
  }
  return app;
}

/** Idle keep-alive connections wait while other contenders run; do not drop them. */
function keepIdleConnections(server: Server): void {
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
}

async function listen(app: Express): Promise<Server> {
  const server = createServer(app);
  keepIdleConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return server;
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

/** Empties `projects` (Convoy's and the baseline's), then bulk-loads the same `count` projects into both. */
async function resetProjects(driver: Driver, users: string[], count: number): Promise<void> {
  const baselineProjects = onBaselineTables(PROJECTS);
  const copy = driver.kind === "postgres" && baselineProjects !== PROJECTS;
  await driver.exec(`TRUNCATE ${PROJECTS}${copy ? `, ${baselineProjects}` : ""}`);
  await bulkInsertDocuments(
    driver,
    PROJECTS,
    Array.from({ length: count }, (_, i) => projectArgs(users, i)),
  );
  if (copy) await driver.exec(`INSERT INTO ${baselineProjects} SELECT * FROM ${PROJECTS}; ANALYZE ${baselineProjects}`);
  await driver.exec(`ANALYZE ${PROJECTS}`);
}

function send(reply: Reply): void {
  if (!process.send) throw new Error("bench/httpServers.ts runs as a child of bench/http.bench.ts (IPC channel)");
  process.send(reply);
}

const message = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

async function main(mode: ServerMode): Promise<void> {
  const driver =
    mode === "postgres"
      ? createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: POOL_SIZE })
      : await createPgliteDriver();
  const pool = mode === "postgres" ? new pg.Pool({ connectionString: DATABASE_URL, max: POOL_SIZE }) : null;
  pool?.on("error", () => {});
  const servers: Server[] = [];
  let convoy: ConvoyServer | null = null;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await convoy?.close({ timeoutMs: 1000 });
      for (const server of servers.slice(1)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      if (mode === "postgres") {
        await driver
          .exec(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE; DROP SCHEMA IF EXISTS "${BASELINE_SCHEMA}" CASCADE`)
          .catch(() => {});
      }
      await pool?.end();
      await driver.close();
    })());
  process.on("disconnect", () => void stop().finally(() => process.exit(0)));

  const users: string[] = [];
  let setups: TransactionSetups | null = null;
  try {
    if (mode === "postgres") await driver.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await syncSchema(driver, schema, { schemaName: SCHEMA });
    const runtime = new ConvoyRuntime({ schema, functions, driver, schemaName: SCHEMA });
    for (let i = 0; i < USERS; i++)
      users.push(await runtime.store.mutation((db) => db.insert("users", { name: `user ${i}`, createdAt: i })));
    if (pool) {
      setups = await recordConvoySql(driver, users);
      await createBaselineTables(driver);
    }
    // `convoy serve`'s wiring: the live-query engine runs (and, alone on the database, its mutations skip the change log).
    convoy = await createConvoyServer({
      driver,
      schema,
      functions,
      schemaName: SCHEMA,
      closeDatabase: false,
      onError: (error) => console.error(error),
    });
    const { server: convoyServer } = await convoy.listen({ port: 0 });
    keepIdleConnections(convoyServer);
    servers.push(convoyServer);
    if (pool && setups) servers.push(await listen(createBaselineApp(pool, setups)));
  } catch (error) {
    send({ type: "failed", id: null, message: message(error) });
    await stop();
    process.exit(1);
  }

  process.on("message", (raw: unknown) => {
    const command = raw as Command;
    if (command.type === "stop") {
      void stop().finally(() => process.exit(0));
      return;
    }
    const handle = async (): Promise<Reply> => {
      if (command.type === "reset") await resetProjects(driver, users, command.projects);
      const cpu = process.cpuUsage();
      return { type: "done", id: command.id, cpuMicros: cpu.user + cpu.system };
    };
    handle().then(send, (error: unknown) => send({ type: "failed", id: command.id, message: message(error) }));
  });
  send({
    type: "ready",
    convoyPort: portOf(servers[0]!),
    baselinePort: servers[1] ? portOf(servers[1]) : null,
    users,
    setups,
  });
}

await main(process.argv[2] === "pglite" ? "pglite" : "postgres");
