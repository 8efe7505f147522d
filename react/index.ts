export { ConvoyProvider, useConvoyClient, type ConvoyProviderProps } from "./ConvoyProvider.js";
export { useQuery, type UseConvoyQueryOptions } from "./useQuery.js";
export { useMutation } from "./useMutation.js";
export { convoyQueryKey } from "./queryKey.js";
