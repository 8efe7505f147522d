import { ConvoyError, isConvoyError } from "../errors.js";

/** HTTP statuses of the codes Convoy and tRPC share; other codes are 400. */
const STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  PARSE_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  TIMEOUT: 408,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  UPGRADE_REQUIRED: 426,
  TOO_MANY_REQUESTS: 429,
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_SERVER_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  SERVICE_UNAVAILABLE: 503,
};

/** The HTTP status for a Convoy error code. @internal */
export function statusOf(code: string): number {
  return STATUS[code] ?? 400;
}

/** The JSON body of an error response. */
export interface ErrorBody {
  error: { code: string; message: string; data?: unknown };
}

/**
 * Turns anything thrown into a status and body. A `ConvoyError` keeps its code,
 * message and data; anything else is a 500 whose details (stack, SQL) are shown only
 * in dev mode, and reported through `onUnexpected`.
 * @internal
 */
export function errorResponse(
  error: unknown,
  options: { dev?: boolean; onUnexpected?: (error: unknown) => void } = {},
): { status: number; body: ErrorBody } {
  if (isConvoyError(error) && error.code !== "INTERNAL_SERVER_ERROR") {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.data !== undefined) body.error.data = error.data;
    return { status: statusOf(error.code), body };
  }
  options.onUnexpected?.(error);
  const message = options.dev
    ? `${(error as Error)?.message ?? String(error)}${(error as Error)?.stack ? `\n${(error as Error).stack}` : ""}`
    : "Internal server error";
  return { status: 500, body: { error: { code: "INTERNAL_SERVER_ERROR", message } } };
}

/** A ConvoyError for a request body that is not what an endpoint takes. @internal */
export function badRequestBody(message: string): ConvoyError {
  return new ConvoyError({ code: "BAD_REQUEST", message });
}
