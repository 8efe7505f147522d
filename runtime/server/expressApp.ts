import type { IncomingMessage } from "node:http";
import { initTRPC, type AnyTRPCRouter } from "@trpc/server";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import express, { type Express, type RequestHandler } from "express";
import { z } from "zod";
import { ConvoyError, isConvoyError } from "../errors.js";
import { describeIssues, toValidationIssues } from "../store/validateDocument.js";
import type { AuthHook, UserIdentity } from "../functions/auth.js";
import type { FunctionTree } from "../functions/functionReference.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import type { ConvoyRuntime } from "./convoyRuntime.js";
import { bodyErrorHandler } from "./bodyErrors.js";
import { errorResponse } from "./errorResponse.js";
import { handleCall } from "./handleCall.js";
import { corsMiddleware, type CorsOrigins } from "./cors.js";
import { identityReader } from "./requestIdentity.js";
import { SseStreams } from "./sseStreams.js";
import { defaultClientKey, StreamLimit } from "./streamLimit.js";
import { trpcGate } from "./trpcGate.js";
import type { LiveQueryEngine } from "../live/liveQueryEngine.js";
import { PROTOCOL_PARAM, STREAMS_HEADER } from "../protocol/liveProtocol.js";
import { createConvoyRouter, toTRPCError, type ConvoyContext } from "./trpcRouter.js";

/** Options of {@link createConvoyApp}. */
export interface ConvoyAppOptions {
  runtime: ConvoyRuntime;
  /** The function tree (`convoy/_generated/functions.ts`), served as the tRPC router. */
  functions: FunctionTree;
  /**
   * Reads the caller's identity from a request (a bearer token, a session cookie).
   * @default () => null
   */
  auth?: AuthHook;
  /**
   * Largest accepted request body.
   * @default "1mb"
   */
  bodyLimit?: string;
  /** Where the tRPC router is mounted. @default "/trpc" */
  trpcPath?: string;
  /** Dev mode shows unexpected errors' messages and stacks to clients. @default false */
  dev?: boolean;
  /** Receives unexpected errors (bugs, database outages) for logging. */
  onError?: (error: unknown) => void;
  /** The live-query engine; with it, `GET /api/subscribe` streams live results. */
  live?: LiveQueryEngine;
  /**
   * Browser origins allowed to call from another origin. Closed by default: no CORS
   * headers, and other origins' preflights and requests with cookies are refused (403).
   * @example
   * ```ts
   * createConvoyApp({ runtime, functions, cors: ["https://app.example.com"] });
   * ```
   */
  cors?: CorsOrigins;
  /** Watches one `GET /api/subscribe` stream may hold. @default 256 */
  maxWatchesPerStream?: number;
  /**
   * Live streams (`GET /api/subscribe` and tRPC `live.*` subscriptions) one client may
   * hold open at once; more are refused with 429.
   * @default 64
   */
  maxStreamsPerClient?: number;
  /**
   * Which client a request comes from, for `maxStreamsPerClient`. By default the signed-in
   * user (`user:<subject>`), else the remote address (`address:<ip>`; set express's
   * `trust proxy` behind a proxy so it is the visitor's).
   */
  clientKey?: (request: IncomingMessage, auth: UserIdentity | null) => string;
  /** Mounts more routes after Convoy's own endpoints and before its `/api` 404 (server features). */
  routes?: (app: Express) => void;
  /** Aborted at shutdown: tRPC `live.*` subscriptions end so their clients reconnect elsewhere. */
  closing?: AbortSignal;
}

/** Streams one client may hold open, by default. */
export const DEFAULT_MAX_STREAMS_PER_CLIENT = 64;

/** An express app serving Convoy, plus a way to swap in a new build of the functions. */
export interface ConvoyApp {
  app: Express;
  /** Serves a new build from now on: its functions and, when given, its schema (`convoy dev`). */
  setFunctions: (functions: FunctionTree, schema?: SchemaDefinition) => void;
  /** The open SSE streams (present when `live` was given). */
  streams: SseStreams | undefined;
  /** Takes a live-stream slot of the client `auth` and `request` name; throws TOO_MANY_REQUESTS. @internal */
  acquireStream: (request: IncomingMessage | undefined, auth: UserIdentity | null) => () => void;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Convoy's own tRPC instance. Error data carries `convoyCode` (a handler's own code,
 * even a custom one), the fields of a `ConvoyError`'s data (never replacing tRPC's own
 * `code`, `httpStatus`, `path`), and for invalid input `issues` as `{ path, message }`.
 * @internal
 */
export const convoyTRPC = initTRPC.context<ConvoyContext>().create({
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    let extra: Record<string, unknown> = {};
    let message = shape.message;
    if (isConvoyError(cause)) {
      if (isPlainObject(cause.data)) extra = cause.data;
      else if (cause.data !== undefined) extra = { convoyData: cause.data };
    } else if (cause instanceof z.ZodError) {
      const issues = toValidationIssues(cause);
      extra = { issues };
      message = `Invalid arguments${shape.data.path ? ` for ${shape.data.path}` : ""}: ${describeIssues(issues)}`;
    }
    return {
      ...shape,
      message,
      data: { ...extra, ...shape.data, stack: undefined, convoyCode: isConvoyError(cause) ? cause.code : error.code },
    };
  },
});

function parseLimitBytes(limit: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!match)
    throw new ConvoyError({ code: "BAD_REQUEST", message: `bodyLimit ${JSON.stringify(limit)}: use e.g. "1mb"` });
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? "b").toLowerCase() as "b"];
  return Math.floor(Number(match[1]) * unit);
}

