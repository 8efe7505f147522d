import {
  useMutation as useTanstackMutation,
  type UseMutationOptions,
  type UseMutationResult,
} from "@tanstack/react-query";
import type { ConvoyError } from "../runtime/errors.js";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../runtime/functions/functionReference.js";
import { useConvoyClient } from "./ConvoyProvider.js";

/** Options of {@link useAction}: TanStack's mutation options. */
export type UseConvoyActionOptions<TRef extends FunctionReference<"action">, TContext = unknown> = Omit<
  UseMutationOptions<FunctionReturnType<TRef>, ConvoyError, FunctionArgs<TRef>, TContext>,
  "mutationFn"
>;

/**
 * TanStack Query's `useMutation` for a Convoy action (sent once, never again: see
 * `client.action`).
 *
 * @example
 * ```tsx
 * const checkout = useAction(api.payments.createCheckout);
 * checkout.mutate({ planId }, { onSuccess: ({ url }) => location.assign(url) });
 * ```
 */
export function useAction<TRef extends FunctionReference<"action">, TContext = unknown>(
  ref: TRef,
  options: UseConvoyActionOptions<TRef, TContext> = {},
): UseMutationResult<FunctionReturnType<TRef>, ConvoyError, FunctionArgs<TRef>, TContext> {
  const client = useConvoyClient();
  return useTanstackMutation({ ...options, mutationFn: (args) => client.action(ref, args) });
}
