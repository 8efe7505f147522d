import {
  TRPCError,
  type TRPCBuiltRouter,
  type TRPCMutationProcedure,
  type TRPCProcedureBuilder,
  type TRPCQueryProcedure,
  type AnyTRPCRootTypes,
  type TRPCRouterBuilder,
  type TRPCSubscriptionProcedure,
} from "@trpc/server";
import type { z } from "zod";
import { ConvoyError, isConvoyError } from "../errors.js";
import type { LiveQueryEngine } from "../live/liveQueryEngine.js";
import { watchUpdates } from "../live/watchIterable.js";
import type { UserIdentity } from "../functions/auth.js";
import { checkArgsDepth } from "../functions/runFunction.js";
import { isConvoyFunction, type AnyConvoyFunction, type ConvoyFunction } from "../functions/defineFunction.js";
import type { FunctionTree } from "../functions/functionReference.js";
import type { ConvoyRuntime } from "./convoyRuntime.js";
import { statusOf } from "./errorResponse.js";

/** The context Convoy's own tRPC instance expects; `convoy serve` provides it. */
export interface ConvoyContext {
  /** The runtime functions run on (omit when passing `runtime` to the router). */
  convoy?: ConvoyRuntime;
  /** The caller's identity, or null. */
  auth?: UserIdentity | null;
  /** The live-query engine (omit when passing `live` to the router). */
  live?: LiveQueryEngine;
}

/** A function's tRPC input: its zod input, which may be left out when no argument is required. */
type InputOf<TArgs extends z.ZodRawShape> =
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "has no required key"
  {} extends z.input<z.ZodObject<TArgs>> ? z.input<z.ZodObject<TArgs>> | void : z.input<z.ZodObject<TArgs>>;

type ProcedureOf<TFunction, TMeta> =
  TFunction extends ConvoyFunction<"query", "public", infer TArgs, infer TReturn>
    ? TRPCQueryProcedure<{ input: InputOf<TArgs>; output: Awaited<TReturn>; meta: TMeta }>
    : TFunction extends ConvoyFunction<"mutation" | "action", "public", infer TArgs, infer TReturn>
      ? TRPCMutationProcedure<{ input: InputOf<TArgs>; output: Awaited<TReturn>; meta: TMeta }>
      : never;

type LiveRecord<TTree, TMeta> = {
  [
    K in keyof TTree as TTree[K] extends AnyConvoyFunction
      ? TTree[K] extends ConvoyFunction<"query", "public", any, any>
        ? K
        : never
      : keyof LiveRecord<TTree[K], TMeta> extends never
        ? never
        : K
  ]: TTree[K] extends ConvoyFunction<"query", "public", infer TArgs, infer TReturn>
    ? TRPCSubscriptionProcedure<{
        input: InputOf<TArgs>;
        output: AsyncIterable<Awaited<TReturn>, void, any>;
        meta: TMeta;
      }>
    : LiveRecord<TTree[K], TMeta>;
};

/**
 * The router record of a function tree: public functions nested as the tree, plus
 * `live`, a subscription for every public query at the same path (`live.projects.list`).
 */
export type ConvoyRouterRecord<TTree, TMeta> = FunctionsRecord<TTree, TMeta> & { live: LiveRecord<TTree, TMeta> };

type FunctionsRecord<TTree, TMeta> = {
  [
    K in keyof TTree as TTree[K] extends AnyConvoyFunction
      ? TTree[K] extends ConvoyFunction<any, "public", any, any>
        ? K
        : never
      : K
  ]: TTree[K] extends AnyConvoyFunction ? ProcedureOf<TTree[K], TMeta> : ConvoyRouterRecord<TTree[K], TMeta>;
};

/** A tRPC instance (`initTRPC...create()`), yours or Convoy's: what a Convoy router is built on. */
export interface TRPCInstance<TRoot extends AnyTRPCRootTypes> {
  router: TRPCRouterBuilder<TRoot>;
  procedure: TRPCProcedureBuilder<TRoot["ctx"], TRoot["meta"], any, any, any, any, any, any>;
}

/** Options of {@link createConvoyRouter}. */
export interface ConvoyRouterOptions<TContext> {
  /** The runtime to call; by default the context's `convoy`. */
  runtime?: ConvoyRuntime;
  /**
   * Reads the caller's identity from the host's context; by default `ctx.auth`.
   * @example
   * ```ts
   * auth: (ctx) => (ctx.user ? { subject: ctx.user.id, name: ctx.user.name } : null)
   * ```
   */
  auth?: (ctx: TContext) => UserIdentity | null | Promise<UserIdentity | null>;
  /** Show unexpected errors' messages to clients (never in production). @default false */
  dev?: boolean;
  /** The live-query engine behind the `live.*` subscriptions; by default the context's `live`. */
  live?: LiveQueryEngine;
  /**
   * Aborted when the server shuts down: open `live.*` subscriptions then end with
   * SERVICE_UNAVAILABLE, which tRPC's `httpSubscriptionLink` answers by reconnecting.
   */
  closing?: AbortSignal;
  /**
   * Takes one of the caller's live-stream slots for a `live.*` subscription (throws
   * TOO_MANY_REQUESTS when there is none) and returns its release.
   * @internal
   */
  streamSlot?: (ctx: TContext, auth: UserIdentity | null) => () => void;
}

const TRPC_CODES = new Set([
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "PRECONDITION_FAILED",
  "PAYLOAD_TOO_LARGE",
  "TOO_MANY_REQUESTS",
  "INTERNAL_SERVER_ERROR",
  "TIMEOUT",
  "METHOD_NOT_SUPPORTED",
  "UNPROCESSABLE_CONTENT",
  "NOT_IMPLEMENTED",
  "SERVICE_UNAVAILABLE",
]);

