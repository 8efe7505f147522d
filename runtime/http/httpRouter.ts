import { ConvoyError } from "../errors.js";
import { isHttpAction, type HttpAction } from "./httpAction.js";

/** The methods an HTTP route can answer. */
export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One route: an exact `path`, or a `pathPrefix` ending in `/` that matches everything under it. */
export type RouteSpec = { method: HttpMethod; handler: HttpAction } & (
  { path: string; pathPrefix?: never } | { pathPrefix: string; path?: never }
);

/** What a lookup found: the handler, or which methods the path does answer (for a 405). */
export type RouteMatch = { handler: HttpAction } | { handler: null; allowed: HttpMethod[] };

/** The HTTP routes of an app: the default export of `convoy/http.ts`. */
export class HttpRouter {
  readonly isConvoyHttpRouter = true;
  private readonly exact = new Map<string, Map<HttpMethod, HttpAction>>();
  private readonly prefixes = new Map<string, Map<HttpMethod, HttpAction>>();

  /**
   * Adds a route. Exact paths win over prefixes; among prefixes the longest wins.
   * @example
   * ```ts
   * http.route({ path: "/webhooks/payments", method: "POST", handler: paymentWebhook });
   * http.route({ pathPrefix: "/files/", method: "GET", handler: serveFile });
   * ```
   */
  route(spec: RouteSpec): void {
    const method = spec?.method;
    if (!(HTTP_METHODS as readonly unknown[]).includes(method)) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `http.route: method ${JSON.stringify(method)} is not one of ${HTTP_METHODS.join(", ")}`,
      });
    }
    if (!isHttpAction(spec.handler)) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `http.route(${method}): handler must be made by httpAction(async (ctx, request) => new Response(...))`,
      });
    }
    const hasPath = typeof spec.path === "string";
    const hasPrefix = typeof spec.pathPrefix === "string";
    if (hasPath === hasPrefix) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `http.route(${method}): give exactly one of path ("/webhook") or pathPrefix ("/files/")`,
      });
    }
    const key = hasPath ? spec.path : spec.pathPrefix;
    if (!key.startsWith("/")) {
      throw new ConvoyError({ code: "BAD_REQUEST", message: `http.route: ${JSON.stringify(key)} must start with "/"` });
    }
    if (hasPrefix && !key.endsWith("/")) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `http.route: pathPrefix ${JSON.stringify(key)} must end with "/" (e.g. "${key}/")`,
      });
    }
    const table = hasPath ? this.exact : this.prefixes;
    const methods = table.get(key) ?? new Map<HttpMethod, HttpAction>();
    if (methods.has(method)) {
      throw new ConvoyError({
        code: "CONFLICT",
        message: `http.route: ${method} ${key}${hasPrefix ? "*" : ""} is defined twice; keep one`,
      });
    }
    methods.set(method, spec.handler);
    table.set(key, methods);
  }

  /** The handler for a request's method and path (the path below Convoy's `/http` prefix). */
  lookup(method: string, path: string): RouteMatch | null {
    const methods = this.exact.get(path) ?? this.longestPrefix(path);
    if (methods === undefined) return null;
    const handler = methods.get(method as HttpMethod);
    return handler ? { handler } : { handler: null, allowed: [...methods.keys()] };
  }

  /** Every route as `METHOD path` (a prefix ends in `*`), for messages. */
  describe(): string[] {
    const lines: string[] = [];
    for (const [path, methods] of this.exact) for (const method of methods.keys()) lines.push(`${method} ${path}`);
    for (const [prefix, methods] of this.prefixes)
      for (const method of methods.keys()) lines.push(`${method} ${prefix}*`);
    return lines;
  }

  private longestPrefix(path: string): Map<HttpMethod, HttpAction> | undefined {
    let best: string | undefined;
    for (const prefix of this.prefixes.keys()) {
      if (path.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
    }
    return best === undefined ? undefined : this.prefixes.get(best);
  }
}

/**
 * A new, empty set of HTTP routes. Export it by default from `convoy/http.ts`; Convoy
 * serves each route under `/http` (`path: "/webhook"` answers `/http/webhook`).
 *
 * @example
 * ```ts
 * // convoy/http.ts
 * import { httpAction, httpRouter } from "convoy";
 *
 * const http = httpRouter();
 * http.route({
 *   path: "/hello",
 *   method: "GET",
 *   handler: httpAction(async () => new Response("Hello")),
 * });
 * export default http;
 * ```
 */
export function httpRouter(): HttpRouter {
  return new HttpRouter();
}

/** True when `value` is an {@link HttpRouter}, also across package copies. */
export function isHttpRouter(value: unknown): value is HttpRouter {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { isConvoyHttpRouter?: unknown }).isConvoyHttpRouter === true
  );
}
