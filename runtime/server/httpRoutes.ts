import type { IncomingMessage, ServerResponse } from "node:http";
import type { Request as ExpressRequest, Response as ExpressResponse } from "express";
import type { HttpRouter } from "../http/httpRouter.js";
import { HTTP_ROUTES_PREFIX, serveHttpRoute } from "../http/serveHttpRoute.js";
import type { ConvoyServerContext, ConvoyServerFeature } from "./convoyServer.js";
import { errorResponse } from "./errorResponse.js";

/** Options of {@link httpRoutes}. */
export interface HttpRoutesOptions {
  /** Largest request body a route accepts, in bytes; larger ones get a 413. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request body's bytes exactly as sent, or null for none; never parsed. */
async function readRawBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const length = Number(request.headers["content-length"] ?? 0);
  if (request.readableEnded) {
    if (length > 0 || request.headers["transfer-encoding"] !== undefined) {
      throw new BodyError(
        500,
        "INTERNAL_SERVER_ERROR",
        "The request body was already read by another middleware (e.g. express.json() mounted before convoy.handler): mount convoy.handler first so HTTP routes get the raw bytes",
      );
    }
    return null;
  }
  if (length > maxBytes) {
    throw new BodyError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than the limit of ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      throw new BodyError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than the limit of ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 0 ? null : Buffer.concat(chunks);
}

/** A Fetch `Request` of an incoming request: its URL as received, every header, the raw body. */
function toFetchRequest(request: ExpressRequest, body: Buffer | null, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!;
    if (!name.startsWith(":")) headers.append(name, request.rawHeaders[i + 1]!);
  }
  const url = `${request.protocol}://${request.get("host") ?? "localhost"}${request.originalUrl}`;
  const hasBody = body !== null && request.method !== "GET" && request.method !== "HEAD";
  return new Request(url, {
    method: request.method,
    headers,
    signal,
    ...(hasBody ? { body: new Uint8Array(body) } : {}),
  });
}

/** Writes a Fetch `Response` to a Node response, streaming its body. */
async function sendFetchResponse(response: Response, out: ServerResponse): Promise<void> {
  out.statusCode = response.status;
  if (response.statusText) out.statusMessage = response.statusText;
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") out.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) out.setHeader("set-cookie", cookies);
  if (response.body === null) {
    out.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (out.destroyed) break;
    if (!out.write(chunk)) await new Promise((resolve) => out.once("drain", resolve));
  }
  out.end();
}

/**
 * Serves the routes of `convoy/http.ts` under `/http` as a server feature: the handler
 * gets a Fetch `Request` with the body's exact bytes (no body parser touches it), and
 * its `Response` is streamed back. `router` may be a function, read on each request
 * (`convoy dev` swaps builds).
 *
 * @example
 * ```ts
 * import http from "./convoy/http";
 * const convoy = await createConvoyServer({ schema, functions, features: [httpRoutes(http)] });
 * // POST http://127.0.0.1:3210/http/webhooks/payments
 * ```
 */
export function httpRoutes(
  router: HttpRouter | undefined | (() => HttpRouter | undefined),
  options: HttpRoutesOptions = {},
): ConvoyServerFeature {
  const currentRouter = typeof router === "function" ? router : () => router;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  return {
    name: "http routes",
    routes(app, server: ConvoyServerContext) {
      app.use(HTTP_ROUTES_PREFIX, async (request: ExpressRequest, response: ExpressResponse) => {
        const aborted = new AbortController();
        response.once("close", () => {
          if (!response.writableFinished) aborted.abort();
        });
        try {
          const auth = await server.identity(request);
          const body = await readRawBody(request, maxBodyBytes);
          const routePath = request.path;
          const answer = await serveHttpRoute(
            currentRouter(),
            toFetchRequest(request, body, aborted.signal),
            routePath,
            {
              runtime: server.runtime,
              auth,
              dev: server.dev,
              onError: (error) => server.onError(error),
            },
          );
          await sendFetchResponse(answer, response);
        } catch (error) {
          if (response.headersSent) {
            server.onError(error);
            response.destroy();
            return;
          }
          if (error instanceof BodyError) {
            if (error.status === 500) server.onError(error);
            response.status(error.status).json({ error: { code: error.code, message: error.message } });
            return;
          }
          const { status, body } = errorResponse(error, {
            dev: server.dev,
            onUnexpected: (unexpected) => server.onError(unexpected),
          });
          response.status(status).json(body);
        }
      });
    },
  };
}
