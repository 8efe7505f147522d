import { createServer, type Server } from "node:http";
import type { Driver } from "../runtime/drivers/driver.js";
import { ConvoyError } from "../runtime/errors.js";
import type { AuthHook } from "../runtime/functions/auth.js";
import type { FunctionTree } from "../runtime/functions/functionReference.js";
import type { SchemaDefinition } from "../runtime/schema/defineSchema.js";
import { ConvoyRuntime } from "../runtime/server/convoyRuntime.js";
import { createConvoyApp } from "../runtime/server/expressApp.js";
import { LiveQueryEngine } from "../runtime/live/liveQueryEngine.js";
import type { LoadedApp } from "./build/readApp.js";
import { RequestDrain } from "./requestDrain.js";
import { serveStaticFiles } from "./staticFiles.js";

/** Options of {@link startServer}. */
export interface StartServerOptions {
  driver: Driver;
  app: LoadedApp;
  port: number;
  host: string;
  dev: boolean;
  schemaName?: string;
  /** A built web app's folder (checked by `resolveStaticDir`), served beside the API. */
  staticDir?: string;
  /** Browser origins allowed to call from another origin (`--cors-origin`); none by default. */
  corsOrigins?: readonly string[];
  /** Express's `trust proxy` (`--trust-proxy`): which proxies' X-Forwarded-For names the client. */
  trustProxy?: number | string;
  log: (message: string) => void;
}

/** Options of {@link RunningServer.close}. */
export interface CloseOptions {
  /** How long requests in flight may take to finish. @default 10000 */
  timeoutMs?: number;
}

/** What a {@link RunningServer.close} did. */
export interface CloseReport {
  /** False when requests were still running at the deadline (their connections were cut). */
  drained: boolean;
  /** Requests (event streams aside) running when the close began. */
  requests: number;
  /** Requests cut off at the deadline. */
  unfinished: number;
  /** SSE streams ended. */
  streams: number;
}

/** A running Convoy HTTP server. */
export interface RunningServer {
  url: string;
  /** Serves a new build: its functions, schema and auth hook (`convoy dev`). */
  setApp(functions: FunctionTree, schema: SchemaDefinition, auth?: AuthHook): void;
  /**
   * Shuts down gracefully: stops accepting connections and refuses new requests (503),
   * ends SSE streams (clients reconnect elsewhere), lets requests in flight finish
   * (at most `timeoutMs`), stops the live engine, and closes the database.
   */
  close(options?: CloseOptions): Promise<CloseReport>;
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
  // convoy/auth.ts, swapped on each `convoy dev` build.
  let authHook = options.app.auth;
  const { app, setFunctions, streams } = createConvoyApp({
    runtime,
    functions: options.app.functions,
    dev: options.dev,
    onError,
    live,
    auth: (request) => (authHook ? authHook(request) : null),
    ...(options.corsOrigins?.length ? { cors: options.corsOrigins } : {}),
  });
  if (options.trustProxy !== undefined) app.set("trust proxy", options.trustProxy);
  if (options.staticDir !== undefined) serveStaticFiles(app, options.staticDir);
  const drain = new RequestDrain(app);
  const server: Server = await new Promise((resolve, reject) => {
    const listening = createServer(drain.listener).listen(options.port, options.host);
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
    setApp: (functions, schema, auth) => {
      authHook = auth;
      setFunctions(functions, schema);
      live.rerunAll();
    },
    async close(closeOptions = {}) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const requests = drain.busy;
      const draining = drain.drain(closeOptions.timeoutMs ?? 10_000);
      let ended = streams?.size ?? 0;
      streams?.closeAll();
      const drained = await draining;
      const unfinished = drain.busy;
      // Streams opened by requests that were already under way, tRPC subscriptions, and
      // requests past the deadline.
      ended += streams?.size ?? 0;
      streams?.closeAll();
      server.closeAllConnections();
      await closed;
      // After the requests: their commits' NOTIFY to other servers goes out first.
      await live.stop();
      if (drained) await runtime.close();
      else void runtime.close().catch(() => {});
      return { drained, requests, unfinished, streams: ended };
    },
  };
}
