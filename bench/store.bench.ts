/**
 * Convoy's document store against raw `pg` and drizzle-orm running the same SQL.
 *
 *   npm run bench:store            (node --import tsx bench/store.bench.ts)
 *
 * Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * BENCH_ROUNDS (default 3), BENCH_SECONDS (measured seconds per contender per round, default 2).
 * Creates the Postgres schema `bench_store` and drops it at the end.
 */
import { randomUUID } from "node:crypto";
import { sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import { z } from "zod";
import { syncSchema } from "../generator/sync/syncSchema.js";
import type { Driver } from "../runtime/drivers/driver.js";
import { createPgliteDriver } from "../runtime/drivers/pglite/pgliteDriver.js";
import { createPostgresDriver, redactConnectionString } from "../runtime/drivers/postgres/postgresDriver.js";
import { defineRef, defineSchema, defineTable, type Id } from "../runtime/index.js";
import { generateId } from "../runtime/schema/ids.js";
import { nextCreationTime } from "../runtime/store/creationTime.js";
import { createDocumentStore } from "../runtime/server/createDocumentStore.js";
import { rawTransaction } from "./rawPg.js";
import { bulkInsertDocuments } from "./seed.js";
import {
  formatTable,
  sample,
  summarize,
  type Measurement,
  type Operation,
  type RunOptions,
  type Sample,
} from "./harness.js";

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA = "bench_store";
const CONCURRENCY = 8;
const USERS = 100;
const SEEDED_PROJECTS = 10_000;
const TAKE = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RUN: RunOptions = {
  concurrency: CONCURRENCY,
  warmupSeconds: 0.5,
  seconds: Number(process.env.BENCH_SECONDS ?? 2),
  maxOps: 200_000,
};

const schema = defineSchema({
  users: defineTable({ name: z.string(), createdAt: z.number() }),
  projects: defineTable({ name: z.string(), userId: defineRef("users"), createdAt: z.number() }).index("by_userId", [
    "userId",
  ]),
});

// The SQL Convoy runs (checked against what it really sends in checkSameSql), used verbatim by the baselines.
const PROJECTS = `"${SCHEMA}"."projects"`;
const USER_KEY = `COALESCE((doc -> 'userId'), 'null'::jsonb)`;
const INSERT_SQL = `INSERT INTO ${PROJECTS} (_id, _creation_time, doc) VALUES ($1::text, $2::float8, $3::jsonb)`;
const SELECT_SQL =
  `SELECT _id, _creation_time, doc FROM ${PROJECTS} WHERE ${USER_KEY} = $1::jsonb` +
  ` ORDER BY ${USER_KEY} ASC, _creation_time ASC, _id ASC LIMIT $2::int8`;
const MUTATION_SETUP = `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SET LOCAL convoy.mutation = 'on'; LOCK TABLE "${SCHEMA}"."_mutation_lock" IN ROW SHARE MODE`;
const QUERY_SETUP = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

// The same statements as drizzle `sql` templates: values become $n parameters.
const drizzleInsert = (id: string, creationTime: number, doc: string): SQL =>
  sql`INSERT INTO ${sql.raw(PROJECTS)} (_id, _creation_time, doc) VALUES (${id}::text, ${creationTime}::float8, ${doc}::jsonb)`;
const drizzleSelect = (userKey: string, limit: number): SQL =>
  sql`SELECT _id, _creation_time, doc FROM ${sql.raw(PROJECTS)} WHERE ${sql.raw(USER_KEY)} = ${userKey}::jsonb ORDER BY ${sql.raw(USER_KEY)} ASC, _creation_time ASC, _id ASC LIMIT ${limit}::int8`;

type UserId = Id<"users">;
type Store = ReturnType<typeof createStore>;
const createStore = (driver: Driver) => createDocumentStore({ schema, driver, schemaName: SCHEMA });

/** The document the i-th insert writes (same for every contender). */
const projectDoc = (users: UserId[], i: number) => ({
  name: `project ${i}`,
  userId: users[i % users.length]!,
  createdAt: i,
});

/** Fails unless Convoy and drizzle send exactly the statements the raw baselines send. */
async function checkSameSql(driver: Driver, users: UserId[]): Promise<void> {
  const sent: string[] = [];
  const recording: Driver = {
    ...driver,
    transaction: (setup, body) => {
      sent.push(`BEGIN; ${setup}`);
      return driver.transaction(setup, (tx) =>
        body({
          query: <TRow>(text: string, params?: readonly unknown[]) => {
            sent.push(text);
            return tx.query<TRow>(text, params);
          },
          queueQuery: <TRow>(text: string, params?: readonly unknown[]) => {
            sent.push(text);
            return tx.queueQuery<TRow>(text, params);
          },
          queue: (text: string, params?: readonly unknown[]) => {
            sent.push(text);
            tx.queue(text, params);
          },
        }),
      );
    },
  };
  const store = createStore(recording);
  await store.mutation((db) => db.insert("projects", projectDoc(users, 0)));
  await store.query((db) =>
    db
      .query("projects")
      .withIndex("by_userId", (q) => q.eq("userId", users[0]!))
      .take(TAKE),
  );
  const dialect = new PgDialect();
  const expected = [
    [`BEGIN; ${MUTATION_SETUP}`, sent[0]],
    [INSERT_SQL, sent[1]],
    [`BEGIN; ${QUERY_SETUP}`, sent[2]],
    [SELECT_SQL, sent[3]],
    [INSERT_SQL, dialect.sqlToQuery(drizzleInsert("x", 0, "{}")).sql],
    [SELECT_SQL, dialect.sqlToQuery(drizzleSelect("null", TAKE)).sql],
  ];
  for (const [want, got] of expected) {
    if (want === got) continue;
    throw new Error(
      `The baselines no longer run Convoy's SQL; update bench/store.bench.ts.\n  want: ${want}\n  got:  ${got}`,
    );
  }
  if (sent.length !== 4) throw new Error(`Convoy sent ${sent.length} statements, expected 4: ${sent.join(" / ")}`);
}

async function seedUsers(store: Store): Promise<UserId[]> {
  const users: UserId[] = [];
  for (let i = 0; i < USERS; i++)
    users.push(await store.mutation((db) => db.insert("users", { name: `user ${i}`, createdAt: i })));
  return users;
}

/** Empties `projects`, then bulk-loads `count` projects spread over the users. */
async function resetProjects(driver: Driver, users: UserId[], count: number): Promise<void> {
  await driver.exec(`TRUNCATE ${PROJECTS}`);
  await bulkInsertDocuments(
    driver,
    PROJECTS,
    Array.from({ length: count }, (_, i) => projectDoc(users, i)),
  );
  await driver.exec(`ANALYZE ${PROJECTS}`);
}

const RAW = "raw pg, autocommit";
const RAW_TX = "raw pg, Convoy's BEGIN/SET/COMMIT";
const DRIZZLE = "drizzle db.execute, autocommit";
const CONVOY = "Convoy store";
const CONVOY_NAMED = "Convoy store, with a mutation id";

interface Contender {
  name: string;
  op: Operation;
  /** Also compared with {@link RAW_TX} (same transaction statements). */
  transactional?: boolean;
}

interface Row extends Measurement {
  workload: string;
  contender: Contender;
}

/**
 * Runs every contender ROUNDS times, rotating their order each round so drift on a
 * shared machine (checkpoints, other processes) does not favour one of them.
 */
async function runWorkload(
  workload: string,
  contenders: Contender[],
  options: { before?: () => Promise<void>; concurrency?: number } = {},
): Promise<Row[]> {
  const samples = contenders.map((): Sample[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (k + round) % contenders.length;
      await options.before?.();
      samples[index]!.push(
        await sample(contenders[index]!.op, { ...RUN, concurrency: options.concurrency ?? CONCURRENCY }),
      );
    }
  }
  const rows = contenders.map((contender, i) => ({ workload, contender, ...summarize(samples[i]!) }));
  for (const row of rows) console.log(`  ${workload}: ${row.contender.name}: ${Math.round(row.opsPerSec)} ops/s`);
  return rows;
}

async function benchPostgres(): Promise<Row[]> {
  const driver = createPostgresDriver({ connectionString: DATABASE_URL, maxConnections: CONCURRENCY });
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: CONCURRENCY });
  const orm = drizzle({ client: pool });
  try {
    await driver.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await syncSchema(driver, schema, { schemaName: SCHEMA });
    const store = createStore(driver);
    const users = await seedUsers(store);
    await checkSameSql(driver, users);

    // 1. insert: one document per operation, into an emptied table each sample.
    const insertArgs = (i: number) => {
      const time = nextCreationTime();
      return [generateId("projects", time), time, JSON.stringify(projectDoc(users, i))] as const;
    };
    const inserts = await runWorkload(
      "insert",
      [
        { name: RAW, op: (i) => pool.query(INSERT_SQL, [...insertArgs(i)]) },
        {
          name: RAW_TX,
          op: (i) => rawTransaction(pool, MUTATION_SETUP, INSERT_SQL, [...insertArgs(i)], "write"),
          transactional: true,
        },
        { name: DRIZZLE, op: (i) => orm.execute(drizzleInsert(...insertArgs(i))) },
        { name: CONVOY, op: (i) => insertProject(store, users, i), transactional: true },
        { name: CONVOY_NAMED, op: (i) => insertProject(store, users, i, true), transactional: true },
      ],
      { before: () => resetProjects(driver, users, 0) },
    );

    // 2. indexed query: take(20) of one user's projects, out of 10,000.
    await resetProjects(driver, users, SEEDED_PROJECTS);
    const userKey = (i: number) => JSON.stringify(users[i % USERS]);
    const queries = await runWorkload("query take(20)", [
      { name: RAW, op: (i) => pool.query(SELECT_SQL, [userKey(i), TAKE]) },
      {
        name: RAW_TX,
        op: (i) => rawTransaction(pool, QUERY_SETUP, SELECT_SQL, [userKey(i), TAKE], "read"),
        transactional: true,
      },
      { name: DRIZZLE, op: (i) => orm.execute(drizzleSelect(userKey(i), TAKE)) },
      { name: CONVOY, op: (i) => queryProjects(store, users[i % USERS]!), transactional: true },
    ]);
    return [...inserts, ...queries];
  } finally {
    await driver.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await pool.end();
    await driver.close();
  }
}

