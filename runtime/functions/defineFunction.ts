import { z } from "zod";
import { ConvoyError } from "../errors.js";
import type { DataModelFromSchema, GenericDataModel, RegisteredDataModel } from "../schema/dataModel.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import type { DatabaseReader, DatabaseWriter } from "../store/database.js";
import type { OptionalArgs, Scheduler } from "../scheduler/scheduler.js";
import type { RegisteredIdentity } from "./auth.js";
import type { FunctionReference, FunctionReturnType } from "./functionReference.js";

/**
 * What a function is: a query reads, a mutation writes in one transaction, an action
 * runs outside any transaction (and may use the network).
 */
export type FunctionKind = "query" | "mutation" | "action";
/** Public functions are callable by clients; internal ones only from the server. */
export type FunctionVisibility = "public" | "internal";

/** The `ctx` of a query handler. */
export interface QueryCtx<TDataModel extends GenericDataModel = RegisteredDataModel> {
  db: DatabaseReader<TDataModel>;
  /** The caller's identity, or null when the request carries none. */
  auth: RegisteredIdentity | null;
}

/** The `ctx` of a mutation handler. */
export interface MutationCtx<TDataModel extends GenericDataModel = RegisteredDataModel> {
  db: DatabaseWriter<TDataModel>;
  auth: RegisteredIdentity | null;
  /** Schedules mutations and actions; they exist only if this mutation commits. */
  scheduler: Scheduler;
}

/**
 * The `ctx` of an action handler: no `db`; each `run*` call is its own transaction.
 * Convoy never retries an action.
 */
export interface ActionCtx {
  /** Runs a query (public or internal) on one snapshot. */
  runQuery<TRef extends FunctionReference<"query", any, any, FunctionVisibility>>(
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): Promise<FunctionReturnType<TRef>>;
  /** Runs a mutation (public or internal) in its own transaction. */
  runMutation<TRef extends FunctionReference<"mutation", any, any, FunctionVisibility>>(
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): Promise<FunctionReturnType<TRef>>;
  /** Runs another action (public or internal). */
  runAction<TRef extends FunctionReference<"action", any, any, FunctionVisibility>>(
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): Promise<FunctionReturnType<TRef>>;
  /** Schedules mutations and actions at once (no transaction to wait for). */
  scheduler: Scheduler;
  auth: RegisteredIdentity | null;
}

/** A zod object shape for a function's arguments. */
export type ArgsShape = z.ZodRawShape;

/** A registered Convoy function: what `query()` / `mutation()` return. */
export interface ConvoyFunction<
  TKind extends FunctionKind = FunctionKind,
  TVisibility extends FunctionVisibility = FunctionVisibility,
  TArgs extends ArgsShape = ArgsShape,
  TReturn = unknown,
> {
  readonly isConvoyFunction: true;
  readonly kind: TKind;
  readonly visibility: TVisibility;
  /** Validates the arguments (unknown fields are rejected). */
  readonly args: z.ZodObject<TArgs, z.core.$strict>;
  /** @internal */
  readonly handler: (ctx: any, args: any) => TReturn;
}

/** Any Convoy function. */
export type AnyConvoyFunction = ConvoyFunction<FunctionKind, FunctionVisibility, any, any>;

/** The definition passed to `query()` / `mutation()`. */
export interface FunctionDefinition<TCtx, TArgs extends ArgsShape, TReturn> {
  /** A zod shape, e.g. `{ userId: defineRef("users") }`. Omit for no arguments. */
  args?: TArgs;
  handler: (ctx: TCtx, args: z.output<z.ZodObject<TArgs>>) => TReturn;
}

function define<TKind extends FunctionKind, TVisibility extends FunctionVisibility>(
  kind: TKind,
  visibility: TVisibility,
) {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- zod's shape of "no arguments"
  return <TArgs extends ArgsShape = {}, TReturn = unknown>(
    definition: FunctionDefinition<any, TArgs, TReturn>,
  ): ConvoyFunction<TKind, TVisibility, TArgs, TReturn> => {
    if (typeof definition?.handler !== "function") {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `${visibility === "internal" ? "internal" : ""}${kind}({ args, handler }): handler must be a function`,
      });
    }
    return {
      isConvoyFunction: true,
      kind,
      visibility,
      args: z.strictObject(definition.args ?? ({} as TArgs)),
      handler: definition.handler,
    };
  };
}

type Builder<TKind extends FunctionKind, TVisibility extends FunctionVisibility, TCtx> = <
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- zod's shape of "no arguments"
  TArgs extends ArgsShape = {},
  TReturn = unknown,
>(
  definition: FunctionDefinition<TCtx, TArgs, TReturn>,
) => ConvoyFunction<TKind, TVisibility, TArgs, TReturn>;

/** The function builders, typed for one data model. */
export interface FunctionBuilders<TDataModel extends GenericDataModel> {
  /** A public, read-only function; clients can call and watch it. */
  query: Builder<"query", "public", QueryCtx<TDataModel>>;
  /** A public function that writes, in one transaction. */
  mutation: Builder<"mutation", "public", MutationCtx<TDataModel>>;
  /** A query only the server can call. */
  internalQuery: Builder<"query", "internal", QueryCtx<TDataModel>>;
  /** A mutation only the server can call. */
  internalMutation: Builder<"mutation", "internal", MutationCtx<TDataModel>>;
  /** A public function that runs outside any transaction and may call other services. */
  action: Builder<"action", "public", ActionCtx>;
  /** An action only the server can call (the scheduler, `ctx.runAction`). */
  internalAction: Builder<"action", "internal", ActionCtx>;
}

/**
 * The builders typed for a schema; `convoy/_generated/server.ts` calls this so that
 * `ctx.db` knows your tables.
 *
 * @example
 * ```ts
 * export const { query, mutation, action, internalQuery, internalMutation, internalAction } =
 *   functionBuilders<typeof schema>();
 * ```
 */
export function functionBuilders<TSchema extends SchemaDefinition>(): FunctionBuilders<DataModelFromSchema<TSchema>> {
  return {
    query: define("query", "public"),
    mutation: define("mutation", "public"),
    internalQuery: define("query", "internal"),
    internalMutation: define("mutation", "internal"),
    action: define("action", "public"),
    internalAction: define("action", "internal"),
  };
}

/** True when `value` is a function made by the builders. */
export function isConvoyFunction(value: unknown): value is AnyConvoyFunction {
  return (
    typeof value === "object" && value !== null && (value as { isConvoyFunction?: unknown }).isConvoyFunction === true
  );
}
