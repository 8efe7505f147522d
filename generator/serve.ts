import type { Driver } from "../runtime/drivers/driver.js";
import type { AuthHook } from "../runtime/functions/auth.js";
import type { FunctionTree } from "../runtime/functions/functionReference.js";
import type { HttpRouter } from "../runtime/http/httpRouter.js";
import type { SchemaDefinition } from "../runtime/schema/defineSchema.js";
import { createConvoyServer, type CloseOptions, type CloseReport } from "../runtime/server/convoyServer.js";
import { httpRoutes } from "../runtime/server/httpRoutes.js";
import type { LoadedApp } from "./build/readApp.js";
import { serveStaticFiles } from "./staticFiles.js";

export type { CloseOptions, CloseReport };

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
  /** Live streams one client may hold open (`--max-streams-per-client`); 64 by default. */
  maxStreamsPerClient?: number;
  log: (message: string) => void;
}

/** A running Convoy HTTP server. */
export interface RunningServer {
  url: string;
  /** Serves a new build: its functions, schema, auth hook and HTTP routes (`convoy dev`). */
  setApp(functions: FunctionTree, schema: SchemaDefinition, auth?: AuthHook, http?: HttpRouter): void;
  /** Shuts down gracefully (see `ConvoyServer.close`). */
  close(options?: CloseOptions): Promise<CloseReport>;
}

/** Starts `convoy serve` / `convoy dev` for a loaded app: createConvoyServer, the web app, and a port. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  // convoy/auth.ts, swapped on each `convoy dev` build.
  let authHook = options.app.auth;
  // convoy/http.ts, likewise.
  let httpRouter = options.app.http;
  const convoy = await createConvoyServer({
    driver: options.driver,
    schema: options.app.schema,
    functions: options.app.functions,
    auth: (request) => (authHook ? authHook(request) : null),
    dev: options.dev,
    onError: (error) => options.log(`Unexpected error: ${(error as Error)?.stack ?? String(error)}`),
    ...(options.schemaName ? { schemaName: options.schemaName } : {}),
    scheduler: { log: options.log, ...(options.app.crons ? { crons: options.app.crons } : {}) },
    ...(options.corsOrigins?.length ? { cors: options.corsOrigins } : {}),
    ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
    ...(options.maxStreamsPerClient !== undefined ? { maxStreamsPerClient: options.maxStreamsPerClient } : {}),
    features: [httpRoutes(() => httpRouter)],
  });
  if (options.staticDir !== undefined) serveStaticFiles(convoy.handler, options.staticDir);
  try {
    await convoy.listen({ port: options.port, host: options.host });
  } catch (error) {
    // The caller still owns the database when the server never started.
    await convoy.live.stop();
    throw error;
  }
  return {
    url: convoy.url!,
    setApp: (functions, schema, auth, http) => {
      authHook = auth;
      httpRouter = http;
      convoy.setFunctions(functions, schema);
    },
    close: (closeOptions) => convoy.close(closeOptions),
  };
}
