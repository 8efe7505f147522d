import { QueryClient, QueryClientProvider, useIsRestoring } from "@tanstack/react-query";
import { createContext, useContext, useLayoutEffect, useMemo, useState, type ReactNode } from "react";
import type { ConvoyClient } from "../runtime/client/convoyClient.js";
import { ConvoyError } from "../runtime/errors.js";
import { bindLiveQueries, setLiveQueryDefaults } from "./liveQueryCache.js";
import { optimisticLayers } from "./optimisticLayers.js";
import type { OptimisticUpdate, RegisteredOptimisticUpdate } from "./optimisticUpdate.js";

interface ConvoyContextValue {
  client: ConvoyClient;
  queryKeyPrefix: readonly string[];
  /** Registered optimistic updates by mutation path. */
  optimisticUpdates: ReadonlyMap<string, OptimisticUpdate<any>>;
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
  /**
   * Optimistic updates by mutation, from {@link defineOptimisticUpdate}: `useMutation(ref)`
   * uses the one registered for `ref` when given none, and the mutations the client's
   * outbox kept from an earlier page show through them until they settle (after a
   * persister has restored the cache, when there is one). Define the list once, outside
   * components.
   */
  optimisticUpdates?: readonly RegisteredOptimisticUpdate<any>[];
  children?: ReactNode;
}

/**
 * Makes a Convoy client (and a TanStack `QueryClient`) available to `useQuery` and
 * `useMutation` below it, and keeps every Convoy entry of the query cache live: an
 * entry that gains its first observer, from `convoy/react` or from tRPC's own
 * `trpc.convoy.x.y.useQuery`, is watched over the client's one stream until its last
 * observer leaves. Inside TanStack's `PersistQueryClientProvider`, it waits for the
 * restore, then shows the outbox's pending mutations over the restored results.
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
  optimisticUpdates = NO_UPDATES,
  children,
}: ConvoyProviderProps): ReactNode {
  const [ownQueryClient] = useState(() => queryClient ?? new QueryClient());
  const cacheClient = queryClient ?? ownQueryClient;
  const prefixHash = JSON.stringify(queryKeyPrefix);
  const updates = useMemo(
    () => new Map(optimisticUpdates.map(({ ref, update }) => [ref.path, update])),
    [optimisticUpdates],
  );
  // prefixHash stands for queryKeyPrefix: a new array with the same keys changes nothing.
  const value = useMemo(() => ({ client, queryKeyPrefix, optimisticUpdates: updates }), [client, prefixHash, updates]);
  const restoring = useIsRestoring();
  // Once the cache is restored (at once without a persister), before the hooks below subscribe.
  useLayoutEffect(() => {
    if (restoring) return;
    const pending = client.resumedMutations.map(({ path, args, settled, mutationId }) => ({
      update: updates.get(path),
      args,
      settled,
      mutationId,
    }));
    optimisticLayers(cacheClient).resume(client, pending, queryKeyPrefix);
  }, [restoring, cacheClient, client, updates, prefixHash]);
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
const NO_UPDATES: readonly RegisteredOptimisticUpdate<any>[] = [];

/** The client of the nearest {@link ConvoyProvider}. */
export function useConvoyClient(): ConvoyClient {
  return useConvoyContext().client;
}

/** The optimistic update registered for a mutation path in the nearest {@link ConvoyProvider}. @internal */
export function useRegisteredOptimisticUpdate(path: string): OptimisticUpdate<any> | undefined {
  return useConvoyContext().optimisticUpdates.get(path);
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
