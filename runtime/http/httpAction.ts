import { ConvoyError } from "../errors.js";
import type { ActionCtx } from "../functions/defineFunction.js";

/**
 * The `ctx` of an HTTP action: an action's (`runQuery`, `runMutation`, `runAction`,
 * `scheduler`, `auth`), with the request's identity. Each `run*` call is its own
 * transaction; internal functions may be called too.
 * @example
 * ```ts
 * await ctx.runMutation(internal.payments.markPaid, { invoiceId });
 * ```
 */
export type HttpActionCtx = ActionCtx;

/** What an HTTP action's handler does with a request: a standard Fetch `Response`. */
export type HttpActionHandler = (ctx: HttpActionCtx, request: Request) => Promise<Response> | Response;

/** A handler for an HTTP route, made by {@link httpAction}. */
export interface HttpAction {
  readonly isConvoyHttpAction: true;
  /** @internal */
  readonly handler: HttpActionHandler;
}

/**
 * Defines the handler of an HTTP route (in `convoy/http.ts`): it gets a standard Fetch
 * `Request`, whose body holds the exact bytes the client sent, and returns a `Response`.
 *
 * @example
 * ```ts
 * export const hello = httpAction(async (ctx, request) => {
 *   const { name } = await request.json();
 *   return Response.json({ greeting: `Hello, ${name}` });
 * });
 * ```
 */
export function httpAction(handler: HttpActionHandler): HttpAction {
  if (typeof handler !== "function") {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: "httpAction(handler): pass a function (ctx, request) => Response",
    });
  }
  return { isConvoyHttpAction: true, handler };
}

/** True when `value` was made by {@link httpAction}. */
export function isHttpAction(value: unknown): value is HttpAction {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { isConvoyHttpAction?: unknown }).isConvoyHttpAction === true
  );
}
