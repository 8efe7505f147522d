import type { FunctionTree } from "../../runtime/functions/functionReference.js";
import { postgresFactory, type TestDriverFactory } from "../support/testDatabases.js";
import { startPeerServer, startTestServer } from "../support/testServer.js";

/** Servers of one fresh database, listening on 127.0.0.1. */
export interface RunningServers {
  /** Base URL of each server. */
  urls: string[];
  close(): Promise<void>;
}

/** Where a live suite runs: one server on PGlite or Postgres, or two servers on one Postgres database. */
export interface ServerSetup {
  name: string;
  /** Null when the setup can run here; else why its suite is skipped (an error in CI). */
  unavailable: string | null;
  /** Serves `functions` on a fresh database with the test schema. */
  start(functions: FunctionTree): Promise<RunningServers>;
}

/** One server on a fresh database of `factory`. */
export function oneServer(factory: TestDriverFactory): ServerSetup {
  return {
    name: factory.name,
    unavailable: factory.unavailable,
    async start(functions) {
      const server = await startTestServer(factory, functions);
      return { urls: [server.url], close: () => server.close() };
    },
  };
}

/**
 * Two servers on one Postgres database, each with its own connections and live engine:
 * a change made through one reaches the other's watches through the change log.
 */
export function twoServersOnPostgres(): ServerSetup {
  return {
    name: "two servers on one Postgres database",
    unavailable: postgresFactory.unavailable,
    async start(functions) {
      const server = await startTestServer(postgresFactory, functions);
      const peer = await startPeerServer(server, functions);
      return {
        urls: [server.url, peer.url],
        async close() {
          await peer.close();
          await server.close();
        },
      };
    },
  };
}
