import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createContext, useContext, useMemo, useState, type ReactNode } from "react";
import type { ConvoyClient } from "../runtime/client/convoyClient.js";
import { ConvoyError } from "../runtime/errors.js";

interface ConvoyContextValue {
  client: ConvoyClient;
  queryKeyPrefix: readonly string[];
}

const ConvoyContext = createContext<ConvoyContextValue | null>(null);

/** Props of {@link ConvoyProvider}. */
export interface ConvoyProviderProps {
  client: ConvoyClient;
  /** An existing TanStack `QueryClient` to share; by default the provider makes one. */
  queryClient?: QueryClient;
  /**
   * Where the Convoy router sits in your tRPC router, when you merged it under a key
   * (`convoy: createConvoyRouter(t, functions)` is `["convoy"]`): query keys then match
   * `trpc.convoy.*` hooks of `@trpc/react-query`. @default []
   */
  queryKeyPrefix?: readonly string[];
  children?: ReactNode;
}

/**
 * Makes a Convoy client (and a TanStack `QueryClient`) available to `useQuery` and
 * `useMutation` below it.
 *
 * @example
 * ```tsx
 * <ConvoyProvider client={createConvoyClient()}><App /></ConvoyProvider>
 * ```
 */
export function ConvoyProvider({
  client,
  queryClient,
  queryKeyPrefix = NO_PREFIX,
  children,
}: ConvoyProviderProps): ReactNode {
  const [ownQueryClient] = useState(() => queryClient ?? new QueryClient());
  const prefixHash = JSON.stringify(queryKeyPrefix);
  // prefixHash stands for queryKeyPrefix: a new array with the same keys changes nothing.
  const value = useMemo(() => ({ client, queryKeyPrefix }), [client, prefixHash]);
  return (
    <ConvoyContext.Provider value={value}>
      <QueryClientProvider client={queryClient ?? ownQueryClient}>{children}</QueryClientProvider>
    </ConvoyContext.Provider>
  );
}

const NO_PREFIX: readonly string[] = [];

/** The client of the nearest {@link ConvoyProvider}. */
export function useConvoyClient(): ConvoyClient {
  return useConvoyContext().client;
}

/** The query-key prefix of the nearest {@link ConvoyProvider}. @internal */
export function useQueryKeyPrefix(): readonly string[] {
  return useConvoyContext().queryKeyPrefix;
}

function useConvoyContext(): ConvoyContextValue {
  const context = useContext(ConvoyContext);
  if (context === null) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: "No Convoy client here: wrap your app in <ConvoyProvider client={createConvoyClient()}>",
    });
  }
  return context;
}
