import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../runtime/functions/functionReference.js";

/** The query cache as an optimistic update sees it: typed by query references. */
export interface OptimisticQueryCache {
  /** The cached result of `ref` with `args`, or undefined when it is not loaded. */
  getQuery<TRef extends FunctionReference<"query">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
  ): FunctionReturnType<TRef> | undefined;
  /** Shows `value` as the result of `ref` with `args` until the mutation settles. */
  setQuery<TRef extends FunctionReference<"query">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
    value: FunctionReturnType<TRef>,
  ): void;
}

/** Changes the cache before a mutation runs: what the UI should show if it succeeds. */
export type OptimisticUpdate<TArgs> = (cache: OptimisticQueryCache, args: TArgs) => void;

/** An optimistic update registered for a mutation, from {@link defineOptimisticUpdate}. */
export interface RegisteredOptimisticUpdate<
  TRef extends FunctionReference<"mutation"> = FunctionReference<"mutation">,
> {
  ref: TRef;
  update: OptimisticUpdate<FunctionArgs<TRef>>;
}

/**
 * Registers a mutation's optimistic update, for `<ConvoyProvider optimisticUpdates>`:
 * every `useMutation(ref)` below uses it, and a reloaded page shows the mutations its
 * client's outbox still holds through it, until they settle.
 *
 * @example
 * ```ts
 * export const optimisticUpdates = [
 *   defineOptimisticUpdate(api.projects.createProject, (cache, { userId, name }) => {
 *     const list = cache.getQuery(api.projects.listProjects, { userId });
 *     if (list) cache.setQuery(api.projects.listProjects, { userId }, [...list, { _id: "pending", name, userId } as never]);
 *   }),
 * ];
 * ```
 */
export function defineOptimisticUpdate<TRef extends FunctionReference<"mutation">>(
  ref: TRef,
  update: OptimisticUpdate<FunctionArgs<TRef>>,
): RegisteredOptimisticUpdate<TRef> {
  return { ref, update };
}
