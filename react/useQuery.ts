import {
  useQuery as useTanstackQuery,
  useQueryClient,
  type UseQueryOptions,
  type UseQueryResult,
} from "@tanstack/react-query";
import { useEffect } from "react";
import type { ConvoyError } from "../runtime/errors.js";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../runtime/functions/functionReference.js";
import { useConvoyClient, useQueryKeyPrefix } from "./ConvoyProvider.js";
import { convoyQueryKey } from "./queryKey.js";

/** Options of {@link useQuery}: TanStack's, plus `subscribe`. */
export type UseConvoyQueryOptions<TData> = Omit<
  UseQueryOptions<TData, ConvoyError, TData, ReturnType<typeof convoyQueryKey>>,
  "queryKey" | "queryFn"
> & {
  /**
   * Keep the result live: the server pushes every change into the query cache.
   * @default true
   */
  subscribe?: boolean;
};

/**
 * TanStack Query's `useQuery` for a Convoy query, kept live by a subscription (on by
 * default). Changing `args` moves the subscription; unmounting releases it.
 *
 * @example
 * ```tsx
 * const { data, isLoading, error } = useQuery(api.projects.listProjects, { userId });
 * ```
 */
export function useQuery<TRef extends FunctionReference<"query">>(
  ref: TRef,
  args: FunctionArgs<TRef>,
  options: UseConvoyQueryOptions<FunctionReturnType<TRef>> = {},
): UseQueryResult<FunctionReturnType<TRef>, ConvoyError> {
  const client = useConvoyClient();
  const queryClient = useQueryClient();
  const prefix = useQueryKeyPrefix();
  const { subscribe = true, ...tanstackOptions } = options;
  const queryKey = convoyQueryKey(ref, args, prefix);
  const enabled = tanstackOptions.enabled !== false;
  const keyHash = JSON.stringify(queryKey);

  useEffect(() => {
    if (!enabled || !subscribe) return;
    return client.watch(
      ref,
      args,
      (value) => queryClient.setQueryData(queryKey, value),
      // A failing live query shows its error through TanStack's error state.
      () => void queryClient.invalidateQueries({ queryKey, exact: true }),
    );
    // keyHash stands for ref and args.
  }, [client, queryClient, keyHash, enabled, subscribe]);

  return useTanstackQuery({
    ...tanstackOptions,
    queryKey,
    queryFn: () => client.query(ref, args),
  });
}
