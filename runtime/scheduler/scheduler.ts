import type { FunctionVisibility } from "../functions/defineFunction.js";
import type { AnyFunctionReference, FunctionArgs, FunctionReference } from "../functions/functionReference.js";

/** A reference the scheduler can run: a mutation or an action, public or internal. */
export type SchedulableReference = FunctionReference<"mutation" | "action", any, any, FunctionVisibility>;

/** The id of a scheduled function: its row in `convoy._scheduled_functions`. */
export type ScheduledFunctionId = string & { readonly __tableName: "_scheduled_functions" };

/**
 * The args of a call: optional when the function requires none.
 * @internal
 */
export type OptionalArgs<TRef extends AnyFunctionReference> =
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "no required argument"
  {} extends FunctionArgs<TRef> ? [args?: FunctionArgs<TRef>] : [args: FunctionArgs<TRef>];

/**
 * `ctx.scheduler` in mutations and actions. In a mutation the job is written in the
 * mutation's transaction: it exists only if the mutation commits. In an action it is
 * written at once. Scheduled mutations run exactly once, actions at most once.
 *
 * @example
 * ```ts
 * await ctx.scheduler.runAfter(0, internal.emails.sendWelcome, { userId });
 * const id = await ctx.scheduler.runAt(new Date("2030-01-01"), internal.reports.yearly);
 * await ctx.scheduler.cancel(id);
 * ```
 */
export interface Scheduler {
  /** Runs `ref` with `args` once `delayMs` milliseconds have passed (0: as soon as possible). */
  runAfter<TRef extends SchedulableReference>(
    delayMs: number,
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): Promise<ScheduledFunctionId>;
  /** Runs `ref` with `args` at `timestamp` (a Date or ms since the epoch; a past time: as soon as possible). */
  runAt<TRef extends SchedulableReference>(
    timestamp: number | Date,
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): Promise<ScheduledFunctionId>;
  /**
   * Cancels a scheduled function that has not started (state `pending` becomes
   * `canceled`). One that started or finished is left as it is.
   */
  cancel(id: ScheduledFunctionId): Promise<void>;
}
