import type { IncomingMessage } from "node:http";
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import type { RequestHandler } from "express";
import type { UserIdentity } from "../functions/auth.js";
import { errorResponse } from "./errorResponse.js";
import type { StreamLimit } from "./streamLimit.js";

/** A tRPC-shaped error body, for refusals made before the tRPC handler runs. */
function trpcErrorBody(status: number, error: { code: string; message: string }) {
  const code = (Object.hasOwn(TRPC_ERROR_CODES_BY_KEY, error.code) ? error.code : "BAD_REQUEST") as TRPC_ERROR_CODE_KEY;
  return {
    error: {
      message: error.message,
      code: TRPC_ERROR_CODES_BY_KEY[code],
      data: { code, httpStatus: status, convoyCode: error.code },
    },
  };
}

/** Options of {@link trpcGate}. */
export interface TrpcGateOptions {
  readAuth: (request: IncomingMessage) => Promise<UserIdentity | null>;
  clientKey: (request: IncomingMessage, auth: UserIdentity | null) => string;
  streamLimit: StreamLimit;
  report: { dev?: boolean; onUnexpected?: (error: unknown) => void };
  /** The tRPC handler the gate lets requests through to. */
  handler: () => RequestHandler;
}

/**
 * What runs before the tRPC handler: a procedure path that does not decode is a 400
 * (tRPC would answer 500), and a `live.*` subscription takes one of its client's stream
 * slots until the response closes (429 when there is none).
 * @internal
 */
export function trpcGate(options: TrpcGateOptions): RequestHandler {
  return async (request, response, next) => {
    const paths = request.path.slice(request.path.lastIndexOf("/") + 1);
    let procedures: string[];
    try {
      procedures = decodeURIComponent(paths).split(",");
    } catch {
      const message = "The procedure path is not valid percent-encoding (UTF-8)";
      response.status(400).json(trpcErrorBody(400, { code: "BAD_REQUEST", message }));
      return;
    }
    if (request.method === "GET" && procedures.some((procedure) => procedure.startsWith("live."))) {
      let release: () => void;
      try {
        release = options.streamLimit.acquire(options.clientKey(request, await options.readAuth(request)));
      } catch (error) {
        const { status, body } = errorResponse(error, options.report);
        response.status(status).json(trpcErrorBody(status, body.error));
        return;
      }
      response.once("close", release);
    }
    options.handler()(request, response, next);
  };
}
