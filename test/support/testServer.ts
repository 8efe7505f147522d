import { inject } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import type { FunctionTree } from "../../runtime/functions/functionReference.js";
import type { SchemaDefinition } from "../../runtime/schema/defineSchema.js";
import { createConvoyServer, type ConvoyServer, type ConvoyServerOptions } from "../../runtime/server/convoyServer.js";
import type { TestDatabase, TestDriverFactory } from "./testDatabases.js";
import { testSchema } from "./testSchema.js";

/** A Convoy server (createConvoyServer) on a fresh test database, listening on 127.0.0.1. */
export interface TestServer<TTree extends FunctionTree = any> {
  database: TestDatabase;
  convoy: ConvoyServer<TTree>;
  url: string;
  /** Closes the server, then drops the database. */
  close(): Promise<void>;
}

/**
 * Opens a fresh database on `factory`, syncs `schema` (the test schema by default) and
 * serves `functions` with createConvoyServer, as `convoy serve` does.
 */
export async function startTestServer<TTree extends FunctionTree>(
  factory: TestDriverFactory,
  functions: TTree,
  options: Partial<ConvoyServerOptions<TTree, any>> & { schema?: SchemaDefinition; listen?: boolean } = {},
): Promise<TestServer<TTree>> {
  const { listen = true, schema = testSchema, ...rest } = options;
  const database = await factory.open();
  await syncSchema(database.driver, schema, { schemaName: database.schemaName });
  const convoy = await createConvoyServer({
    driver: database.driver,
    schemaName: database.schemaName,
    closeDatabase: false,
    pollIntervalMs: 200,
    ...rest,
    schema,
    functions,
  });
  const url = listen ? (await convoy.listen({ port: 0 })).url : "";
  return {
    database,
    convoy,
    url,
    async close() {
      await convoy.close({ timeoutMs: 2000 });
      await database.dispose();
    },
  };
}

/**
 * Closes `server` and starts a new one serving `functions` on the same port and
 * `database` (the test schema), as a restarted `convoy serve` would: clients' streams
 * drop, then reopen on the new server. `options` go to createConvoyServer.
 */
export async function restartServer<TTree extends FunctionTree>(
  server: ConvoyServer<TTree>,
  database: TestDatabase,
  functions: TTree,
  options: Partial<ConvoyServerOptions<TTree, any>> = {},
): Promise<ConvoyServer<TTree>> {
  const port = Number(new URL(server.url!).port);
  await server.close({ timeoutMs: 1000 });
  const restarted = await createConvoyServer({
    driver: database.driver,
    schema: testSchema,
    schemaName: database.schemaName,
    functions,
    closeDatabase: false,
    ...options,
  });
  await restarted.listen({ port });
  return restarted;
}

/** A second Convoy server on a {@link TestServer}'s database, listening on 127.0.0.1. */
export interface PeerServer<TTree extends FunctionTree = any> {
  convoy: ConvoyServer<TTree>;
  url: string;
  /** Closes this server and its connections; the database stays. */
  close(): Promise<void>;
}

/**
 * Starts another server on `server`'s Postgres database and schema, with connections
 * and a live engine of its own, as a second `convoy serve` process would have: changes
 * reach it through the change log, as between processes. Close it before `server`.
 */
export async function startPeerServer<TTree extends FunctionTree>(
  server: TestServer<TTree>,
  functions: TTree,
  options: { schema?: SchemaDefinition } = {},
): Promise<PeerServer<TTree>> {
  const databaseUrl = inject("postgresUrl");
  if (server.database.driver.kind !== "postgres" || databaseUrl === null) {
    throw new Error("startPeerServer needs a test server on Postgres: PGlite serves one process");
  }
  const convoy = await createConvoyServer({
    databaseUrl,
    schemaName: server.database.schemaName,
    schema: options.schema ?? testSchema,
    functions,
    pollIntervalMs: 200,
  });
  const { url } = await convoy.listen({ port: 0 });
  return { convoy, url, close: async () => void (await convoy.close({ timeoutMs: 2000 })) };
}
