import {
  useQueryClient,
  useMutation as useTanstackMutation,
  type UseMutationOptions,
  type UseMutationResult,
} from "@tanstack/react-query";
import type { ConvoyError } from "../runtime/errors.js";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../runtime/functions/functionReference.js";
import { newMutationId } from "../runtime/client/convoyClient.js";
import { useConvoyClient, useQueryKeyPrefix, useRegisteredOptimisticUpdate } from "./ConvoyProvider.js";
import { optimisticLayers } from "./optimisticLayers.js";
import type { OptimisticUpdate } from "./optimisticUpdate.js";

/** Options of {@link useMutation}: TanStack's, plus `optimisticUpdate`. */
export type UseConvoyMutationOptions<TRef extends FunctionReference<"mutation">, TContext = unknown> = Omit<
  UseMutationOptions<FunctionReturnType<TRef>, ConvoyError, FunctionArgs<TRef>, TContext>,
  "mutationFn"
> & {
  /**
   * Shows the expected result at once: set cached query results from the mutation's
   * args. Undone if the mutation fails; either way the touched queries then show the
   * server's result. @default the one registered for `ref` in `<ConvoyProvider optimisticUpdates>`
   */
  optimisticUpdate?: OptimisticUpdate<FunctionArgs<TRef>>;
};

/**
 * TanStack Query's `useMutation` for a Convoy mutation. Watched queries update by
 * themselves after it commits; `optimisticUpdate` shows the expected result before.
 * It runs offline too (`networkMode: "always"`): the client keeps sending it, and its
 * outbox keeps it across a reload.
 *
 * @example
 * ```tsx
 * const createProject = useMutation(api.projects.createProject, {
 *   optimisticUpdate: (cache, { userId, name }) => {
 *     const list = cache.getQuery(api.projects.listProjects, { userId });
 *     if (list) cache.setQuery(api.projects.listProjects, { userId }, [{ _id: "pending", name, userId } as never, ...list]);
 *   },
 * });
 * createProject.mutate({ userId, name: "My App" });
 * ```
 */
export function useMutation<TRef extends FunctionReference<"mutation">, TContext = unknown>(
  ref: TRef,
  options: UseConvoyMutationOptions<TRef, TContext> = {},
): UseMutationResult<FunctionReturnType<TRef>, ConvoyError, FunctionArgs<TRef>, TContext> {
  const client = useConvoyClient();
  const queryClient = useQueryClient();
  const prefix = useQueryKeyPrefix();
  const registered = useRegisteredOptimisticUpdate(ref.path);
  const { optimisticUpdate = registered, ...tanstackOptions } = options;
  return useTanstackMutation({
    // The client waits for the server itself (and its outbox keeps the call): TanStack must not hold it back offline.
    networkMode: "always",
    ...tanstackOptions,
    mutationFn: async (args) => {
      // Named, so that the transition that first shows it can drop its layer before the answer arrives.
      const mutationId = newMutationId();
      const settle = optimisticUpdate
        ? optimisticLayers(queryClient).add(optimisticUpdate, args, prefix, mutationId)
        : null;
      try {
        // Resolves once this client's watches show the mutation: its layer goes then at the latest.
        return await client.mutation(ref, args, { mutationId });
      } finally {
        settle?.();
      }
    },
  });
}