/** `named`: with a mutation id, as convoy/client sends (its result is recorded with the writes). */
const insertProject = (store: Store, users: UserId[], i: number, named = false) =>
  store.mutation(
    (db) => db.insert("projects", projectDoc(users, i)),
    named ? { call: { id: randomUUID(), fingerprint: "bench" } } : {},
  );

const queryProjects = (store: Store, userId: UserId) =>
  store.query((db) =>
    db
      .query("projects")
      .withIndex("by_userId", (q) => q.eq("userId", userId))
      .take(TAKE),
  );

/** PGlite runs one transaction at a time, so one worker: more would only queue. */
async function benchPglite(): Promise<Row[]> {
  const driver = await createPgliteDriver();
  try {
    await syncSchema(driver, schema, { schemaName: SCHEMA });
    const store = createStore(driver);
    const users = await seedUsers(store);
    const inserts = await runWorkload("PGlite insert", [{ name: CONVOY, op: (i) => insertProject(store, users, i) }], {
      before: () => resetProjects(driver, users, 0),
      concurrency: 1,
    });
    await resetProjects(driver, users, SEEDED_PROJECTS);
    const queries = await runWorkload(
      "PGlite query take(20)",
      [{ name: CONVOY, op: (i) => queryProjects(store, users[i % USERS]!) }],
      { concurrency: 1 },
    );
    return [...inserts, ...queries];
  } finally {
    await driver.close();
  }
}

