import { ConvoyError } from "../errors.js";
import type { DocumentStore, MutationOptions } from "../store/documentStore.js";
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

/**
 * Validates `rawArgs` against the function's zod args and runs its handler: a query
 * on one snapshot, a mutation in one transaction.
 * @internal
 */
export async function runFunction(
  store: DocumentStore<any>,
  path: string,
  fn: AnyConvoyFunction,
  rawArgs: unknown,
  auth: UserIdentity | null,
  options: MutationOptions = {},
): Promise<unknown> {
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
  const args = parsed.data;
  if (fn.kind === "query") {
    const { call: _ignored, ...queryOptions } = options;
    return store.query(async (db) => fn.handler({ db, auth }, args), queryOptions);
  }
  return store.mutation(async (db) => fn.handler({ db, auth }, args), options);
}