/**
 * An express app with Convoy's endpoints: `POST /api/query`, `POST /api/mutation`, `POST /api/action`,
 * `GET /api/health`, and the tRPC router at `/trpc`. Mount it in your own express
 * server or listen on it directly.
 *
 * @example
 * ```ts
 * const { app } = createConvoyApp({ runtime, functions });
 * app.listen(3210);
 * ```
 */
export function createConvoyApp(options: ConvoyAppOptions): ConvoyApp {
  const { runtime } = options;
  const bodyLimit = options.bodyLimit ?? "1mb";
  const readAuth = identityReader(options.auth);
  const clientKey = options.clientKey ?? defaultClientKey;
  const streamLimit = new StreamLimit(options.maxStreamsPerClient ?? DEFAULT_MAX_STREAMS_PER_CLIENT);
  const trpcPath = options.trpcPath ?? "/trpc";
  const report = { dev: options.dev ?? false, ...(options.onError ? { onUnexpected: options.onError } : {}) };
  const app = express();
  app.disable("x-powered-by");
  app.use(corsMiddleware(options.cors));

  let trpcHandler: RequestHandler;
  const setFunctions = (functions: FunctionTree, schema?: SchemaDefinition) => {
    runtime.replace(functions, schema);
    const router: AnyTRPCRouter = createConvoyRouter(convoyTRPC, functions, {
      dev: report.dev,
      ...(options.live ? { live: options.live } : {}),
      ...(options.closing ? { closing: options.closing } : {}),
    });
    trpcHandler = createExpressMiddleware({
      router,
      maxBodySize: parseLimitBytes(bodyLimit),
      createContext: async ({ req }): Promise<ConvoyContext> => {
        try {
          return { convoy: runtime, auth: await readAuth(req) };
        } catch (error) {
          throw toTRPCError(error, report.dev);
        }
      },
      onError: ({ error }) => {
        if (error.code === "INTERNAL_SERVER_ERROR" && !isConvoyError(error.cause))
          options.onError?.(error.cause ?? error);
      },
    });
  };
  setFunctions(options.functions);

  app.get("/api/health", async (_request, response) => {
    try {
      await runtime.driver.query("SELECT 1");
      response.json({ ok: true, database: runtime.driver.kind, functions: runtime.describe() });
    } catch (error) {
      options.onError?.(error);
      response
        .status(503)
        .json({ ok: false, error: { code: "SERVICE_UNAVAILABLE", message: "The database is not reachable" } });
    }
  });

  const json = express.json({ limit: bodyLimit, strict: false, type: () => true });
  const streams = options.live
    ? new SseStreams({
        engine: options.live,
        streamLimit,
        ...(options.maxWatchesPerStream !== undefined ? { maxWatchesPerStream: options.maxWatchesPerStream } : {}),
      })
    : undefined;
  const callOptions = {
    ...report,
    ...(streams ? { committed: streams.committed.bind(streams) } : {}),
  };
  for (const kind of ["query", "mutation", "action"] as const) {
    app.post(`/api/${kind}`, json, async (request, response) => {
      let auth: UserIdentity | null;
      try {
        auth = await readAuth(request);
      } catch (error) {
        const { status, body } = errorResponse(error, report);
        response.status(status).json(body);
        return;
      }
      const { status, body } = await handleCall(
        runtime,
        { kind, body: request.body, auth, streams: request.headers[STREAMS_HEADER] },
        callOptions,
      );
      response.status(status).json(body);
    });
  }
  if (streams) {
    app.get("/api/subscribe", async (request, response) => {
      let auth: UserIdentity | null;
      let client: string;
      try {
        auth = await readAuth(request);
        client = clientKey(request, auth);
      } catch (error) {
        const { status, body } = errorResponse(error, report);
        response.status(status).json(body);
        return;
      }
      streams.open(request, response, auth, client);
    });
    app.post("/api/subscribe/:streamId", json, async (request, response) => {
      try {
        const stated = request.query[PROTOCOL_PARAM];
        // Repeated or nested (`?protocol=1&protocol=2`) is not a version: refused as such.
        const protocol = stated === undefined ? null : typeof stated === "string" ? stated : JSON.stringify(stated);
        const { status, body } = streams.update(
          request.params.streamId,
          request.body,
          await readAuth(request),
          protocol,
        );
        response.status(status).json(body);
      } catch (error) {
        const { status, body } = errorResponse(error, report);
        response.status(status).json(body);
      }
    });
  }
  app.use(trpcPath, trpcGate({ readAuth, clientKey, streamLimit, report, handler: () => trpcHandler }));
  options.routes?.(app);
  app.use("/api", (_request, response) => {
    response.status(404).json({
      error: {
        code: "NOT_FOUND",
        message:
          "No such endpoint. Use POST /api/query, POST /api/mutation, POST /api/action, GET /api/health, GET /api/subscribe or POST /api/subscribe/<streamId>",
      },
    });
  });

  app.use(bodyErrorHandler(bodyLimit, report));
  const acquireStream = (request: IncomingMessage | undefined, auth: UserIdentity | null) => {
    // Without the request, only a signed-in user can be told apart.
    const client = request
      ? clientKey(request, auth)
      : typeof auth?.subject === "string"
        ? `user:${auth.subject}`
        : null;
    return client === null ? () => {} : streamLimit.acquire(client);
  };
  return { app, setFunctions, streams, acquireStream };
}
