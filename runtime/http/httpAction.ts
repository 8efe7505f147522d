import { ConvoyError } from "../errors.js";
import type { RegisteredIdentity } from "../functions/auth.js";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../functions/functionReference.js";
import type { FunctionVisibility } from "../functions/defineFunction.js";

/** A reference to a query or mutation, public or internal, as `ctx.run*` take it. */
type CallableReference<TKind extends "query" | "mutation"> = FunctionReference<TKind, any, any, FunctionVisibility>;

/**
 * The `ctx` of an HTTP action. Each `run*` call is its own transaction and runs with
 * the request's identity; internal functions may be called too.
 *
 * Integration point (issue 15, actions): `runAction` and `scheduler` join this
 * interface once `action()` exists; {@link createHttpActionCtx} is the one place that builds it.
 */
export interface HttpActionCtx {
  /** The caller's identity (the server's `auth` hook), or null when the request carries none. */
  auth: RegisteredIdentity | null;
  /**
   * Runs a query on one snapshot.
   * @example
   * ```ts
   * const user = await ctx.runQuery(api.users.getUser, { userId });
   * ```
   */
  runQuery<TRef extends CallableReference<"query">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
  ): Promise<FunctionReturnType<TRef>>;
  /**
   * Runs a mutation in its own transaction.
   * @example
   * ```ts
   * await ctx.runMutation(internal.payments.markPaid, { invoiceId });
   * ```
   */
  runMutation<TRef extends CallableReference<"mutation">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
  ): Promise<FunctionReturnType<TRef>>;
}

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
