import { sqlState } from "../drivers/driver.js";
import { ConvoyError } from "../errors.js";
import type { FunctionKind } from "../functions/defineFunction.js";

/** SQLSTATEs of a lost or refused connection: class 08, and the server shutting down or starting. */
const LOST_STATES = new Set(["57P01", "57P02", "57P03"]);
/** Node's socket errors, and pg's own words for a connection that ended. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const LOST_MESSAGE =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect/i;

/** True when `error` says the database could not be reached or the connection dropped. @internal */
export function isLostDatabase(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) return state.startsWith("08") || LOST_STATES.has(state);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && SOCKET_CODES.has(code)) return true;
  return error instanceof Error && LOST_MESSAGE.test(error.message);
}

/**
 * A call that failed because the database was out of reach, as the SERVICE_UNAVAILABLE
 * (503) it is, saying whether sending it again is safe; any other error as it came.
 * @internal
 */
export function lostDatabaseError(error: unknown, kind: FunctionKind, named: boolean): unknown {
  if (!isLostDatabase(error)) return error;
  const advice =
    kind === "query"
      ? "try again"
      : named
        ? "send it again with the same mutation id, which applies it at most once"
        : "it may or may not have been applied; send a mutation id with each call (the Convoy client does) to make retries safe";
  return new ConvoyError({
    code: "SERVICE_UNAVAILABLE",
    message: `The database is not reachable: ${advice}`, // the cause (hosts, ports) stays on the server
    cause: error,
  });
}
