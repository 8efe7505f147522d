import {
  useMutation as useTanstackMutation,
  type UseMutationOptions,
  type UseMutationResult,
} from "@tanstack/react-query";
import type { ConvoyError } from "../runtime/errors.js";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../runtime/functions/functionReference.js";
import { useConvoyClient } from "./ConvoyProvider.js";

/**
 * TanStack Query's `useMutation` for a Convoy mutation. Watched queries update by
 * themselves after it commits; use `onMutate` with the query cache for optimistic updates.
 *
 * @example
 * ```tsx
 * const createProject = useMutation(api.projects.createProject);
 * createProject.mutate({ userId, name: "My App" });
 * ```
 */
export function useMutation<TRef extends FunctionReference<"mutation">, TContext = unknown>(
  ref: TRef,
  options: Omit<
    UseMutationOptions<FunctionReturnType<TRef>, ConvoyError, FunctionArgs<TRef>, TContext>,
    "mutationFn"
  > = {},
): UseMutationResult<FunctionReturnType<TRef>, ConvoyError, FunctionArgs<TRef>, TContext> {
  const client = useConvoyClient();
  return useTanstackMutation({ ...options, mutationFn: (args) => client.mutation(ref, args) });
}
