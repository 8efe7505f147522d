import type { AnyFunctionReference } from "../runtime/functions/functionReference.js";

/**
 * The TanStack Query key of a Convoy query: the same key `@trpc/react-query` gives the
 * generated router's procedure, so tRPC's `utils.invalidate()` and `convoy/react` share
 * cache entries. `projects.listProjects` with `{ userId }` is
 * `[["projects", "listProjects"], { input: { userId }, type: "query" }]`; `prefix` is where
 * the Convoy router is merged into a host router (`["convoy"]`).
 */
export function convoyQueryKey(
  ref: AnyFunctionReference,
  args: unknown,
  prefix: readonly string[] = [],
): [string[], { input: unknown; type: "query" }] {
  return [[...prefix, ...ref.path.split(".")], { input: args ?? {}, type: "query" }];
}
