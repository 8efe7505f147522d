import type { ErrorRequestHandler } from "express";
import { errorResponse, type ErrorBody } from "./errorResponse.js";

/** Why a request body could not be read, as a status and a message that says what to send. */
function bodyProblem(error: { type?: string; status?: number; message?: string }, bodyLimit: string) {
  switch (error.type) {
    case "entity.too.large":
      return {
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
        message: `The request body is larger than the limit of ${bodyLimit}`,
      };
    case "entity.parse.failed":
      return { status: 400, code: "BAD_REQUEST", message: "The request body is not valid JSON" };
    case "charset.unsupported":
      return { status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: "Send the request body as UTF-8 JSON" };
    case "encoding.unsupported":
      return {
        status: 415,
        code: "UNSUPPORTED_MEDIA_TYPE",
        message: "Send the request body uncompressed, or gzip, deflate or br",
      };
  }
  if (typeof error.status === "number" && error.status >= 400 && error.status < 500) {
    const detail = String(error.message ?? "").slice(0, 200);
    return { status: error.status, code: "BAD_REQUEST", message: `The request could not be read (${detail})` };
  }
  return undefined;
}

/**
 * The app's last error handler: bodies that cannot be read (too large, not JSON, an
 * unknown charset, a path that does not decode) get a 4xx that says what to send;
 * anything else goes through {@link errorResponse}.
 * @internal
 */
export function bodyErrorHandler(
  bodyLimit: string,
  report: { dev?: boolean; onUnexpected?: (error: unknown) => void },
): ErrorRequestHandler {
  return (error: { type?: string; status?: number; message?: string }, _request, response, _next) => {
    const problem = bodyProblem(error, bodyLimit);
    if (problem !== undefined) {
      const body: ErrorBody = { error: { code: problem.code, message: problem.message } };
      response.status(problem.status).json(body);
      return;
    }
    const { status, body } = errorResponse(error, report);
    response.status(status).json(body);
  };
}