/** Ends a subscription at shutdown with a code tRPC's clients retry on. */
function shuttingDown(): TRPCError {
  return new TRPCError({
    code: "SERVICE_UNAVAILABLE",
    message: "The server is shutting down; the subscription reconnects to another instance",
  });
}

/**
 * What a thrown error becomes over tRPC: a ConvoyError keeps its message (and its
 * custom code, in `cause`); a TRPCError passes through; anything else is an
 * INTERNAL_SERVER_ERROR whose message is shown only in dev mode.
 * @internal
 */
export function toTRPCError(error: unknown, dev = false): TRPCError {
  if (error instanceof TRPCError) return error;
  if (isConvoyError(error)) {
    const code = TRPC_CODES.has(error.code)
      ? error.code
      : statusOf(error.code) === 400
        ? "BAD_REQUEST"
        : "INTERNAL_SERVER_ERROR";
    return new TRPCError({ code: code as "BAD_REQUEST", message: error.message, cause: error });
  }
  const message = dev ? ((error as Error)?.message ?? String(error)) : "Internal server error";
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message, cause: error });
}

/**
 * Builds a tRPC router from a function tree on any tRPC instance: Convoy's own, or
 * your app's, so your context (and its user) reaches functions as `ctx.auth`. Every
 * public query becomes a tRPC query, every public mutation and action a tRPC mutation; internal
 * functions are left out.
 *
 * @example
 * ```ts
 * const t = initTRPC.context<MyContext>().create();
 * const appRouter = t.router({
 *   convoy: createConvoyRouter(t, functions, { runtime, auth: (ctx) => ctx.user && { subject: ctx.user.id } }),
 *   hello: t.procedure.query(() => "hi"),
 * });
 * ```
 */
export function createConvoyRouter<TRoot extends AnyTRPCRootTypes, TTree extends FunctionTree>(
  t: TRPCInstance<TRoot>,
  functions: TTree,
  options: ConvoyRouterOptions<TRoot["ctx"]> = {},
): TRPCBuiltRouter<TRoot, ConvoyRouterRecord<TTree, TRoot["meta"]>> {
  const runtimeOf = (ctx: TRoot["ctx"]): ConvoyRuntime => {
    const runtime = options.runtime ?? (ctx as ConvoyContext)?.convoy;
    if (runtime === undefined) {
      throw new TRPCError({
        code: "INTERNAL_SERVER_ERROR",
        message: "createConvoyRouter: pass { runtime } or put the runtime in the context as ctx.convoy",
      });
    }
    return runtime;
  };
  const authOf = async (ctx: TRoot["ctx"]): Promise<UserIdentity | null> => {
    try {
      return options.auth ? await options.auth(ctx) : ((ctx as ConvoyContext)?.auth ?? null);
    } catch (error) {
      throw toTRPCError(error, options.dev);
    }
  };

  const build = (tree: FunctionTree, prefix: string[], live: boolean): Record<string, unknown> => {
    const record: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(tree)) {
      const path = [...prefix, name];
      if (!isConvoyFunction(value)) {
        const child = build(value, path, live);
        if (Object.keys(child).length > 0) record[name] = child;
        continue;
      }
      if (value.visibility !== "public" || (live && value.kind !== "query")) continue;
      const dotted = path.join(".");
      // A left-out input is `{}`, as on the native endpoints; zod errors keep their issues.
      const procedure = t.procedure.input((input: unknown) => {
        checkArgsDepth(dotted, input);
        return value.args.parse(input ?? {});
      });
      if (live) {
        record[name] = procedure.subscription(async function* ({ ctx, input, signal }) {
          const engine = options.live ?? (ctx as ConvoyContext)?.live;
          if (engine === undefined) {
            throw new TRPCError({
              code: "NOT_IMPLEMENTED",
              message:
                "Live queries are not enabled here: pass { live } to createConvoyRouter or put the engine in ctx.live",
            });
          }
          runtimeOf(ctx);
          const auth = await authOf(ctx);
          let release: (() => void) | undefined;
          try {
            release = options.streamSlot?.(ctx, auth);
          } catch (error) {
            throw toTRPCError(error, options.dev);
          }
          try {
            const closing = options.closing;
            const until = closing && signal ? AbortSignal.any([signal, closing]) : (closing ?? signal);
            if (!closing?.aborted) {
              for await (const update of watchUpdates(engine, dotted, input, auth, until)) {
                if ("error" in update) throw toTRPCError(new ConvoyError(update.error), options.dev);
                yield update.value;
              }
            }
            if (closing?.aborted) throw shuttingDown();
          } finally {
            release?.();
          }
        });
        continue;
      }
      const resolver = async ({ ctx, input }: { ctx: TRoot["ctx"]; input: unknown }) => {
        const runtime = runtimeOf(ctx);
        const auth = await authOf(ctx);
        try {
          return await runtime.call(dotted, input, { kind: value.kind, auth });
        } catch (error) {
          throw toTRPCError(error, options.dev);
        }
      };
      record[name] = value.kind === "query" ? procedure.query(resolver) : procedure.mutation(resolver);
    }
    return record;
  };
  const record = build(functions, [], false);
  if ("live" in record) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message:
        'A top-level module or export named "live" clashes with the live.* subscriptions of the tRPC router; rename it',
    });
  }
  record.live = build(functions, [], true);
  const router: unknown = t.router(record as never);
  return router as TRPCBuiltRouter<TRoot, ConvoyRouterRecord<TTree, TRoot["meta"]>>;
}
