import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createContext, useContext, useLayoutEffect, useMemo, useState, type ReactNode } from "react";
import type { ConvoyClient } from "../runtime/client/convoyClient.js";
import { ConvoyError } from "../runtime/errors.js";
import { bindLiveQueries, setLiveQueryDefaults } from "./liveQueryCache.js";

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
 * `useMutation` below it, and keeps every Convoy entry of the query cache live: an
 * entry that gains its first observer, from `convoy/react` or from tRPC's own
 * `trpc.convoy.x.y.useQuery`, is watched over the client's one stream until its last
 * observer leaves.
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
  const cacheClient = queryClient ?? ownQueryClient;
  const prefixHash = JSON.stringify(queryKeyPrefix);
  // prefixHash stands for queryKeyPrefix: a new array with the same keys changes nothing.
  const value = useMemo(() => ({ client, queryKeyPrefix }), [client, prefixHash]);
  // During render, so the hooks below see the live defaults from their first render.
  useMemo(() => setLiveQueryDefaults(cacheClient, queryKeyPrefix), [cacheClient, prefixHash]);
  // A layout effect runs before the hooks below subscribe (their passive effects): no observer is missed.
  useLayoutEffect(() => bindLiveQueries(cacheClient, client, queryKeyPrefix), [cacheClient, client, prefixHash]);
  return (
    <ConvoyContext.Provider value={value}>
      <QueryClientProvider client={cacheClient}>{children}</QueryClientProvider>
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
