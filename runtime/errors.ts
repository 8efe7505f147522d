/**
 * The codes a {@link ConvoyError} can carry. They follow tRPC's error codes so the
 * transport maps them to HTTP statuses without a table of special cases; any other
 * string is allowed for application-defined errors.
 */
export type ConvoyErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PRECONDITION_FAILED"
  | "PAYLOAD_TOO_LARGE"
  | "TOO_MANY_REQUESTS"
  | "INTERNAL_SERVER_ERROR"
  | (string & {});

/** Options for {@link ConvoyError}. */
export interface ConvoyErrorOptions {
  code: ConvoyErrorCode;
  /** What went wrong and, where it can, what to do about it. */
  message: string;
  /** Structured details a client may read, e.g. `{ issues: [{ path, message }] }`. */
  data?: unknown;
  cause?: unknown;
}

/**
 * The one error class of Convoy: a code, a message that says what to do, and the
 * original cause kept.
 *
 * @example
 * ```ts
 * if (!ctx.auth) throw new ConvoyError({ code: "UNAUTHORIZED", message: "Sign in to create a project" });
 * ```
 */
export class ConvoyError extends Error {
  override readonly name = "ConvoyError";
  readonly code: ConvoyErrorCode;
  readonly data: unknown;

  constructor(options: ConvoyErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.data = options.data;
  }
}

/** True when `value` is a {@link ConvoyError}, also across package copies. */
export function isConvoyError(value: unknown): value is ConvoyError {
  return (
    value instanceof ConvoyError ||
    (value instanceof Error && value.name === "ConvoyError" && typeof (value as { code?: unknown }).code === "string")
  );
}
