import type { IncomingMessage } from "node:http";
import { ConvoyError } from "../errors.js";
import type { AuthHook, UserIdentity } from "../functions/auth.js";

/** What the auth hook returned, if it is an identity (or null); a server bug otherwise. */
function checkIdentity(identity: unknown): UserIdentity | null {
  if (identity === null || identity === undefined) return null;
  if (typeof identity === "object" && typeof (identity as { subject?: unknown }).subject === "string") {
    return identity as UserIdentity;
  }
  throw new ConvoyError({
    code: "INTERNAL_SERVER_ERROR",
    message: `The auth hook returned ${typeof identity === "object" ? "an object without a string subject" : `a ${typeof identity}`}; return { subject: string, ... } or null`,
  });
}

/**
 * Reads requests' identities with the auth hook, once per request however many layers
 * ask, and checks what it returns. The promise rejects with what the hook threw.
 * @internal
 */
export function identityReader(hook: AuthHook | undefined): (request: IncomingMessage) => Promise<UserIdentity | null> {
  const identities = new WeakMap<IncomingMessage, Promise<UserIdentity | null>>();
  return (request) => {
    let identity = identities.get(request);
    if (identity === undefined) {
      identity = (async () => checkIdentity(hook ? await hook(request) : null))();
      identities.set(request, identity);
    }
    return identity;
  };
}
