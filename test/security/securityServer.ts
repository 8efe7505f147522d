import type { IncomingMessage } from "node:http";
import { ConvoyError, type UserIdentity } from "../../runtime/index.js";
import type { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import type { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import type { ConvoyServer, ConvoyServerOptions } from "../../runtime/server/convoyServer.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import { startTestServer } from "../support/testServer.js";
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
  convoy: ConvoyServer<typeof securityFunctions>;
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
  options: Partial<ConvoyServerOptions<typeof securityFunctions, IncomingMessage>> = {},
): Promise<SecurityServer> {
  const unexpected: unknown[] = [];
  const server = await startTestServer(factory, securityFunctions, {
    schema: securitySchema,
    auth: securityAuth,
    onError: (error) => unexpected.push(error),
    ...options,
  });
  const { database, convoy, url } = server;
  const schema = database.schemaName;
  return {
    database,
    runtime: convoy.runtime,
    engine: convoy.live,
    convoy,
    url,
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
    close: () => server.close(),
  };
}
