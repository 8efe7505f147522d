export { ConvoyProvider, useConvoyClient, type ConvoyProviderProps } from "./ConvoyProvider.js";
export { useQuery, type UseConvoyQueryOptions } from "./useQuery.js";
export { useMutation, type UseConvoyMutationOptions } from "./useMutation.js";
export { useAction, type UseConvoyActionOptions } from "./useAction.js";
export {
  defineOptimisticUpdate,
  type OptimisticQueryCache,
  type OptimisticUpdate,
  type RegisteredOptimisticUpdate,
} from "./optimisticUpdate.js";
export {
  usePaginatedQuery,
  type PaginatedQueryArgs,
  type PaginatedQueryItem,
  type PaginatedQueryReference,
  type PaginationStatus,
  type UsePaginatedQueryOptions,
  type UsePaginatedQueryResult,
} from "./usePaginatedQuery.js";
export { convoyQueryKey } from "./queryKey.js";
