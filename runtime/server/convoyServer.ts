import { createServer, IncomingMessage, type Server } from "node:http";
import type { AnyTRPCRootTypes, TRPCBuiltRouter } from "@trpc/server";
import type { CreateExpressContextOptions } from "@trpc/server/adapters/express";
import express, { type Express, type Request } from "express";
import { DEFAULT_PORT } from "../client/convoyClient.js";
import type { Driver } from "../drivers/driver.js";
import { openDatabase, type OpenDatabaseOptions } from "../drivers/openDatabase.js";
import { ConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import type { FunctionTree } from "../functions/functionReference.js";
import { LiveQueryEngine } from "../live/liveQueryEngine.js";
import { schedulerFeature, type SchedulerFeatureOptions } from "../scheduler/schedulerFeature.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import { ConvoyRuntime } from "./convoyRuntime.js";
import type { CorsOrigins } from "./cors.js";
import { createConvoyApp } from "./expressApp.js";
import { identityReader } from "./requestIdentity.js";
import { RequestDrain } from "./requestDrain.js";
import { checkTablesExist } from "./schemaCheck.js";
import { contextIdentity } from "./serverIdentity.js";
import { createConvoyRouter, type ConvoyRouterRecord, type TRPCInstance } from "./trpcRouter.js";

/** What a {@link ConvoyServerFeature} gets to work with. */
export interface ConvoyServerContext {
  runtime: ConvoyRuntime;
  live: LiveQueryEngine;
  /** The caller of a request, as the server's `auth` says (read once per request). */
  identity(request: IncomingMessage): Promise<UserIdentity | null>;
  /** Reports an unexpected error (the server's `onError`). */
  onError(error: unknown): void;
  dev: boolean;
  /** Aborted when {@link ConvoyServer.close} begins. */
  closing: AbortSignal;
}

/**
 * A capability plugged into the server's life (e.g. a scheduler, cron jobs, HTTP
 * routes): it mounts routes beside Convoy's endpoints, starts once the live engine
 * runs, and stops during `close()` after requests drained, before the database closes.
 */
export interface ConvoyServerFeature {
  /** Names the feature in errors. */
  name: string;
  /** Mounts routes after Convoy's own endpoints (and before its `/api` 404). */
  routes?(app: Express, server: ConvoyServerContext): void;
  start?(server: ConvoyServerContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Options of {@link createConvoyServer}. */
export interface ConvoyServerOptions<TTree extends FunctionTree, TContext> extends OpenDatabaseOptions {
  schema: SchemaDefinition;
  /** The function tree, as `convoy/_generated/functions.ts` exports it. */
  functions: TTree;
  /**
   * Your tRPC app's `createContext`, when Convoy joins one: `auth` then reads the
   * identity from that context, for tRPC calls and Convoy's own endpoints alike.
   */
  context?: (options: CreateExpressContextOptions) => TContext | Promise<TContext>;
  /**
   * Who is calling: from your `context` when given, else from the request. Return
   * `{ subject, ...claims }` or null; throw `ConvoyError({ code: "UNAUTHORIZED" })` to refuse.
   * @default every caller is anonymous
   */
  auth?: (source: TContext) => UserIdentity | null | Promise<UserIdentity | null>;
  /** An open database to run on, instead of opening one (`databaseUrl`, `DATABASE_URL`, else PGlite in `dataDir`). */
  driver?: Driver;
  /** @default "convoy" */
  schemaName?: string;
  /** `close()` closes the database (a `driver` you passed too; if starting fails, that one stays open). @default true */
  closeDatabase?: boolean;
  /** Shows unexpected errors' messages and stacks to clients. @default false */
  dev?: boolean;
  /** Receives unexpected errors (bugs, database outages) for logging. */
  onError?: (error: unknown) => void;
  /** Browser origins allowed to call from another origin; none by default. */
  cors?: CorsOrigins;
  /** Express's `trust proxy` for Convoy's routes (which proxies' X-Forwarded-For names the client). */
  trustProxy?: boolean | number | string;
  /** @default "1mb" */
  bodyLimit?: string;
  /** Where Convoy's own tRPC router is served by `handler`. @default "/trpc" */
  trpcPath?: string;
  /** Live streams one client may hold open. @default 64 */
  maxStreamsPerClient?: number;
  /** Watches one `GET /api/subscribe` stream may hold. @default 256 */
  maxWatchesPerStream?: number;
  /** Which client a request comes from, for `maxStreamsPerClient`: by default the user, else the address. */
  clientKey?: (request: IncomingMessage, auth: UserIdentity | null) => string;
  /** The live engine's safety poll of the change log. @default 2000 */
  pollIntervalMs?: number;
  /** Builds the live engine (tests and benchmarks that measure other engines). @internal */
  liveEngine?: (runtime: ConvoyRuntime) => LiveQueryEngine;
  /** Capabilities started and stopped with the server, in order (closed in reverse). */
  features?: readonly ConvoyServerFeature[];
  /**
   * Runs scheduled functions (`ctx.scheduler`) and cron jobs on this server; `false`
   * for a server that only serves requests (another one must run them).
   * @default {} (on, without cron jobs)
   */
  scheduler?: SchedulerFeatureOptions | false;
}

/** Options of {@link ConvoyServer.close}. */
export interface CloseOptions {
  /** How long requests in flight may take to finish. @default 10000 */
  timeoutMs?: number;
}

/** What a {@link ConvoyServer.close} did. */
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

/** Options of {@link ConvoyServer.router}. */
export interface ConvoyServerRouterOptions<TContext> {
  /** Reads the identity from this router's context; by default the server's `auth`. */
  auth?: (ctx: TContext) => UserIdentity | null | Promise<UserIdentity | null>;
}

/** A running Convoy: its runtime and live engine, what a host mounts, and a graceful close. */
// The default is loose so that any server, whatever its functions, is a `ConvoyServer`.
export interface ConvoyServer<TTree extends FunctionTree = any> {
  readonly runtime: ConvoyRuntime;
  readonly live: LiveQueryEngine;
  /**
   * Convoy's endpoints as an express app: `POST /api/query`, `POST /api/mutation`,
   * `GET /api/subscribe`, `GET /api/health`, Convoy's own router at `/trpc`, and the
   * features' routes. Mount it with `app.use(convoy.handler)`.
   */
  readonly handler: Express;
  /** The base URL once {@link ConvoyServer.listen} resolved. */
  readonly url: string | undefined;
  /** Live streams (`GET /api/subscribe`) open now. */
  readonly streams: number;
  /**
   * Convoy's router built on your tRPC instance, with the `live.*` subscriptions, for
   * `t.router({ convoy: convoy.router(t) })`. Identities come from the server's `auth`.
   */
  router<TRoot extends AnyTRPCRootTypes>(
    t: TRPCInstance<TRoot>,
    options?: ConvoyServerRouterOptions<TRoot["ctx"]>,
  ): TRPCBuiltRouter<TRoot, ConvoyRouterRecord<TTree, TRoot["meta"]>>;
  /** The identity `auth` gives a request (read once per request). */
  identity(request: IncomingMessage): Promise<UserIdentity | null>;
  /** Serves {@link ConvoyServer.handler} on its own HTTP server. */
  listen(options?: { port?: number; host?: string }): Promise<{ url: string; server: Server }>;
  /** Serves a new build from now on and re-runs every watch (`convoy dev`). */
  setFunctions(functions: FunctionTree, schema?: SchemaDefinition): void;
  /**
   * Shuts down gracefully: refuses new requests (503), ends live streams (clients
   * reconnect elsewhere), lets requests in flight finish (at most `timeoutMs`), stops
   * the features and the live engine, and closes the database. Safe to call twice.
   */
  close(options?: CloseOptions): Promise<CloseReport>;
}

/**
 * Runs Convoy: opens the database, starts the live-query engine, and returns what a
 * server mounts. One wiring for `convoy serve`, embedding in an express + tRPC app,
 * tests and benchmarks. The tables must exist: run `convoy generate` first.
 *
 * @example
 * ```ts
 * const convoy = await createConvoyServer({
 *   schema,
 *   functions,
 *   context: createContext, // the one your tRPC app uses
 *   auth: (ctx) => (ctx.user ? { subject: ctx.user.id } : null),
 * });
 * const appRouter = t.router({ hello, convoy: convoy.router(t) });
 * app.use("/trpc", createExpressMiddleware({ router: appRouter, createContext }));
 * app.use(convoy.handler);
 * process.on("SIGTERM", () => void convoy.close());
 * ```
 */
export async function createConvoyServer<TTree extends FunctionTree, TContext = IncomingMessage>(
  options: ConvoyServerOptions<TTree, TContext>,
): Promise<ConvoyServer<TTree>> {
  const driver = options.driver ?? (await openDatabase(options));
  const closeDatabase = options.closeDatabase ?? true;
  const closeOnFailure = () => (options.driver ? Promise.resolve() : driver.close().catch(() => {}));
  const schemaName = options.schemaName;
  const dev = options.dev ?? false;
  const onError = options.onError ?? (() => {});
  const runtime = new ConvoyRuntime({
    schema: options.schema,
    functions: options.functions,
    driver,
    ...(schemaName ? { schemaName } : {}),
  });
  let live: LiveQueryEngine;
  try {
    await checkTablesExist(driver, runtime.store.schemaName, options.schema);
    live =
      options.liveEngine?.(runtime) ??
      new LiveQueryEngine({
        runtime,
        onError,
        ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
      });
    await live.start();
  } catch (error) {
    await closeOnFailure();
    throw error;
  }

  const readAuth = identityReader(
    options.context
      ? contextIdentity(options.context, options.auth)
      : (options.auth as ((request: IncomingMessage) => UserIdentity | null) | undefined),
  );
  const closing = new AbortController();
  const context: ConvoyServerContext = { runtime, live, identity: readAuth, onError, dev, closing: closing.signal };
  const features = [
    ...(options.scheduler === false ? [] : [schedulerFeature(options.scheduler)]),
    ...(options.features ?? []),
  ];
  const convoyApp = createConvoyApp({
    runtime,
    functions: options.functions,
    live,
    auth: readAuth,
    dev,
    onError,
    closing: closing.signal,
    routes: (app) => {
      for (const feature of features) feature.routes?.(app, context);
    },
    ...pick(options, ["cors", "bodyLimit", "trpcPath", "maxStreamsPerClient", "maxWatchesPerStream", "clientKey"]),
  });
  const handler = express();
  // Listening itself, every request is counted; mounted in a host app, only Convoy's.
  const drain = new RequestDrain((request, response) => handler(request as Request, response));
  handler.disable("x-powered-by");
  if (options.trustProxy !== undefined) handler.set("trust proxy", options.trustProxy);
  handler.use(["/api", options.trpcPath ?? "/trpc"], drain.middleware);
  handler.use(convoyApp.app);

  const started: ConvoyServerFeature[] = [];
  const stopFeatures = async () => {
    for (const feature of started.reverse()) await feature.close?.();
  };
  try {
    for (const feature of features) {
      await feature.start?.(context);
      started.push(feature);
    }
  } catch (error) {
    await stopFeatures().catch(() => {});
    await live.stop();
    await closeOnFailure();
    throw error;
  }

  let httpServer: Server | undefined;
  let url: string | undefined;
  let closed: Promise<CloseReport> | undefined;
  const streams = convoyApp.streams!;

  async function shutDown(timeoutMs: number): Promise<CloseReport> {
    closing.abort();
    const serverClosed = httpServer
      ? new Promise<void>((resolve) => httpServer!.close(() => resolve()))
      : Promise.resolve();
    const requests = drain.busy;
    const draining = drain.drain(timeoutMs);
    let ended = streams.size;
    streams.closeAll();
    const drained = await draining;
    const unfinished = drain.busy;
    // Streams opened by requests that were already under way, and requests past the deadline.
    ended += streams.size;
    streams.closeAll();
    httpServer?.closeAllConnections();
    await serverClosed;
    await stopFeatures();
    // After the requests: their commits' NOTIFY to other servers goes out first.
    await live.stop();
    if (closeDatabase) {
      if (drained) await runtime.close();
      else void runtime.close().catch(() => {});
    }
    return { drained, requests, unfinished, streams: ended };
  }

  return {
    runtime,
    live,
    handler,
    get url() {
      return url;
    },
    get streams() {
      return streams.size;
    },
    identity: readAuth,
    router(t, routerOptions = {}) {
      return createConvoyRouter(t, options.functions, {
        runtime,
        live,
        dev,
        closing: closing.signal,
        // Host subscriptions count toward the client's streams, as Convoy's own do.
        streamSlot: (ctx, auth) => {
          const request: unknown = ctx?.req;
          return convoyApp.acquireStream(request instanceof IncomingMessage ? request : undefined, auth);
        },
        auth: async (ctx) => {
          if (routerOptions.auth) return routerOptions.auth(ctx);
          if (options.context) return options.auth ? options.auth(ctx) : null;
          if (options.auth === undefined) return null;
          const request: unknown = ctx?.req;
          if (request instanceof IncomingMessage) return readAuth(request);
          throw new ConvoyError({
            code: "INTERNAL_SERVER_ERROR",
            message:
              "convoy.router(t) cannot tell who is calling: give createConvoyServer your tRPC createContext as `context` (auth then reads your context), or put the request in your context as `req`",
          });
        },
      });
    },
    async listen({ port = DEFAULT_PORT, host = "127.0.0.1" } = {}) {
      if (httpServer) throw new ConvoyError({ code: "CONFLICT", message: "This Convoy server is already listening" });
      const listening = createServer(drain.listener);
      await new Promise<void>((resolve, reject) => {
        listening.once("listening", () => resolve());
        listening.once("error", (error: NodeJS.ErrnoException) =>
          reject(
            error.code === "EADDRINUSE"
              ? new ConvoyError({
                  code: "CONFLICT",
                  message: `Port ${port} on ${host} is in use. Stop the other process or pass --port <n>`,
                })
              : error,
          ),
        );
        listening.listen(port, host);
      });
      httpServer = listening;
      const address = listening.address();
      const shownHost = host.includes(":") ? `[${host}]` : host;
      url = `http://${shownHost}:${typeof address === "object" && address ? address.port : port}`;
      return { url, server: listening };
    },
    setFunctions(functions, schema) {
      convoyApp.setFunctions(functions, schema);
      live.rerunAll();
    },
    close({ timeoutMs = 10_000 } = {}) {
      return (closed ??= shutDown(timeoutMs));
    },
  };
}

/** The named options that are set. */
function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const key of keys) if (object[key] !== undefined) picked[key] = object[key];
  return picked;
}
