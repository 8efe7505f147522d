import type { FunctionTree } from "../../runtime/functions/functionReference.js";
import { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import type { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import type { TestDatabase, TestDriverFactory } from "./testDatabases.js";
import { openTestRuntime } from "./testRuntime.js";

/** A fresh database with the test schema, a runtime of `functions` on it, and a running live engine. */
export interface LiveHarness {
  database: TestDatabase;
  runtime: ConvoyRuntime;
  engine: LiveQueryEngine;
  dispose(): Promise<void>;
}

export async function startLive(
  factory: TestDriverFactory,
  functions: FunctionTree,
  pollIntervalMs = 200,
): Promise<LiveHarness> {
  const { database, runtime } = await openTestRuntime(factory, functions);
  const engine = new LiveQueryEngine({ runtime, pollIntervalMs });
  await engine.start();
  return {
    database,
    runtime,
    engine,
    async dispose() {
      await engine.stop();
      await database.dispose();
    },
  };
}
