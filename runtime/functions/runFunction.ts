import { ConvoyError } from "../errors.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import type { DocumentStore, MutationOptions } from "../store/documentStore.js";
import type { TransactionContext } from "../store/transactionContext.js";
import { nestsDeeperThan } from "../store/storableValue.js";
import { describeIssues, toValidationIssues } from "../store/validateDocument.js";
import type { UserIdentity } from "./auth.js";
import type { AnyConvoyFunction } from "./defineFunction.js";

/** How deep arguments may nest: deeper ones cannot be checked, stored or sent back. */
export const MAX_ARGS_DEPTH = 100;

/**
 * Refuses arguments nested deeper than {@link MAX_ARGS_DEPTH} levels before anything
 * walks them (zod, watch keys, JSON), with a BAD_REQUEST.
 * @internal
 */
export function checkArgsDepth(path: string, rawArgs: unknown): void {
  if (nestsDeeperThan(rawArgs, MAX_ARGS_DEPTH)) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Invalid arguments for ${path}: they nest deeper than ${MAX_ARGS_DEPTH} levels of arrays and objects; flatten them`,
    });
  }
}

/** What a mutation gets beside `db` and `auth`. @internal */
export interface MutationServices {
  /** The `ctx.scheduler` of one attempt, writing into its transaction. */
  scheduler(tx: TransactionContext): Scheduler & { readonly scheduled: number };
  /** Told once a mutation that scheduled functions committed. */
  onScheduled?(): void;
  /** Runs in the transaction after the handler returned (a scheduled run records its completion here). */
  beforeCommit?(tx: TransactionContext): Promise<void>;
}

/** The function's arguments parsed by its zod validator, or a BAD_REQUEST. @internal */
export function parseArgs(path: string, fn: AnyConvoyFunction, rawArgs: unknown): unknown {
  checkArgsDepth(path, rawArgs);
  const parsed = fn.args.safeParse(rawArgs === undefined ? {} : rawArgs);
  if (!parsed.success) {
    const issues = toValidationIssues(parsed.error);
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Invalid arguments for ${path}: ${describeIssues(issues)}`,
      data: { issues },
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/**
 * Validates `rawArgs` against the function's zod args and runs its handler: a query
 * on one snapshot, a mutation in one transaction. (Actions run in `ConvoyRuntime`.)
 * @internal
 */
export async function runFunction(
  store: DocumentStore<any>,
  path: string,
  fn: AnyConvoyFunction,
  rawArgs: unknown,
  auth: UserIdentity | null,
  options: MutationOptions = {},
  services?: MutationServices,
): Promise<unknown> {
  const args = parseArgs(path, fn, rawArgs);
  if (fn.kind === "query") {
    const { call: _ignored, ...queryOptions } = options;
    return store.query(async (db) => fn.handler({ db, auth }, args), queryOptions);
  }
  if (fn.kind !== "mutation") {
    throw new ConvoyError({ code: "INTERNAL_SERVER_ERROR", message: `${path} is an action: run it with runtime.call` });
  }
  let scheduler: (Scheduler & { readonly scheduled: number }) | undefined;
  const value = await store.mutation(async (db, tx) => {
    scheduler = services?.scheduler(tx);
    const result = await fn.handler({ db, auth, scheduler: scheduler ?? noScheduler }, args);
    await services?.beforeCommit?.(tx);
    return result;
  }, options);
  if (scheduler !== undefined && scheduler.scheduled > 0) services?.onScheduled?.();
  return value;
}

/** `ctx.scheduler` of a store used without a runtime (scripts, store tests). */
const noScheduler: Scheduler = {
  runAfter: () => unavailable(),
  runAt: () => unavailable(),
  cancel: () => unavailable(),
};

function unavailable(): Promise<never> {
  return Promise.reject(
    new ConvoyError({
      code: "INTERNAL_SERVER_ERROR",
      message: "ctx.scheduler needs a ConvoyRuntime: run the mutation through runtime.call or a Convoy server",
    }),
  );
}
