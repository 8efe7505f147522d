import { ConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import type { ConvoyRuntime } from "../server/convoyRuntime.js";
import { errorResponse } from "../server/errorResponse.js";
import { createHttpActionCtx } from "./httpActionCtx.js";
import type { HttpRouter } from "./httpRouter.js";

/** Where Convoy serves the routes of `convoy/http.ts`: `path: "/webhook"` answers `/http/webhook`. */
export const HTTP_ROUTES_PREFIX = "/http";

/** What {@link serveHttpRoute} runs a route with. */
export interface HttpRouteOptions {
  runtime: ConvoyRuntime;
  /** The caller, as the server's `auth` says. */
  auth: UserIdentity | null;
  /** Shows unexpected errors' messages and stacks, and lists the routes on a 404. */
  dev: boolean;
  /** Receives a handler's unexpected errors, for logging. */
  onError: (error: unknown) => void;
}

function jsonError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}

/**
 * Answers one request with the app's HTTP routes; framework-free (the express adapter
 * and `convoyTest`'s `t.fetch` both call it). `routePath` is the path below the `/http`
 * prefix. No route: 404; a route without this method: 405 with `Allow`; a handler that
 * throws: its `ConvoyError`'s status, else a 500 whose details only dev mode shows.
 * @internal
 */
export async function serveHttpRoute(
  router: HttpRouter | undefined,
  request: Request,
  routePath: string,
  options: HttpRouteOptions,
): Promise<Response> {
  const shown = `${request.method} ${HTTP_ROUTES_PREFIX}${routePath}`;
  if (router === undefined) {
    return jsonError(404, "NOT_FOUND", `No HTTP route for ${shown}: this app has no convoy/http.ts (see docs/http.md)`);
  }
  const match = router.lookup(request.method, routePath);
  if (match === null) {
    const listed = options.dev ? ` Routes: ${router.describe().join(", ") || "none"}` : "";
    return jsonError(404, "NOT_FOUND", `No HTTP route for ${shown}; routes are defined in convoy/http.ts.${listed}`);
  }
  if (match.handler === null) {
    return jsonError(
      405,
      "METHOD_NOT_SUPPORTED",
      `${routePath} does not answer ${request.method}; it answers ${match.allowed.join(", ")}`,
      { allow: match.allowed.join(", ") },
    );
  }
  const report = { dev: options.dev, onUnexpected: options.onError };
  try {
    const response: unknown = await match.handler.handler(createHttpActionCtx(options.runtime, options.auth), request);
    if (!(response instanceof Response)) {
      throw new ConvoyError({
        code: "INTERNAL_SERVER_ERROR",
        message: `The httpAction for ${shown} returned ${response === null ? "null" : typeof response}; return a Response, e.g. new Response("ok")`,
      });
    }
    return response;
  } catch (error) {
    const { status, body } = errorResponse(error, report);
    return Response.json(body, { status });
  }
}
