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
