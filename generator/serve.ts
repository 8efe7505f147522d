import type { Server } from "node:http";
import type { Driver } from "../runtime/drivers/driver.js";
import { ConvoyError } from "../runtime/errors.js";
import type { FunctionTree } from "../runtime/functions/functionReference.js";
import type { SchemaDefinition } from "../runtime/schema/defineSchema.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { createConvoyApp } from "../runtime/server/expressApp.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import type { LoadedApp } from "./build/readApp.js";

/** Options of {@link startServer}. */
export interface StartServerOptions {
  driver: Driver;
  app: LoadedApp;
  port: number;
  host: string;
  dev: boolean;
  schemaName?: string;
  log: (message: string) => void;
}

/** A running Convoy HTTP server. */
export interface RunningServer {
  url: string;
  setApp(functions: FunctionTree, schema: SchemaDefinition): void;
  /** Stops accepting connections, ends open ones, and closes the database. */
  close(): Promise<void>;
}

/** Starts the express server for a loaded app. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const runtime = new ConvoyRuntime({
    schema: options.app.schema,
    functions: options.app.functions,
    driver: options.driver,
    ...(options.schemaName ? { schemaName: options.schemaName } : {}),
  });
  const onError = (error: unknown) => options.log(`Unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  const live = new LiveQueryEngine({ runtime, onError });
  await live.start();
  const { app, setFunctions, streams } = createConvoyApp({
    runtime,
    functions: options.app.functions,
    dev: options.dev,
    onError,
    live,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(options.port, options.host);
    listening.once("listening", () => resolve(listening));
    listening.once("error", (error: NodeJS.ErrnoException) => {
      void live.stop();
      reject(
        error.code === "EADDRINUSE"
          ? new ConvoyError({
              code: "CONFLICT",
              message: `Port ${options.port} on ${options.host} is in use. Stop the other process or pass --port <n>`,
            })
          : error,
      );
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    setApp: (functions, schema) => {
      setFunctions(functions, schema);
      live.rerunAll();
    },
    async close() {
      streams?.closeAll();
      await live.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runtime.close();
    },
  };
}
