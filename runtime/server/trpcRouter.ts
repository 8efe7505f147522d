import {
  TRPCError,
  type TRPCBuiltRouter,
  type TRPCMutationProcedure,
  type TRPCProcedureBuilder,
  type TRPCQueryProcedure,
  type AnyTRPCRootTypes,
  type TRPCRouterBuilder,
} from "@trpc/server";
import type { z } from "zod";
import { isConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
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
}

type ProcedureOf<TFunction, TMeta> =
  TFunction extends ConvoyFunction<"query", "public", infer TArgs, infer TReturn>
    ? TRPCQueryProcedure<{ input: z.input<z.ZodObject<TArgs>>; output: Awaited<TReturn>; meta: TMeta }>
    : TFunction extends ConvoyFunction<"mutation", "public", infer TArgs, infer TReturn>
      ? TRPCMutationProcedure<{ input: z.input<z.ZodObject<TArgs>>; output: Awaited<TReturn>; meta: TMeta }>
      : never;

/** The router record of a function tree: public functions only, nested as the tree. */
export type ConvoyRouterRecord<TTree, TMeta> = {
  [
    K in keyof TTree as TTree[K] extends AnyConvoyFunction
      ? TTree[K] extends ConvoyFunction<any, "public", any, any>
        ? K
        : never
      : K
  ]: TTree[K] extends AnyConvoyFunction ? ProcedureOf<TTree[K], TMeta> : ConvoyRouterRecord<TTree[K], TMeta>;
};

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
 * public query becomes a tRPC query, every public mutation a tRPC mutation; internal
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
  t: {
    router: TRPCRouterBuilder<TRoot>;
    procedure: TRPCProcedureBuilder<TRoot["ctx"], TRoot["meta"], any, any, any, any, any, any>;
  },
  functions: TTree,
  options: ConvoyRouterOptions<TRoot["ctx"]> = {},
): TRPCBuiltRouter<TRoot, ConvoyRouterRecord<TTree, TRoot["meta"]>> {
  const build = (tree: FunctionTree, prefix: string[]): Record<string, unknown> => {
    const record: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(tree)) {
      const path = [...prefix, name];
      if (!isConvoyFunction(value)) {
        record[name] = build(value, path);
        continue;
      }
      if (value.visibility !== "public") continue;
      const dotted = path.join(".");
      const resolver = async ({ ctx, input }: { ctx: TRoot["ctx"]; input: unknown }) => {
        const context = ctx as ConvoyContext;
        const runtime = options.runtime ?? context?.convoy;
        if (runtime === undefined) {
          throw new TRPCError({
            code: "INTERNAL_SERVER_ERROR",
            message: "createConvoyRouter: pass { runtime } or put the runtime in the context as ctx.convoy",
          });
        }
        try {
          const auth = options.auth ? await options.auth(ctx) : (context?.auth ?? null);
          return await runtime.call(dotted, input, { kind: value.kind, auth });
        } catch (error) {
          throw toTRPCError(error, options.dev);
        }
      };
      const procedure = t.procedure.input(value.args);
      record[name] = value.kind === "query" ? procedure.query(resolver) : procedure.mutation(resolver);
    }
    return record;
  };
  const router: unknown = t.router(build(functions, []) as never);
  return router as TRPCBuiltRouter<TRoot, ConvoyRouterRecord<TTree, TRoot["meta"]>>;
}
