import type { IncomingMessage } from "node:http";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { ConvoyError, type UserIdentity } from "../../runtime/index.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { createConvoyApp, type ConvoyApp, type ConvoyAppOptions } from "../../runtime/server/expressApp.js";
import { listen, type RunningServer } from "../support/serverHarness.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import { securityFunctions, securitySchema } from "./securityApp.js";

/** `x-user: alice` is `{ subject: "alice" }`; `x-user: banned` is refused; `x-user: crash` makes the hook throw. */
export function securityAuth(request: IncomingMessage): UserIdentity | null {
  const user = request.headers["x-user"];
  if (user === "banned") throw new ConvoyError({ code: "UNAUTHORIZED", message: "This token was revoked" });
  if (user === "crash") throw new Error("auth hook bug: secret token store detail");
  return typeof user === "string" && user !== "" ? { subject: user } : null;
}

/** A real Convoy server over {@link securitySchema} on one driver, with live queries. */
export interface SecurityServer {
  database: TestDatabase;
  runtime: ConvoyRuntime;
  engine: LiveQueryEngine;
  convoy: ConvoyApp;
  server: RunningServer;
  url: string;
  /** What the app reported through `onError` (unexpected errors). */
  unexpected: unknown[];
  /** Every row of every table of Convoy's Postgres schema, as text: "the database" for before/after comparisons. */
  dump(): Promise<Record<string, string[]>>;
  close(): Promise<void>;
}

/** Opens a fresh database, syncs the schema, and serves {@link securityFunctions} with `options`. */
export async function startSecurityServer(
  factory: TestDriverFactory,
  options: Partial<ConvoyAppOptions> = {},
): Promise<SecurityServer> {
  const database = await factory.open();
  await syncSchema(database.driver, securitySchema, { schemaName: database.schemaName });
  const runtime = new ConvoyRuntime({
    schema: securitySchema,
    functions: securityFunctions,
    driver: database.driver,
    schemaName: database.schemaName,
  });
  const unexpected: unknown[] = [];
  const engine = new LiveQueryEngine({ runtime, pollIntervalMs: 200, onError: (error) => unexpected.push(error) });
  await engine.start();
  const convoy = createConvoyApp({
    runtime,
    functions: securityFunctions,
    live: engine,
    auth: securityAuth,
    onError: (error) => unexpected.push(error),
    ...options,
  });
  const server = await listen(convoy.app);
  const schema = database.schemaName;
  return {
    database,
    runtime,
    engine,
    convoy,
    server,
    url: server.url,
    unexpected,
    async dump() {
      const tables = await database.driver.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      );
      const out: Record<string, string[]> = {};
      for (const { table_name: table } of tables) {
        const rows = await database.driver.query<{ row: string }>(
          `SELECT to_jsonb(t)::text AS row FROM "${schema}"."${table}" t ORDER BY 1`,
        );
        out[table] = rows.map((row) => row.row);
      }
      return out;
    },
    async close() {
      convoy.streams?.closeAll();
      await server.close();
      await engine.stop();
      await database.dispose();
    },
  };
}
