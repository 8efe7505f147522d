import type { QueryClient } from "@tanstack/react-query";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../runtime/functions/functionReference.js";
import { convoyQueryKey } from "./queryKey.js";

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

/**
 * Applies an optimistic update. The returned `settle` undoes it after a failure (each
 * entry that still shows the optimistic value gets its old value back) and, either way,
 * refetches the entries it touched so they show the server's truth.
 * @internal
 */
export function applyOptimisticUpdate<TArgs>(
  queryClient: QueryClient,
  update: OptimisticUpdate<TArgs>,
  args: TArgs,
  prefix: readonly string[],
): (failed: boolean) => void {
  const touched = new Map<string, { key: unknown[]; before: unknown; after: unknown }>();
  const cache: OptimisticQueryCache = {
    getQuery: (ref, queryArgs) => queryClient.getQueryData(convoyQueryKey(ref, queryArgs, prefix)),
    setQuery: (ref, queryArgs, value) => {
      const key = convoyQueryKey(ref, queryArgs, prefix);
      const hash = JSON.stringify(key);
      const before = touched.has(hash) ? touched.get(hash)!.before : queryClient.getQueryData(key);
      void queryClient.cancelQueries({ queryKey: key, exact: true });
      queryClient.setQueryData(key, value);
      touched.set(hash, { key, before, after: value });
    },
  };
  update(cache, args);
  return (failed) => {
    for (const { key, before, after } of touched.values()) {
      // A newer result pushed by the server meanwhile stays.
      if (failed && queryClient.getQueryData(key) === after) queryClient.setQueryData(key, before);
      void queryClient.invalidateQueries({ queryKey: key, exact: true });
    }
  };
}