function report(rows: Row[]): string {
  const opsPerSec = (workload: string, name: string) =>
    rows.find((row) => row.workload === workload && row.contender.name === name)?.opsPerSec;
  const ratio = (value: number, baseline: number | undefined) => (baseline ? (value / baseline).toFixed(2) : "");
  return formatTable(
    ["workload", "contender", "ops/s", "range ops/s", "p50 ms", "p99 ms", "÷ raw", "÷ raw tx"],
    rows.map((row) => [
      row.workload,
      row.contender.name,
      Math.round(row.opsPerSec).toString(),
      `${Math.round(row.minOpsPerSec)}–${Math.round(row.maxOpsPerSec)}`,
      row.p50.toFixed(2),
      row.p99.toFixed(2),
      ratio(row.opsPerSec, opsPerSec(row.workload, RAW)),
      row.contender.transactional ? ratio(row.opsPerSec, opsPerSec(row.workload, RAW_TX)) : "",
    ]),
  );
}

async function main(): Promise<void> {
  const probe = new pg.Client({ connectionString: DATABASE_URL });
  await probe.connect();
  const { rows } = await probe.query<{ server_version: string }>("SHOW server_version");
  await probe.end();
  console.log(
    `Convoy document store bench: ${redactConnectionString(DATABASE_URL)} (Postgres ${rows[0]?.server_version}), ` +
      `node ${process.version}, ${CONCURRENCY} workers, ${ROUNDS} rounds of ${RUN.warmupSeconds} s warm-up + ` +
      `${RUN.seconds} s measured per contender`,
  );
  const results = [...(await benchPostgres()), ...(await benchPglite())];
  console.log(`\n${report(results)}\n`);
  console.log("ops/s: all rounds together; range: slowest and fastest round; p50/p99: per-operation latency.");
  console.log("÷ raw, ÷ raw tx: ops/s divided by that raw pg baseline's ops/s (1.00 = as fast, 0.50 = half as fast).");
  console.log("PGlite rows: embedded, in memory, one connection, 1 worker; no raw-pg baseline.");
}

await main();
