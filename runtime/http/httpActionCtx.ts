import type { UserIdentity } from "../functions/auth.js";
import type { ConvoyRuntime } from "../server/convoyRuntime.js";
import type { HttpActionCtx } from "./httpAction.js";

/**
 * The `ctx` an HTTP action gets: an action's, with the request's identity.
 * @internal
 */
export function createHttpActionCtx(runtime: ConvoyRuntime, auth: UserIdentity | null): HttpActionCtx {
  return runtime.actionContext(auth) as HttpActionCtx;
}
