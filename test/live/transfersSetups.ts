import { postgresFactory, type TestDriverFactory } from "../support/testDatabases.js";
import { startPeerServer, startTestServer } from "../support/testServer.js";
import type { TransfersSetup } from "./transfersSuite.js";

/** One server on a fresh database of `factory`. */
export function oneServer(factory: TestDriverFactory): TransfersSetup {
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
export function twoServersOnPostgres(): TransfersSetup {
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
