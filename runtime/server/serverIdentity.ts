import type { IncomingMessage } from "node:http";
import { TRPCError } from "@trpc/server";
import type { CreateExpressContextOptions } from "@trpc/server/adapters/express";
import type { TRPCRequestInfo } from "@trpc/server/http";
import type { Request } from "express";
import { ConvoyError } from "../errors.js";
import type { AuthHook, UserIdentity } from "../functions/auth.js";

/** What tRPC's adapter would tell `createContext` about a request that is not a tRPC call. */
function requestInfo(request: Request): TRPCRequestInfo {
  const controller = new AbortController();
  request.res?.once("close", () => controller.abort());
  let url: URL | null;
  try {
    url = new URL(request.originalUrl ?? request.url ?? "/", `http://${request.headers.host ?? "localhost"}`);
  } catch {
    url = null;
  }
  return {
    accept: null,
    type: "unknown",
    isBatchCall: false,
    calls: [],
    connectionParams: null,
    signal: controller.signal,
    url,
  };
}

/** A TRPCError thrown by the host's context or auth, as the ConvoyError Convoy's endpoints answer with. */
function asConvoyError(error: unknown): unknown {
  if (!(error instanceof TRPCError)) return error;
  return new ConvoyError({ code: error.code, message: error.message, cause: error });
}

/**
 * An auth hook that builds the host's tRPC context for a request (with its own
 * `createContext`) and reads the identity from it, so Convoy's endpoints see the
 * caller the host's tRPC procedures see.
 * @internal
 */
export function contextIdentity<TContext>(
  context: (options: CreateExpressContextOptions) => TContext | Promise<TContext>,
  auth: ((ctx: TContext) => UserIdentity | null | Promise<UserIdentity | null>) | undefined,
): AuthHook {
  return async (incoming: IncomingMessage) => {
    const request = incoming as Request;
    try {
      const ctx = await context({ req: request, res: request.res!, info: requestInfo(request) });
      return auth ? await auth(ctx) : null;
    } catch (error) {
      throw asConvoyError(error);
    }
  };
}
