import { ConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import type { ConvoyRuntime } from "../server/convoyRuntime.js";
import type { HttpActionCtx } from "./httpAction.js";

function pathOf(method: string, ref: unknown): string {
  const path = (ref as { path?: unknown } | null)?.path;
  if (typeof path !== "string") {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `ctx.${method}: pass a function reference such as api.projects.listProjects (from convoy/_generated/api)`,
    });
  }
  return path;
}

/**
 * The `ctx` an HTTP action gets: `run*` call the runtime with the request's identity,
 * internal functions allowed.
 * Integration point (issue 15, actions): add `runAction` and `scheduler` here.
 * @internal
 */
export function createHttpActionCtx(runtime: ConvoyRuntime, auth: UserIdentity | null): HttpActionCtx {
  return {
    auth: auth,
    runQuery: (ref, args) =>
      runtime.call(pathOf("runQuery", ref), args, { kind: "query", auth, allowInternal: true }) as never,
    runMutation: (ref, args) =>
      runtime.call(pathOf("runMutation", ref), args, { kind: "mutation", auth, allowInternal: true }) as never,
  };
}
