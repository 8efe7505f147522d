import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createContext, useContext, useState, type ReactNode } from "react";
import type { ConvoyClient } from "../runtime/client/convoyClient.js";
import { ConvoyError } from "../runtime/errors.js";

const ConvoyContext = createContext<ConvoyClient | null>(null);

/** Props of {@link ConvoyProvider}. */
export interface ConvoyProviderProps {
  client: ConvoyClient;
  /** An existing TanStack `QueryClient` to share; by default the provider makes one. */
  queryClient?: QueryClient;
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
export function ConvoyProvider({ client, queryClient, children }: ConvoyProviderProps): ReactNode {
  const [ownQueryClient] = useState(() => queryClient ?? new QueryClient());
  return (
    <ConvoyContext.Provider value={client}>
      <QueryClientProvider client={queryClient ?? ownQueryClient}>{children}</QueryClientProvider>
    </ConvoyContext.Provider>
  );
}

/** The client of the nearest {@link ConvoyProvider}. */
export function useConvoyClient(): ConvoyClient {
  const client = useContext(ConvoyContext);
  if (client === null) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: "No Convoy client here: wrap your app in <ConvoyProvider client={createConvoyClient()}>",
    });
  }
  return client;
}
