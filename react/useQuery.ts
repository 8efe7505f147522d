import {
  useQuery as useTanstackQuery,
  useQueryClient,
  type QueryClient,
  type UseQueryOptions,
  type UseQueryResult,
} from "@tanstack/react-query";
import type { ConvoyError } from "../runtime/errors.js";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../runtime/functions/functionReference.js";
import { useConvoyClient, useQueryKeyPrefix } from "./ConvoyProvider.js";
import { SUBSCRIBE_OPTION } from "./liveQueryCache.js";
import { convoyQueryKey } from "./queryKey.js";

type QueryKey = ReturnType<typeof convoyQueryKey>;

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
 * TanStack Query's `useQuery` for a Convoy query, kept live by the `ConvoyProvider`
 * (on by default): the first result and every change arrive over the client's one
 * stream, with no HTTP refetch while live. Changing `args` moves the watch; the last
 * hook on an entry unmounting releases it. Shares its entry with tRPC's hook for the
 * same procedure.
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
  // Not live: the QueryClient's own defaults, not the live entries' (never stale).
  const plain = subscribe ? {} : plainQueryDefaults(queryClient);
  const queryOptions: UseQueryOptions<FunctionReturnType<TRef>, ConvoyError, FunctionReturnType<TRef>, QueryKey> = {
    ...plain,
    ...tanstackOptions,
    queryKey: convoyQueryKey(ref, args, prefix),
    queryFn: () => client.query(ref, args),
  };
  return useTanstackQuery(Object.assign(queryOptions, { [SUBSCRIBE_OPTION]: subscribe }));
}

/** TanStack's refetch behaviour for a query that is not kept live. @internal */
export function plainQueryDefaults(queryClient: QueryClient): {
  staleTime: NonNullable<UseQueryOptions["staleTime"]>;
  refetchOnWindowFocus: NonNullable<UseQueryOptions["refetchOnWindowFocus"]>;
  refetchOnReconnect: NonNullable<UseQueryOptions["refetchOnReconnect"]>;
} {
  const defaults = queryClient.getDefaultOptions().queries;
  return {
    staleTime: defaults?.staleTime ?? 0,
    refetchOnWindowFocus: defaults?.refetchOnWindowFocus ?? true,
    refetchOnReconnect: defaults?.refetchOnReconnect ?? true,
  };
}
