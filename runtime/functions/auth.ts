import type { IncomingMessage } from "node:http";
import type { Register } from "../schema/dataModel.js";

/**
 * Who is calling, as the server's auth hook (or the host tRPC app's context) says.
 * Register your own shape with `interface Register { auth: MyIdentity }`.
 */
export interface UserIdentity {
  /** A stable id of the user, e.g. the token's `sub`. */
  subject: string;
  [claim: string]: unknown;
}

/** The identity type functions see as `ctx.auth` (see {@link UserIdentity}). */
export type RegisteredIdentity = Register extends { auth: infer TIdentity } ? TIdentity : UserIdentity;

/**
 * Reads the caller's identity from a request: a user, null for an anonymous caller.
 * Throw `ConvoyError({ code: "UNAUTHORIZED", message })` to refuse the request (401).
 */
export type AuthHook = (request: IncomingMessage) => UserIdentity | null | Promise<UserIdentity | null>;

/**
 * Types an auth hook: the default export of `convoy/auth.ts`, which `convoy serve` and
 * `convoy dev` call on every request (see docs/auth.md).
 *
 * @example
 * ```ts
 * // convoy/auth.ts
 * import { ConvoyError } from "convoy";
 * import { defineAuth } from "convoy/server";
 *
 * export default defineAuth(async (request) => {
 *   const token = request.headers.authorization?.replace(/^Bearer /, "");
 *   if (!token) return null;
 *   const user = await verifyToken(token);
 *   if (!user) throw new ConvoyError({ code: "UNAUTHORIZED", message: "Sign in again: the token expired" });
 *   return { subject: user.id, name: user.name };
 * });
 * ```
 */
export function defineAuth(hook: AuthHook): AuthHook {
  return hook;
}
