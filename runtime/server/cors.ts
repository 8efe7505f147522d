import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";

/**
 * The browser origins allowed to call a Convoy server from another origin: a list of
 * exact origins (`"https://app.example.com"`), or a function that decides.
 */
export type CorsOrigins = readonly string[] | ((origin: string) => boolean);

/** True when the request comes from a page of the server's own origin. */
function isSameOrigin(request: IncomingMessage, origin: string): boolean {
  if (request.headers["sec-fetch-site"] === "same-origin") return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function allows(origins: CorsOrigins | undefined, origin: string): boolean {
  if (origins === undefined) return false;
  try {
    return typeof origins === "function" ? origins(origin) === true : origins.includes(origin);
  } catch {
    return false;
  }
}

/**
 * CORS for Convoy's endpoints, closed unless configured. A listed origin gets
 * `Access-Control-Allow-Origin` (with credentials, so cookies work) and answered
 * preflights. Any other cross-origin page gets no CORS headers, a 403 for its
 * preflights, and a 403 for requests that carry cookies: a hostile page cannot run
 * mutations (or hold streams) as its visitor, even with a text/plain POST, which
 * needs no preflight. Without cookies such a call is anonymous, as from curl.
 * @internal
 */
export function corsMiddleware(origins: CorsOrigins | undefined): RequestHandler {
  return (request, response, next) => {
    const origin = request.headers.origin;
    if (typeof origin !== "string") return next();
    response.vary("Origin");
    const preflight = request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    if (!allows(origins, origin)) {
      if (isSameOrigin(request, origin) && !preflight) return next();
      if (!preflight && request.headers.cookie === undefined) return next();
      response.status(403).json({
        error: {
          code: "FORBIDDEN",
          message: `Origin ${origin.slice(0, 200)} may not call this server. Allow it with createConvoyApp({ cors: ["${origin.slice(0, 200)}"] }) or convoy serve --cors-origin ${origin.slice(0, 200)}`,
        },
      });
      return;
    }
    response.setHeader("Access-Control-Allow-Origin", origin);
    response.setHeader("Access-Control-Allow-Credentials", "true");
    if (!preflight) return next();
    response.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    const requested = request.headers["access-control-request-headers"];
    if (typeof requested === "string" && requested !== "")
      response.setHeader("Access-Control-Allow-Headers", requested);
    response.setHeader("Access-Control-Max-Age", "600");
    response.status(204).end();
  };
}
